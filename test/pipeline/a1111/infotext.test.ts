// A1111's infotext both ways: the fields a request writes (so that A1111's paste selects the same settings), and a
// pasted block read back into a request with the fields not honoured named.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { UsageError } from '../../../src/cli/command.js';
import { generateCommand } from '../../../src/cli/generate.js';
import { a1111Fields, InfotextError, noiseScheduleField, PARAMETERS_KEYWORD, readPngText, requestFromInfotext } from '../../../src/pipeline/index.js';
import { tempDir } from '../../support/temp-dir.js';
import { captureStream } from '../harness.js';

const BASE = { kind: 'txt2img', steps: 8, prompt: 'a cat', negativePrompt: '', promptSyntax: 'a1111' } as const;
const LINE = 'Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 5, Size: 512x768, Model: m, Version: v1.10.1';

describe('a1111Fields', () => {
  it('names the schedule Automatic resolved to in A1111 mode, and Uniform where A1111 would read Karras in diffusers mode', () => {
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'dpmpp_2m', compat: 'a1111' }), { sampler: 'DPM++ 2M', scheduleType: 'Karras' });
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'euler', compat: 'a1111' }), { sampler: 'Euler', scheduleType: 'Automatic' });
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'euler', compat: 'a1111', scheduleType: 'Exponential' }), {
      sampler: 'Euler',
      scheduleType: 'Exponential',
    });
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'dpmpp_2m' }), { sampler: 'DPM++ 2M', scheduleType: 'Uniform' });
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'dpm2_a' }), { sampler: 'DPM2 a', scheduleType: 'Uniform' });
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'euler_karras' }), { sampler: 'Euler', scheduleType: 'Karras' });
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'ddim' }), { sampler: 'DDIM', scheduleType: 'Automatic' });
    // A1111 writes the Beta schedule's shape after it (`beta_dist_alpha`, `beta_dist_beta`).
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'dpmpp_2m', compat: 'a1111', scheduleType: 'Beta' }), {
      sampler: 'DPM++ 2M',
      scheduleType: 'Beta',
      betaSchedule: { alpha: 0.6, beta: 0.6 },
    });
  });

  it("in A1111 mode names a sampler diffusers' scheduler draws by dreamcord's name, which A1111 maps to none of its own and the paste reads back", () => {
    const cases = [['ddim_trailing', 'DDIM Trailing'], ['euler_v', 'Euler v-prediction'], ['ddim_v', 'DDIM v-prediction'], ['dpmpp_2s', 'DPM++ 2S']] as const;
    for (const [sampler, name] of cases) {
      const fields = a1111Fields({ ...BASE, sampler, compat: 'a1111' });
      assert.deepEqual(fields, { sampler: name, scheduleType: 'Automatic' });
      const line = `Steps: 8, Sampler: ${fields.sampler}, Schedule type: ${fields.scheduleType}, CFG scale: 7, Seed: 5, Size: 64x64, Model: m, Version: v`;
      const { request, ignored } = requestFromInfotext(`a cat\n${line}`);
      assert.equal(request.sampler, sampler);
      assert.deepEqual(ignored, []);
    }
    // In diffusers mode the A1111 name that comes closest, as before: DDIM Trailing is A1111's DDIM on SGM Uniform.
    assert.deepEqual(a1111Fields({ ...BASE, sampler: 'ddim_trailing' }), { sampler: 'DDIM', scheduleType: 'SGM Uniform' });
  });

  it('writes Noise Schedule: Zero Terminal SNR as A1111 does, for a zero-SNR model in A1111 mode only, and reads it back saying whose it is', () => {
    assert.deepEqual(noiseScheduleField('a1111', { rescale_betas_zero_snr: true }), { 'Noise Schedule': 'Zero Terminal SNR' });
    assert.deepEqual(noiseScheduleField('diffusers', { rescale_betas_zero_snr: true }), {});
    assert.deepEqual(noiseScheduleField('a1111', {}), {});
    const { ignored } = requestFromInfotext(`a cat\n${LINE}, Noise Schedule: Zero Terminal SNR`);
    assert.deepEqual(ignored, ['Noise Schedule: Zero Terminal SNR (the model\'s own: only a model marked zero terminal SNR, by its file\'s ztsnr key or its MODELS_DIR sidecar, draws with it)']);
  });

  it('writes Emphasis only for weighted text the encoder reads, and ENSD only for samplers that draw with it', () => {
    const weighted = { ...BASE, prompt: 'a (cat:1.2)', sampler: 'euler_a', compat: 'a1111' } as const;
    assert.equal(a1111Fields({ ...weighted, emphasis: 'No norm' }).emphasis, 'No norm');
    assert.equal(a1111Fields({ ...weighted, emphasis: 'Original' }).emphasis, undefined);
    assert.equal(a1111Fields({ ...BASE, prompt: '[a cat:a dog:0.5]', sampler: 'euler', compat: 'a1111', emphasis: 'No norm' }).emphasis, undefined);
    assert.equal(a1111Fields({ ...weighted, promptSyntax: 'plain', compat: 'diffusers' }).emphasis, 'None');
    assert.equal(a1111Fields({ ...weighted, ensd: 31337 }).ensd, 31337);
    assert.equal(a1111Fields({ ...weighted, sampler: 'euler', ensd: 31337 }).ensd, undefined);
  });
});

describe('requestFromInfotext', () => {
  it('reads a block into an A1111-mode request', () => {
    const { request, ignored } = requestFromInfotext(`a (cat:1.2)\nNegative prompt: blurry\n${LINE}, Clip skip: 2, ENSD: 31337, RNG: CPU, Emphasis: No norm`);
    assert.deepEqual(request, {
      compat: 'a1111',
      prompt: 'a (cat:1.2)',
      negativePrompt: 'blurry',
      steps: 20,
      cfg: 7,
      seed: 5n,
      width: 512,
      height: 768,
      sampler: 'dpmpp_2m',
      scheduleType: 'Karras',
      rng: 'cpu',
      clipSkip: 2,
      ensd: 31337,
      emphasis: 'No norm',
    });
    assert.deepEqual(ignored, []);
  });

  it('reads an old "DPM++ 2M Karras" sampler name as the sampler and its schedule, and NV as the GPU source', () => {
    const { request } = requestFromInfotext('x\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 5, Size: 64x64, Model: m, RNG: NV, Version: v1');
    assert.deepEqual([request.sampler, request.scheduleType, request.rng], ['dpmpp_2m', 'Karras', 'gpu']);
  });

  it('names every field it does not honour, and falls back to DPM++ 2M for a sampler it lacks, as A1111 does', () => {
    const line = LINE.replace('DPM++ 2M', 'Euler CFG++').replace('Karras', 'Linear Quadratic');
    const { request, ignored } = requestFromInfotext(`x\n${line}, Hires upscale: 2, ADetailer model: face_yolov8n.pt, Lora hashes: "a: 1"`);
    assert.equal(request.sampler, 'dpmpp_2m');
    assert.deepEqual(ignored, [
      'Schedule type: Linear Quadratic (not in dreamcord; Automatic used)',
      'Sampler: Euler CFG++ (not in dreamcord; DPM++ 2M used, as A1111 does for a name it lacks)',
      'ADetailer model: face_yolov8n.pt',
    ]);
  });

  it('reads the Beta schedule and its shape, honoured at A1111\'s default 0.6 and named otherwise', () => {
    const beta = LINE.replace('Karras', 'Beta').replace(', Version', ', Beta schedule alpha: 0.6, Beta schedule beta: 0.6, Version');
    assert.deepEqual(requestFromInfotext(`x\n${beta}`).ignored, []);
    assert.equal(requestFromInfotext(`x\n${beta}`).request.scheduleType, 'Beta');
    assert.deepEqual(requestFromInfotext(`x\n${beta.replace('alpha: 0.6', 'alpha: 0.5')}`).ignored, [
      "Beta schedule alpha: 0.5 (dreamcord's Beta schedule has A1111's default shape 0.6, 0.6)",
    ]);
  });

  it('reads an inpainting\'s fields as A1111 writes them, naming values A1111 does not have', () => {
    const inpaint = LINE.replace(', Version', ', Denoising strength: 0.75, Conditional mask weight: 1.0, Mask mode: Inpaint not masked, Mask blur: 4, Masked content: latent noise, Version');
    const read = requestFromInfotext(`x\n${inpaint}`);
    assert.deepEqual(read.inpaint, { maskBlur: 4, invertMask: true, maskedContent: 'latent noise', maskWeight: 1 });
    assert.deepEqual(read.ignored, []);
    assert.equal(read.request.strength, 0.75);
    const onlyMasked = LINE.replace(', Version', ', Mask blur: 4, Inpaint area: Only masked, Masked area padding: 32, Masked content: fill, Version');
    const other = requestFromInfotext(`x\n${onlyMasked}`);
    assert.deepEqual(other.inpaint, { maskBlur: 4, maskedContent: 'fill', onlyMasked: true, maskedPadding: 32 });
    assert.deepEqual(other.ignored, []);
    const odd = LINE.replace(', Version', ', Inpaint area: Everywhere, Masked area padding: 2.5, Version');
    assert.deepEqual(requestFromInfotext(`x\n${odd}`).ignored, ['Inpaint area: Everywhere (not an A1111 inpaint area)', "Masked area padding: 2.5 (A1111's is a whole number of pixels)"]);
    assert.deepEqual(requestFromInfotext(`x\n${LINE.replace(', Version', ', Masked content: magic, Version')}`).ignored, ['Masked content: magic (not an A1111 masked content; original used)']);
    assert.equal(requestFromInfotext(`x\n${LINE}`).inpaint, undefined);
  });

  it('refuses a block that does not parse in one sentence naming the line', () => {
    assert.throws(() => requestFromInfotext('a cat\nSteps: many, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64x64, Model: m, Version: 1'), (error: unknown) => {
      assert.ok(error instanceof InfotextError);
      assert.equal(error.message, 'Line 2 ("Steps: many, Sampler: Euler, CFG scale: 7, Seed: 1, Size:…"): Steps must be a whole number, got "many".');
      return true;
    });
    assert.throws(() => requestFromInfotext('just a prompt'), /^InfotextError: Line 1 \("just a prompt"\): the text has no parameters line/);
  });
});

describe('dreamcord generate --infotext', () => {
  it('stops at a block that does not parse with the file and the line, before loading a model', async () => {
    const dir = tempDir();
    const block = join(dir, 'block.txt');
    writeFileSync(block, 'a cat\nSteps: 8, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 64 by 64, Model: m, Version: 1');
    await assert.rejects(
      generateCommand.run(['--infotext', block, '--model', 'test/fixtures/tiny-sd'], { stdout: captureStream(), stderr: captureStream() }),
      (error: unknown) => error instanceof UsageError && /block\.txt: Line 2 \(.*\): Size must be WIDTHxHEIGHT, got "64 by 64"\.$/.test(error.message),
    );
  });

  it('names what it does not honour and lets the flags override the block', async () => {
    const dir = tempDir();
    const block = join(dir, 'block.txt');
    writeFileSync(block, `a cat\n${LINE.replace('512x768', '64x64')}, Denoising strength: 0.4, ADetailer model: face_yolov8n.pt`);
    const stderr = captureStream();
    await generateCommand.run(['--infotext', block, '--model', 'test/fixtures/tiny-sd', '--ep', 'cpu', '--steps', '2', '--raw', join(dir, 'out.f32')], {
      stdout: captureStream(),
      stderr,
    });
    assert.match(stderr.text, /warning: not honoured: ADetailer model: face_yolov8n.pt\n/);
    assert.match(stderr.text, /warning: not honoured: Denoising strength: 0\.4 \(no --init-image\)\n/);
    assert.match(stderr.text, /step 2\/2/);
  });

  it('writes an A1111 inpainting\'s fields, and the block with --mask remakes the picture', async () => {
    const dir = tempDir();
    const out = join(dir, 'i.png');
    const inputs = ['--init-image', 'test/fixtures/references/init_image.png', '--mask', 'test/fixtures/references/mask.png'];
    const model = ['--model', 'test/fixtures/tiny-sd-inpaint', '--ep', 'cpu'];
    const args = [...model, ...inputs, '--prompt', 'a fox', '--compat', 'a1111', '--sampler', 'Euler a', '--steps', '3', '--seed', '9'];
    args.push('--mask-blur', '3', '--masked-content', 'latent nothing', '--invert-mask', '--strength', '0.8');
    await generateCommand.run([...args, '--out', out, '--raw', join(dir, 'first.f32')], { stdout: captureStream(), stderr: captureStream() });
    const written = readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '';
    assert.match(written, /, Denoising strength: 0\.8, Conditional mask weight: 1\.0, Mask mode: Inpaint not masked, Mask blur: 3, Masked content: latent nothing, Version: /);
    const block = join(dir, 'block.txt');
    writeFileSync(block, written);
    const stderr = captureStream();
    await generateCommand.run([...model, ...inputs, '--infotext', block, '--raw', join(dir, 'again.f32')], { stdout: captureStream(), stderr });
    assert.doesNotMatch(stderr.text, /not honoured/);
    assert.deepEqual(readFileSync(join(dir, 'again.f32')), readFileSync(join(dir, 'first.f32')));
    await assert.rejects(
      generateCommand.run([...model, '--prompt', 'x', '--mask-blur', '2'], { stdout: captureStream(), stderr: captureStream() }),
      (error: unknown) => error instanceof UsageError && /need --mask/.test(error.message),
    );
  });

  it('--only-masked with a mask that marks nothing: the img2img picture, a warning, and no Inpaint area or Masked content written (A1111 switches to img2img)', async () => {
    const dir = tempDir();
    const blank = join(dir, 'blank.png');
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000000' } }).png().toFile(blank);
    const common = ['--model', 'test/fixtures/tiny-sd', '--ep', 'cpu', '--prompt', 'a fox', '--compat', 'a1111', '--sampler', 'Euler a', '--steps', '3'];
    common.push('--seed', '9', '--strength', '0.8', '--init-image', 'test/fixtures/references/init_image.png');
    const stderr = captureStream();
    const out = join(dir, 'o.png');
    await generateCommand.run([...common, '--mask', blank, '--only-masked', '--masked-content', 'fill', '--out', out, '--raw', join(dir, 'dropped.f32')], { stdout: captureStream(), stderr });
    assert.match(stderr.text, /warning: The mask marks nothing to repaint, so "Inpaint area: Only masked" had no area: the whole picture was reworked instead, as AUTOMATIC1111 does\.\n/);
    const written = readPngText(readFileSync(out))[PARAMETERS_KEYWORD] ?? '';
    assert.match(written, /, Denoising strength: 0\.8, Mask blur: 4, Version: /);
    await generateCommand.run([...common, '--raw', join(dir, 'img2img.f32')], { stdout: captureStream(), stderr: captureStream() });
    assert.deepEqual(readFileSync(join(dir, 'dropped.f32')), readFileSync(join(dir, 'img2img.f32')));
  });

  it('writes each picture\'s variation seed, which the block then remakes', async () => {
    const dir = tempDir();
    const out = join(dir, 'v.png');
    const args = ['--model', 'test/fixtures/tiny-sd', '--ep', 'cpu', '--prompt', 'a fox', '--compat', 'a1111', '--steps', '2'];
    args.push('--width', '64', '--height', '64', '--seed', '5', '--variation-seed', '40', '--variation-strength', '0.5', '--count', '2');
    await generateCommand.run([...args, '--out', out], { stdout: captureStream(), stderr: captureStream() });
    const second = readPngText(readFileSync(join(dir, 'v-2.png')))[PARAMETERS_KEYWORD] ?? '';
    assert.match(second, /, Seed: 6, Size: 64x64, Model: tiny-sd, Variation seed: 41, Variation seed strength: 0\.5, Version: /);
    assert.deepEqual(requestFromInfotext(second).request.variationSeed, 41n);
  });
});
