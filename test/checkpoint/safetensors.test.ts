import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCheckpointError, openCheckpoint, SafetensorsFile, type CheckpointErrorCode } from '../../src/checkpoint/index.js';
import { fromFloat16Bits } from '../../src/pipeline/runtime/float16.js';
import { TINY_SD, tensorsOf } from '../support/checkpoint-files.js';
import { writeSafetensors } from '../support/safetensors-writer.js';
import { tempDir } from '../support/temp-dir.js';

/** A safetensors file from a header object and data bytes, exactly as given (however wrong). */
function rawFile(dir: string, name: string, header: unknown, data = Buffer.alloc(0)): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([length, json, data]));
  return path;
}

function assertRefused(path: string, code: CheckpointErrorCode, message: RegExp): void {
  assert.throws(
    () => openCheckpoint(path),
    (error: unknown) => isCheckpointError(error, code) && message.test(error.message),
  );
}

describe('safetensors reader', () => {
  it('reads F32, F16 and BF16 tensors widened to float32, and the metadata', () => {
    const dir = tempDir();
    const values = Float32Array.of(1.5, -2, 0.25, 65504);
    const f16 = Uint16Array.of(0x3e00, 0xc000, 0x3400, 0x7bff);
    const bf16 = Uint16Array.of(0x3fc0, 0xc000, 0x3e80, 0x477f);
    const path = join(dir, 'dtypes.safetensors');
    writeSafetensors(
      path,
      [
        { name: 'f32', dtype: 'F32', shape: [2, 2], data: new Uint8Array(values.buffer) },
        { name: 'f16', dtype: 'F16', shape: [4], data: new Uint8Array(f16.buffer) },
        { name: 'bf16', dtype: 'BF16', shape: [4], data: new Uint8Array(bf16.buffer) },
      ],
      { format: 'pt' },
    );
    const file = SafetensorsFile.open(path);
    assert.deepEqual(file.metadata, { format: 'pt' });
    assert.deepEqual(file.info('f32').shape, [2, 2]);
    assert.deepEqual([...file.read('f32')], [1.5, -2, 0.25, 65504]);
    assert.deepEqual([...file.read('f16')], [1.5, -2, 0.25, 65504]);
    assert.deepEqual([...file.read('bf16')], [1.5, -2, 0.25, 65280]);
  });

  it('widens every one of the 65 536 fp16 and bf16 bit patterns exactly, counting their NaNs', () => {
    const all = Uint16Array.from({ length: 0x10000 }, (_, i) => i);
    const path = join(tempDir(), 'all.safetensors');
    const data = new Uint8Array(all.buffer);
    writeSafetensors(path, [
      { name: 'f16', dtype: 'F16', shape: [0x10000], data },
      { name: 'bf16', dtype: 'BF16', shape: [0x10000], data },
    ]);
    const warnings: string[] = [];
    const file = SafetensorsFile.open(path, { onWarning: (w) => warnings.push(w) });
    const f16 = file.read('f16');
    const bf16 = file.read('bf16');
    const single = new Float32Array(1);
    const singleBits = new Uint32Array(single.buffer);
    const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
    for (let bits = 0; bits < 0x10000; bits++) {
      assert.ok(same(f16[bits] ?? 0, fromFloat16Bits(bits)), `fp16 ${bits.toString(16)}`);
      singleBits[0] = bits << 16;
      assert.ok(same(bf16[bits] ?? 0, single[0] ?? 0), `bf16 ${bits.toString(16)}`);
    }
    // fp16 NaNs: exponent 31 with a non-zero mantissa (2 signs × 1023); bf16: exponent 255 likewise (2 × 127).
    assert.deepEqual(warnings, ['all.safetensors: tensor f16 holds 2046 NaN values of 65536', 'all.safetensors: tensor bf16 holds 254 NaN values of 65536']);
  });

  it('reads a tensor by its offset only (the rest of the file is never touched)', () => {
    const dir = tempDir();
    const file = SafetensorsFile.open(TINY_SD);
    const name = 'model.diffusion_model.out.2.bias';
    const { begin, end } = file.info(name);
    // Damage every byte of the data area except this tensor's: its values still read back unchanged.
    const bytes = readFileSync(TINY_SD);
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    const damaged = Buffer.alloc(bytes.length, 0xff);
    bytes.copy(damaged, 0, 0, dataStart);
    bytes.copy(damaged, dataStart + begin, dataStart + begin, dataStart + end);
    writeFileSync(join(dir, 'damaged.safetensors'), damaged);
    assert.deepEqual(SafetensorsFile.open(join(dir, 'damaged.safetensors')).read(name), file.read(name));
  });

  it('says a truncated file is truncated', () => {
    const dir = tempDir();
    const bytes = readFileSync(TINY_SD);
    writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 1000));
    assertRefused(join(dir, 'cut.safetensors'), 'TRUNCATED', /cut\.safetensors is truncated: tensor .* needs data up to byte/);
    writeFileSync(join(dir, 'tiny.safetensors'), bytes.subarray(0, 5));
    assertRefused(join(dir, 'tiny.safetensors'), 'TRUNCATED', /5 bytes long/);
  });

  it('says a header that is not JSON, or claims more bytes than the file has, is not a safetensors header', () => {
    const dir = tempDir();
    assertRefused(rawFile(dir, 'junk.safetensors', '{"a": nope'), 'BAD_HEADER', /header is not JSON/);
    assertRefused(rawFile(dir, 'list.safetensors', '[1, 2]'), 'BAD_HEADER', /not an object of tensors/);
    const claims = Buffer.alloc(16);
    claims.writeBigUInt64LE(1_000_000n);
    writeFileSync(join(dir, 'claims.safetensors'), claims);
    assertRefused(join(dir, 'claims.safetensors'), 'BAD_HEADER', /header claims 1000000 bytes but the file has only 8/);
  });

  it('refuses overlapping and out-of-range offsets', () => {
    const dir = tempDir();
    const data = Buffer.alloc(32);
    const overlapping = {
      a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
      b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
    };
    assertRefused(rawFile(dir, 'overlap.safetensors', overlapping, data), 'BAD_OFFSETS', /tensors a \[0, 16\] and b \[8, 24\] overlap/);
    const wrongLength = { a: { dtype: 'F32', shape: [4], data_offsets: [0, 12] } };
    assertRefused(rawFile(dir, 'length.safetensors', wrongLength, data), 'BAD_OFFSETS', /tensor a \(F32 \[4\], 16 bytes\) has data_offsets \[0, 12\]/);
    const reversed = { a: { dtype: 'F32', shape: [0], data_offsets: [16, 8] } };
    assertRefused(rawFile(dir, 'reversed.safetensors', reversed, data), 'BAD_OFFSETS', /data_offsets \[16, 8\]/);
    const beyond = { a: { dtype: 'F32', shape: [4], data_offsets: [24, 40] } };
    assertRefused(rawFile(dir, 'beyond.safetensors', beyond, data), 'TRUNCATED', /needs data up to byte 40 but the file holds 32/);
  });

  it('refuses an unknown dtype, and reading a non-float tensor as weights', () => {
    const dir = tempDir();
    const unknown = { a: { dtype: 'F12', shape: [2], data_offsets: [0, 2] } };
    assertRefused(rawFile(dir, 'f12.safetensors', unknown, Buffer.alloc(2)), 'UNKNOWN_DTYPE', /tensor a has the unknown dtype "F12"/);
    const ints = { a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } };
    const file = SafetensorsFile.open(rawFile(dir, 'i64.safetensors', ints, Buffer.alloc(8)));
    assert.throws(() => file.read('a'), (e: unknown) => isCheckpointError(e, 'UNKNOWN_DTYPE') && /I64; dreamcord reads model weights in F32, F16 or BF16/.test(e.message));
  });

  it('refuses a .ckpt pickle without unpickling it, by extension and by content', () => {
    const dir = tempDir();
    // A pickle that would run `os.system` if loaded: it must be refused, never parsed.
    const pickle = Buffer.from('\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R.', 'latin1');
    writeFileSync(join(dir, 'model.ckpt'), pickle);
    assertRefused(join(dir, 'model.ckpt'), 'PICKLE_REFUSED', /model\.ckpt is a PyTorch pickle.*runs code from the file/);
    writeFileSync(join(dir, 'renamed.safetensors'), pickle);
    assertRefused(join(dir, 'renamed.safetensors'), 'PICKLE_REFUSED', /renamed\.safetensors is a PyTorch pickle/);
    writeFileSync(join(dir, 'zipped.safetensors'), Buffer.from('PK\x03\x04archive/data.pkl', 'latin1'));
    assertRefused(join(dir, 'zipped.safetensors'), 'PICKLE_REFUSED', /PyTorch pickle/);
  });

  it('does not mistake a safetensors file whose header length starts with byte 0x80 for a pickle', () => {
    const dir = tempDir();
    // Header length 0x0380 = 896 bytes: its first byte is the pickle protocol mark.
    const header = { __metadata__: { pad: 'x'.repeat(896 - 27) } };
    assert.equal(JSON.stringify(header).length, 896);
    const path = rawFile(dir, 'eighty.safetensors', header);
    assert.equal(readFileSync(path)[0], 0x80);
    assertRefused(path, 'NOT_A_CHECKPOINT', /eighty\.safetensors looks like something else/);
  });

  it('warns about a NaN-filled tensor and still reads it', () => {
    const dir = tempDir();
    const path = join(dir, 'nan.safetensors');
    writeSafetensors(
      path,
      tensorsOf(TINY_SD).map((t) =>
        t.name === 'model.diffusion_model.out.2.bias' ? { ...t, data: new Uint8Array(Float32Array.of(NaN, 1, NaN, NaN).buffer) } : t,
      ),
    );
    const warnings: string[] = [];
    const { components } = openCheckpoint(path, { onWarning: (w) => warnings.push(w) });
    const values = components.unet.weights.read('conv_out.bias');
    assert.equal(values[1], 1);
    assert.deepEqual(warnings, ['nan.safetensors: tensor model.diffusion_model.out.2.bias holds 3 NaN values of 4']);
  });

  it('says a missing path is missing', () => {
    assertRefused(join(tempDir(), 'nowhere.safetensors'), 'NOT_FOUND', /does not exist/);
  });
});
