import { PipelineError } from '../errors.js';
import type { ModelSession, RunClock } from '../runtime/session.js';
import {
  constantTensor,
  FloatInput,
  isFloatType,
  readFloats,
  splitRows,
  type FloatType,
  type HostTensor,
  type TensorInfo,
} from '../runtime/tensor.js';
import { fixedDim, outputOf, rejectUnknownInputs, requireTensor } from './graph-io.js';
import { JoinedInputs } from './joined-inputs.js';

const SAMPLE = 'sample';
const TIMESTEP = 'timestep';
const HIDDEN = 'encoder_hidden_states';
const OUTPUT = 'out_sample';
/** SDXL's added conditioning: the second text encoder's pooled projection, and the size and crop time ids. */
const TEXT_EMBEDS = 'text_embeds';
const TIME_IDS = 'time_ids';

/** SDXL's added conditioning for every UNet batch row (see {@link Unet.takesAddedConditioning}). */
export interface AddedConditioning {
  /** `[batch, pooled]`: the second text encoder's `text_embeds` per row. */
  readonly textEmbeds: Float32Array;
  /** `[batch, 6]`: original height, width, crop top, left, target height, width per row. */
  readonly timeIds: Float32Array;
}

/** Channels of the latents the UNet denoises (and predicts): SD's VAE has 4. */
export const LATENT_CHANNELS = 4;

/**
 * The denoising UNet: noisy latents, a timestep and the text conditioning → predicted noise (or v).
 * Input `sample` has 4 channels (txt2img / img2img models) or 9 (inpainting models: latents, mask, masked-image
 * latents); the element types of every input come from the graph (fp32 or fp16, timestep float or int64).
 */
export class Unet {
  /** The loaded model (its file and execution provider). */
  readonly session: ModelSession;
  /** Channels of `sample`: 4, or 9 for an inpainting UNet. */
  readonly inChannels: 4 | 9;
  /** Width of `encoder_hidden_states` vectors, when the graph fixes it. */
  readonly hiddenSize: number | undefined;
  readonly #sampleType: FloatType;
  readonly #hiddenType: FloatType;
  readonly #timestep: TensorInfo;
  readonly #outputName: string;
  readonly #outputType: FloatType;
  /** SDXL's `text_embeds` and `time_ids` inputs; undefined for SD 1.x / 2.x UNets. */
  readonly #added: { readonly textEmbeds: FloatType; readonly timeIds: FloatType } | undefined;
  readonly #router: UnetRouter | undefined;

  /**
   * Wraps a loaded `unet/model.onnx`.
   * @throws PipelineError `MODEL_UNSUPPORTED` for other inputs, types or channel counts.
   */
  constructor(session: ModelSession, router?: UnetRouter) {
    rejectUnknownInputs(session, [SAMPLE, TIMESTEP, HIDDEN, TEXT_EMBEDS, TIME_IDS]);
    const sample = requireTensor(session, 'input', SAMPLE, ['float32', 'float16'], 4);
    const hidden = requireTensor(session, 'input', HIDDEN, ['float32', 'float16'], 3);
    const timestep = session.input(TIMESTEP);
    if (!timestep || !['float32', 'float16', 'int64', 'int32'].includes(timestep.type) || timestep.shape.length > 1) {
      throw new PipelineError(
        'MODEL_UNSUPPORTED',
        `${session.file}: expected input ${TIMESTEP} float or int, a scalar or [batch]` +
          (timestep ? `, got ${timestep.type}[${timestep.shape.join(',')}]` : ''),
        { file: session.file },
      );
    }
    const outputName = session.output(OUTPUT) ? OUTPUT : undefined;
    const out = requireTensor(session, 'output', outputName, ['float32', 'float16'], 4);
    const channels = fixedDim(sample, 1);
    if (channels !== 4 && channels !== 9) {
      throw new PipelineError(
        'MODEL_UNSUPPORTED',
        `${session.file}: expected ${SAMPLE} with 4 channels (txt2img) or 9 (inpainting), ` +
          `got [${sample.shape.join(',')}]`,
        { file: session.file },
      );
    }
    const outChannels = fixedDim(out, 1);
    if (outChannels !== undefined && outChannels !== LATENT_CHANNELS) {
      const reason = `${session.file}: expected ${out.name} with 4 channels, got ${outChannels}`;
      throw new PipelineError('MODEL_UNSUPPORTED', reason, { file: session.file });
    }
    this.session = session;
    this.inChannels = channels;
    this.hiddenSize = fixedDim(hidden, 2);
    this.#sampleType = sample.type as FloatType;
    this.#hiddenType = hidden.type as FloatType;
    this.#timestep = timestep;
    this.#outputName = out.name;
    this.#outputType = out.type as FloatType;
    this.#added = addedInputs(session);
    this.#router = router;
  }

  /** Whether the UNet takes SDXL's added conditioning (`text_embeds`, `time_ids`) besides the text. */
  get takesAddedConditioning(): boolean {
    return this.#added !== undefined;
  }

  /**
   * Buffers for every step of one denoising loop, reused from step to step.
   * @param batch - UNet batch: 2n with classifier-free guidance, else n.
   * @param hidden - float32 text conditioning `[batch, tokens, hiddenSize]`; converted once, here.
   * @param tokens - context tokens per batch row (77 per prompt chunk).
   * @param added - SDXL's added conditioning, required by a UNet that {@link takesAddedConditioning}.
   * @param sampleRepeats - how many times the batch repeats the same sample rows (2 with classifier-free guidance,
   *   whose two halves take the same latents): `sample.values` then holds only the first `batch / sampleRepeats`
   *   rows, converted to the graph's type once per step (see {@link FloatInput}). @default 1
   */
  createInputs(
    batch: number,
    latentHeight: number,
    latentWidth: number,
    hidden: Float32Array,
    tokens: number,
    added?: AddedConditioning,
    sampleRepeats = 1,
  ): UnetInputs {
    const conditioning = new FloatInput(this.#hiddenType, [batch, tokens, hidden.length / (batch * tokens)]);
    conditioning.values.set(hidden);
    const extra: Record<string, HostTensor> = {};
    if (this.#added) {
      if (!added) {
        const message = `${this.session.file} is an SDXL UNet: it needs the pooled text embedding and the time ids`;
        throw new PipelineError('MODEL_MISMATCH', message, { file: this.session.file });
      }
      extra[TEXT_EMBEDS] = constantTensor(floatTensor(this.#added.textEmbeds, added.textEmbeds, batch));
      extra[TIME_IDS] = constantTensor(floatTensor(this.#added.timeIds, added.timeIds, batch));
    }
    // An fp16 prediction is converted into one buffer kept from step to step, made when the first is read: a loop
    // that reads its outputs itself (guiding them as it decodes them: `denoise`) never needs it. A float32 one is
    // used as ORT returns it.
    const predictionSize = batch * LATENT_CHANNELS * latentHeight * latentWidth;
    const fp16 = this.#outputType === 'float16';
    let converted: Float32Array | undefined;
    return {
      sample: new FloatInput(this.#sampleType, [batch, this.inChannels, latentHeight, latentWidth], sampleRepeats),
      // The same at every step: a session may keep it bound (the native bridge's IoBinding).
      conditioning: constantTensor(conditioning.tensor()),
      added: extra,
      timestep: timestepWriter(this.#timestep, batch),
      prediction: (output) => readFloats(output, fp16 ? (converted ??= new Float32Array(predictionSize)) : undefined),
    };
  }

  /**
   * Predicts the noise (or v) for `inputs.sample` at `timestep`; through the router when this UNet has one
   * (see {@link routedThrough}).
   * @param timestep - the scheduler's timestep; cast to the graph's type as diffusers does (truncated for int).
   * @returns float32 `[batch, 4, h, w]`, valid until the next call.
   */
  async predict(inputs: UnetInputs, timestep: number, clock?: RunClock): Promise<Float32Array> {
    if (this.#router) return this.#router.predict(this, { inputs, timestep }, clock);
    const out = await this.session.run(this.#feeds({ inputs, timestep }), clock);
    return inputs.prediction(outputOf(out, this.#outputName, this.session));
  }

  /**
   * Several loops' predictions at one timestep in one model run (never routed): their rows joined into one
   * batch, each loop's rows of the output returned to it. Each call's inputs must have the same shape after the
   * batch axis (same size, same tokens); a row's prediction does not depend on the other rows.
   * @param joins - where the joined inputs are kept from run to run (a batch's, so that its joined conditioning is
   *   one constant tensor for all its steps); by default they are joined anew.
   * @returns each call's prediction, in order, as {@link predict} returns it.
   */
  async predictTogether(calls: readonly UnetCall[], clock?: RunClock, joins = new JoinedInputs()): Promise<Float32Array[]> {
    const feeds = calls.map((call) => this.#feeds(call));
    const [first] = feeds;
    if (!first) return [];
    const rowsOfTimestep = this.#timestep.shape.length === 1 && fixedDim(this.#timestep, 0) === undefined;
    const owners = calls.map((call) => call.inputs);
    const joined: Record<string, HostTensor> = {};
    for (const name of Object.keys(first)) {
      const parts = feeds.map((feed) => requireFeed(feed, name));
      // A scalar or `[1]` timestep is the one every call shares; a `[batch]` one has a value per row.
      joined[name] = name === TIMESTEP && !rowsOfTimestep ? requireFeed(first, name) : joins.join(parts, owners);
    }
    const out = outputOf(await this.session.run(joined, clock), this.#outputName, this.session);
    const parts = splitRows(out, calls.map((call) => call.inputs.sample.dims[0] ?? 1));
    return calls.map((call, i) => call.inputs.prediction(parts[i] ?? out));
  }

  /** This UNet with every {@link predict} sent through `router` (a batch shared with other generations). */
  routedThrough(router: UnetRouter): Unet {
    return new Unet(this.session, router);
  }

  /** The graph's feeds for one call. */
  #feeds({ inputs, timestep }: UnetCall): Record<string, HostTensor> {
    return {
      [SAMPLE]: inputs.sample.tensor(),
      [TIMESTEP]: inputs.timestep(timestep),
      [HIDDEN]: inputs.conditioning,
      ...inputs.added,
    };
  }
}

/** One loop's UNet evaluation: its inputs (holding the current sample) at `timestep`. */
export interface UnetCall {
  readonly inputs: UnetInputs;
  readonly timestep: number;
}

/** Where a routed UNet's predictions go (`UnetBatch`): it runs them, alone or with other loops' calls. */
export interface UnetRouter {
  predict(unet: Unet, call: UnetCall, clock?: RunClock): Promise<Float32Array>;
}

function requireFeed(feed: Readonly<Record<string, HostTensor>>, name: string): HostTensor {
  const tensor = feed[name];
  if (!tensor) throw new RangeError(`UNet calls of one batch differ in their inputs: one has no ${name}`);
  return tensor;
}

/** One loop's UNet inputs and output buffer (see {@link Unet.createInputs}). */
export interface UnetInputs {
  /** Write each step's model input into `sample.values`: `[batch / sampleRepeats, inChannels, h, w]`. */
  readonly sample: FloatInput;
  /** The text conditioning, in the graph's type. */
  readonly conditioning: HostTensor;
  /** SDXL's `text_embeds` and `time_ids` (empty for other UNets), in the graph's types. */
  readonly added: Readonly<Record<string, HostTensor>>;
  /** The timestep tensor holding `t` (one buffer, rewritten per step). */
  readonly timestep: (t: number) => HostTensor;
  /** A run's prediction as float32 (a loop may replace this to guide it as it is read: see `denoise`). */
  readonly prediction: (output: HostTensor) => Float32Array;
}

/** The types of SDXL's `text_embeds` and `time_ids`, when the UNet takes both. */
function addedInputs(session: ModelSession): { textEmbeds: FloatType; timeIds: FloatType } | undefined {
  if (!session.input(TEXT_EMBEDS) && !session.input(TIME_IDS)) return undefined;
  const textEmbeds = requireTensor(session, 'input', TEXT_EMBEDS, ['float32', 'float16'], 2);
  const timeIds = requireTensor(session, 'input', TIME_IDS, ['float32', 'float16'], 2);
  return { textEmbeds: textEmbeds.type as FloatType, timeIds: timeIds.type as FloatType };
}

/** `values` as a `[batch, values / batch]` tensor of `type`. */
function floatTensor(type: FloatType, values: Float32Array, batch: number): HostTensor {
  const input = new FloatInput(type, [batch, values.length / batch]);
  input.values.set(values);
  return input.tensor();
}

/** A reusable timestep tensor in the graph's type and shape (a scalar, `[1]` or `[batch]`). */
function timestepWriter(info: TensorInfo, batch: number): (t: number) => HostTensor {
  const dims = info.shape.length === 0 ? [] : [fixedDim(info, 0) ?? batch];
  const length = dims[0] ?? 1;
  if (isFloatType(info.type)) {
    const input = new FloatInput(info.type, dims);
    return (t) => {
      input.values.fill(t);
      return input.tensor();
    };
  }
  if (info.type === 'int64') {
    const tensor = { type: 'int64', data: new BigInt64Array(length), dims } as const;
    return (t) => {
      tensor.data.fill(BigInt(Math.trunc(t)));
      return tensor;
    };
  }
  const tensor = { type: 'int32', data: new Int32Array(length), dims } as const;
  return (t) => {
    tensor.data.fill(Math.trunc(t));
    return tensor;
  };
}
