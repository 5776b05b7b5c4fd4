/**
 * The HTTP server creates requests and responses with express's prototypes already in place,
 * so express never has to change an object's prototype (see src/http/express-server.ts).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createExpressServer } from '../../src/http/express-server';

describe('createExpressServer', () => {
  it('hands express requests and responses born with its prototypes, and express works on them', async () => {
    const app = express();
    app.get('/echo/:name', (req, res) => {
      res.status(201).json({ name: req.params['name'], path: req.path, query: req.query['q'], sameApp: req.app === app });
    });
    const server = createExpressServer(app);
    const seen: { request: boolean; response: boolean }[] = [];
    // Runs before express: what the HTTP server itself created.
    server.prependListener('request', (req, res) => {
      seen.push({ request: Object.getPrototypeOf(req) === app.request, response: Object.getPrototypeOf(res) === app.response });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (let i = 0; i < 2; i++) {
        const reply = await fetch(`http://127.0.0.1:${port}/echo/coat?q=${i}`);
        expect(reply.status).toBe(201);
        expect(await reply.json()).toEqual({ name: 'coat', path: '/echo/coat', query: String(i), sameApp: true });
      }
      expect(seen).toEqual([
        { request: true, response: true },
        { request: true, response: true },
      ]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
