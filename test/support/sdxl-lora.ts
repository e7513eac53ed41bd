/**
 * A kohya LoRA for an SDXL single-file checkpoint, made from the checkpoint's own shapes (there is no SDXL LoRA
 * fixture), and the oracle for it: the checkpoint with the LoRA merged in by A1111's documented rule
 * W' = W + m · (alpha / rank) · up·down, written here from the checkpoint's LDM / OpenCLIP keys, independently of
 * dreamcord's LoRA reader and converter.
 *
 * Modules: every Linear of the UNet's transformers in kohya's SDXL naming (LDM module paths,
 * `lora_unet_input_blocks_3_1_transformer_blocks_0_attn1_to_q`) except the middle block's, named the diffusers
 * way (`lora_unet_mid_block_attentions_0_…`), as kohya's older scripts wrote; one resnet convolution (LoCon,
 * `lora_unet_input_blocks_1_0_in_layers_2`); every Linear of CLIP-L (`lora_te1_text_model_encoder_layers_N_…`)
 * and of OpenCLIP-G (`lora_te2_…`, in the Hugging Face names kohya uses: q/k/v are row blocks of OpenCLIP's packed
 * `in_proj_weight`, `fc1`/`fc2` its `c_fc`/`c_proj`).
 */
import { SafetensorsFile } from '../../src/checkpoint/index.js';
import { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';
import { seededRandom } from './seeded-random.js';

/** One module of the LoRA: its kohya key, the checkpoint weight it changes (rows `[firstRow, firstRow + out)`). */
export interface SdxlLoraModule {
  readonly key: string;
  readonly weight: string;
  readonly firstRow: number;
  /** `[out, rank]` and `[rank, in · kh · kw]`, row-major. */
  readonly up: Float32Array;
  readonly down: Float32Array;
  readonly rank: number;
  readonly alpha: number;
  /** The checkpoint weight's shape after its first axis (`[in]`, or `[in, kh, kw]` for a convolution). */
  readonly inShape: readonly number[];
}

const UNET = 'model.diffusion_model.';
const TE1 = 'conditioner.embedders.0.transformer.';
const TE2 = 'conditioner.embedders.1.model.transformer.resblocks.';
const UNET_LINEAR = /^(input_blocks|middle_block|output_blocks)\.[\d.]+\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2)))\.weight$/;
const TE1_LINEAR = /^text_model\.encoder\.layers\.\d+\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])\.weight$/;
/** OpenCLIP's names → the Hugging Face CLIP names kohya's `lora_te2_` keys use. */
const TE2_RENAMES: readonly [RegExp, string][] = [
  [/^(\d+)\.attn\.out_proj\.weight$/, 'text_model_encoder_layers_$1_self_attn_out_proj'],
  [/^(\d+)\.mlp\.c_fc\.weight$/, 'text_model_encoder_layers_$1_mlp_fc1'],
  [/^(\d+)\.mlp\.c_proj\.weight$/, 'text_model_encoder_layers_$1_mlp_fc2'],
];

/**
 * Writes a rank-`rank` kohya LoRA for `checkpoint` (an SDXL single file) to `target`, every factor seeded from
 * `seed` in ±`spread`, alpha = rank / 2; returns its modules.
 */
export function writeSdxlLora(checkpoint: string, target: string, options: { rank: number; seed: number; spread: number }): SdxlLoraModule[] {
  const file = SafetensorsFile.open(checkpoint);
  const random = seededRandom(options.seed);
  const modules: SdxlLoraModule[] = [];
  const add = (key: string, weight: string, firstRow: number, out: number): void => {
    const [, ...inShape] = file.info(weight).shape;
    const columns = inShape.reduce((a, b) => a * b, 1);
    const factor = (n: number) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * options.spread);
    const { rank } = options;
    modules.push({ key, weight, firstRow, up: factor(out * rank), down: factor(rank * columns), rank, alpha: rank / 2, inShape });
  };
  for (const name of file.names()) {
    const [rows = 0] = file.info(name).shape;
    if (name.startsWith(UNET) && UNET_LINEAR.test(name.slice(UNET.length))) {
      const path = name.slice(UNET.length, -'.weight'.length);
      // The middle block's attention in diffusers' module path, the rest in LDM's.
      const modulePath = path.startsWith('middle_block.1.') ? `mid_block.attentions.0.${path.slice('middle_block.1.'.length)}` : path;
      add(`lora_unet_${modulePath.replaceAll('.', '_')}`, name, 0, rows);
    } else if (name === `${UNET}input_blocks.1.0.in_layers.2.weight`) {
      add('lora_unet_input_blocks_1_0_in_layers_2', name, 0, rows);
    } else if (name.startsWith(TE1) && TE1_LINEAR.test(name.slice(TE1.length))) {
      add(`lora_te1_${name.slice(TE1.length, -'.weight'.length).replaceAll('.', '_')}`, name, 0, rows);
    } else if (name.startsWith(TE2)) {
      const rest = name.slice(TE2.length);
      const packed = /^(\d+)\.attn\.in_proj_weight$/.exec(rest);
      if (packed) {
        const width = rows / 3;
        ['q', 'k', 'v'].forEach((part, i) => add(`lora_te2_text_model_encoder_layers_${packed[1]}_self_attn_${part}_proj`, name, i * width, width));
      }
      for (const [pattern, key] of TE2_RENAMES) if (pattern.test(rest)) add(`lora_te2_${rest.replace(pattern, key)}`, name, 0, rows);
    }
  }
  writeSafetensors(target, modules.flatMap(loraTensors));
  return modules;
}

function loraTensors(module: SdxlLoraModule): TensorToWrite[] {
  const out = module.up.length / module.rank;
  const f32 = (values: Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return [
    { name: `${module.key}.lora_down.weight`, dtype: 'F32', shape: [module.rank, ...module.inShape], data: f32(module.down) },
    { name: `${module.key}.lora_up.weight`, dtype: 'F32', shape: module.inShape.length > 1 ? [out, module.rank, 1, 1] : [out, module.rank], data: f32(module.up) },
    { name: `${module.key}.alpha`, dtype: 'F32', shape: [], data: f32(Float32Array.of(module.alpha)) },
  ];
}

/** Writes `checkpoint` with `modules` merged in at `multiplier` (A1111's rule, in float64 then rounded) to `target`. */
export function writeMergedCheckpoint(checkpoint: string, modules: readonly SdxlLoraModule[], multiplier: number, target: string): void {
  const file = SafetensorsFile.open(checkpoint);
  const changed = new Map<string, Float32Array>();
  for (const module of modules) {
    const weight = changed.get(module.weight) ?? file.read(module.weight);
    changed.set(module.weight, weight);
    const { rank, up, down } = module;
    const columns = down.length / rank;
    const scale = (multiplier * module.alpha) / rank;
    for (let r = 0; r < up.length / rank; r++) {
      for (let c = 0; c < columns; c++) {
        let sum = 0;
        for (let k = 0; k < rank; k++) sum += (up[r * rank + k] ?? 0) * (down[k * columns + c] ?? 0);
        const i = (module.firstRow + r) * columns + c;
        weight[i] = (weight[i] ?? 0) + scale * sum;
      }
    }
  }
  writeSafetensors(
    target,
    file.names().map((name) => {
      const { dtype, shape } = file.info(name);
      const values = changed.get(name);
      return { name, dtype, shape, data: values ? new Uint8Array(values.buffer) : file.readBytes(name) };
    }),
  );
}
