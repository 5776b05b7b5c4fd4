// detachedBody: an upload's body, read apart from its request, fails (never hangs) when the
// client goes away, whether before or while it is read.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type express from 'express';
import { detachedBody } from '../../src/http/request-body';

type Outcome = 'ended' | 'failed' | 'hung';

async function outcomeOf(openWhen: 'before' | 'after'): Promise<Outcome> {
  let report!: (outcome: Outcome) => void;
  const reported = new Promise<Outcome>((resolve) => (report = resolve));
  const server: Server = createServer((req: IncomingMessage) => {
    void (async () => {
      // 'before': the client is gone before the body is opened (it left during the checks).
      if (openWhen === 'before') await new Promise((resolve) => req.once('close', resolve));
      const body = detachedBody(req as express.Request);
      const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
      const timer = new Promise<Outcome>((resolve) => setTimeout(() => resolve('hung'), 2_000).unref());
      report(
        await Promise.race([
          pipeline(body, sink).then(
            (): Outcome => 'ended',
            (): Outcome => 'failed',
          ),
          timer,
        ]),
      );
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.write('PUT /uploads/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
  setTimeout(() => client.destroy(), 100);
  try {
    return await reported;
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('detachedBody', () => {
  it('fails when the client goes away while the body is read', async () => {
    expect(await outcomeOf('after')).toBe('failed');
  });

  it('fails at once when the client went away before the body was opened', async () => {
    expect(await outcomeOf('before')).toBe('failed');
  });
});
