import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fetchImage, type AttachmentLimits } from '../../src/inputs/attachments.js';
import { INIT_IMAGE } from '../support/pictures.js';

const LIMITS: AttachmentLimits = { maxBytes: 64 * 1024, maxPixels: 1024 * 1024, timeoutMs: 5000 };

describe('fetchImage', () => {
  let server: Server;
  let base: string;
  const requested: string[] = [];
  const routes: Record<string, (request: IncomingMessage, response: ServerResponse) => void> = {
    '/ok.png': (_, response) => response.end(INIT_IMAGE),
    '/missing.png': (_, response) => response.writeHead(404).end(),
    '/moved.png': (_, response) => response.writeHead(302, { location: '/elsewhere.png' }).end(),
    '/elsewhere.png': (_, response) => response.end(INIT_IMAGE),
    // Chunked, with no Content-Length, and never ending: only counting the bytes stops it.
    '/endless.png': (_, response) => {
      const chunk = Buffer.alloc(16 * 1024, 1);
      const pump = () => {
        while (response.write(chunk));
      };
      response.on('drain', pump);
      pump();
    },
    // Headers at once, then nothing.
    '/stalled.png': (_, response) => response.flushHeaders(),
  };
  before(async () => {
    server = createServer((request, response) => {
      requested.push(request.url ?? '');
      routes[request.url ?? '']?.(request, response);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const attachment = (path: string, size = 100) => ({ option: 'image', url: `${base}${path}`, size });

  it('downloads and decodes a picture', async () => {
    const fetched = await fetchImage(attachment('/ok.png'), LIMITS);
    assert.ok(fetched.ok);
    assert.deepEqual([fetched.image.format, fetched.image.image.width, fetched.image.image.height], ['png', 64, 64]);
  });

  it('stops a download that runs over the byte limit, whatever the server says', async () => {
    const fetched = await fetchImage(attachment('/endless.png'), LIMITS);
    assert.deepEqual(fetched, { ok: false, code: 'INVALID_OPTION', message: '`image`: The file is over the limit of 0.066 MB.' });
  });

  it('gives up on a download that takes too long', async () => {
    const fetched = await fetchImage(attachment('/stalled.png'), { ...LIMITS, timeoutMs: 200 });
    assert.deepEqual(fetched, { ok: false, code: 'INVALID_OPTION', message: '`image`: Downloading it took longer than 0.2 s. Please try again.' });
  });

  it('gives up on time even when the garbage collector runs meanwhile', async () => {
    // fetch's abort signal is lost when its request object is collected; the download must not depend on it.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const collecting = setInterval(gc, 10);
    try {
      const fetched = await fetchImage(attachment('/stalled.png'), { ...LIMITS, timeoutMs: 300 });
      assert.match(fetched.ok ? '' : fetched.message, /took longer than 0\.3 s/);
    } finally {
      clearInterval(collecting);
    }
  });

  it('does not follow a redirect away from the address it was given', async () => {
    const fetched = await fetchImage(attachment('/moved.png'), LIMITS);
    assert.equal(fetched.ok, false);
    assert.match(fetched.ok ? '' : fetched.message, /^`image`: Discord answered 302 when I downloaded it; please upload it again\.$/);
    assert.ok(!requested.includes('/elsewhere.png'));
  });

  it('explains an error status, and a file Discord reports as too large without fetching it', async () => {
    const missing = await fetchImage(attachment('/missing.png'), LIMITS);
    assert.match(missing.ok ? '' : missing.message, /^`image`: Discord answered 404 when I downloaded it; please upload it again\.$/);
    const before = requested.length;
    const large = await fetchImage({ ...attachment('/ok.png'), option: 'mask', size: 200_000 }, LIMITS);
    assert.match(large.ok ? '' : large.message, /^`mask`: The file is 0\.2 MB; the limit is 0\.066 MB\.$/);
    assert.equal(requested.length, before);
  });
});
