// Each bridge session's slow calls (its creation, its runs) are made on a thread of its own, one at a time
// (src/pipeline/runtime/native/call-thread.ts): never on libuv's pool, where the CUDA provider would set up its
// per-thread state once per pool thread; the calls' outcomes and failures come back as a direct call's would.
import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadNativeBridge } from '../../src/pipeline/runtime/native/bridge.js';
import { check } from '../../src/pipeline/runtime/native/c-api.js';
import { CallThread } from '../../src/pipeline/runtime/native/call-thread.js';
import { createNativeSession } from '../../src/pipeline/runtime/native/native-session.js';
import type { HostTensor } from '../../src/pipeline/runtime/tensor.js';

const UNET = 'test/fixtures/tiny-sd/unet/model.onnx';

type Bridge = Exclude<Awaited<ReturnType<typeof loadNativeBridge>>, Error>;

async function bridge(): Promise<Bridge> {
  const api = await loadNativeBridge();
  assert.ok(!(api instanceof Error), api instanceof Error ? api.message : '');
  return api;
}

function unetFeeds(): Record<string, HostTensor> {
  return {
    sample: { type: 'float32', dims: [2, 4, 8, 8], data: new Float32Array(512).fill(0.25) },
    timestep: { type: 'float32', dims: [2], data: Float32Array.of(500, 20) },
    encoder_hidden_states: { type: 'float32', dims: [2, 77, 16], data: new Float32Array(2 * 77 * 16).fill(-0.5) },
  };
}

/** A session of a missing file, asked for on `thread`: ONNX Runtime's status names the file (the thread works). */
async function assertCreatesNoSessionOfAMissingFile(api: Bridge, thread: CallThread): Promise<void> {
  const [options, session] = [[null], [null]];
  check(api, api.fn.CreateSessionOptions(options));
  const status = await thread.call('CreateSession', api.env, '/nonexistent/model.onnx', options[0], session);
  api.fn.ReleaseSessionOptions(options[0]);
  assert.throws(() => check(api, status), /nonexistent/);
}

describe("native bridge's call threads, on the CPU", () => {
  it("runs a session while every thread of libuv's pool is busy: its calls are made on its own thread", async () => {
    const api = await bridge();
    const session = await createNativeSession(api, UNET, { provider: 'cpu', config: {} });
    const order: string[] = [];
    // One more task than the pool has threads, each long beside a tiny UNet's run: a run queued on the pool would
    // wait for one of them to end.
    const poolSize = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const busy = Array.from({ length: poolSize + 1 }, (_, i) =>
      new Promise<void>((resolve, reject) => pbkdf2(`busy ${i}`, 'salt', 400_000, 64, 'sha512', (error) => (error ? reject(error) : resolve()))).then(() => {
        order.push('pool task');
      }),
    );
    const run = session.run(unetFeeds()).then((out) => {
      order.push('run');
      return out;
    });
    const [out] = await Promise.all([run, ...busy]);
    assert.deepEqual(out.out_sample?.dims, [2, 4, 8, 8]);
    assert.equal(order[0], 'run', `order of completion: ${order.join(', ')}`);
    await session.release();
  });

  it("makes a session's concurrent runs one after another, each with its own outputs", async () => {
    const api = await bridge();
    const session = await createNativeSession(api, UNET, { provider: 'cpu', config: {} });
    const alone = await session.run(unetFeeds());
    const feeds = Array.from({ length: 6 }, (_, i) => {
      const one = unetFeeds();
      (one.sample?.data as Float32Array).fill(i / 10);
      return one;
    });
    const together = await Promise.all(feeds.map((one) => session.run(one)));
    const separately = [];
    for (const one of feeds) separately.push(await session.run(one));
    assert.deepEqual(together, separately);
    assert.notDeepEqual(together[0], together[5]);
    assert.deepEqual(await session.run(unetFeeds()), alone);
    await session.release();
  });

  it("rejects a call koffi refuses with koffi's message, and every call after the thread is closed", async () => {
    const api = await bridge();
    const thread = await CallThread.start(api);
    await assert.rejects(thread.call('RunWithBinding', { not: 'a pointer' }, null, null), (error: Error) => error.message.length > 0 && !/call thread/.test(error.message));
    // ONNX Runtime's own failure is a status, the call's result, as on the calling thread.
    await assertCreatesNoSessionOfAMissingFile(api, thread);
    await thread.close();
    await assert.rejects(thread.call('RunWithBinding', null, null, null), /call thread stopped/);
  });

  it('hands each session a thread of its own; one that cannot start fails its taker, never as an unhandled rejection', async () => {
    const api = await bridge();
    const [first, second] = [await CallThread.take(api), await CallThread.take(api)];
    assert.notEqual(first, second);
    await first.close();
    // The second still works after the first stopped: they are two threads.
    await assertCreatesNoSessionOfAMissingFile(api, second);
    await second.close();
    // Without the library, the thread taken and the one started in advance both fail, the first to its taker.
    const missing = { library: '/nonexistent/libonnxruntime.so.1' };
    await assert.rejects(CallThread.take(missing), /cannot load \/nonexistent/);
    await assert.rejects(CallThread.take(missing), /cannot load \/nonexistent/);
  });

  it('cannot start without the library, saying which file', async () => {
    await assert.rejects(CallThread.start({ library: '/nonexistent/libonnxruntime.so.1' }), /call thread cannot start: cannot load \/nonexistent/);
  });
});
