// The server as an operator runs it: start-up errors, health, readiness, metrics, and a
// graceful SIGTERM that drains HTTP and WebSocket connections.
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { spawnServer, waitFor } from '../support/process';

describe('operations', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'atelier-ops-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('a bad configuration value stops start-up with one line naming it', async () => {
    const server = spawnServer({ PORT: 'not-a-port', ATELIER_DATA_DIR: tempDir() });
    expect(await server.exited).toBe(2);
    const lines = server.output().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^invalid configuration: PORT /);
  });

  test('embedded default: operator token generated, health, readiness, metrics, graceful SIGTERM', async () => {
    const dataDir = tempDir();
    const port = 40000 + Math.floor(Math.random() * 10000);
    const metricsPort = port + 10000;
    const server = spawnServer({
      PORT: String(port),
      ATELIER_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      ATELIER_METRICS_PORT: String(metricsPort),
    });
    await waitFor(() => server.output().includes('serving GraphQL'), 60_000, 'the server to start');
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    expect(server.output()).toContain(`Operator token (createTenant): ${token}`);
    const base = `http://127.0.0.1:${port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', database: true });
    const created = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'mutation Create { createTenant(input: { name: "ops" }) { tenant { id } } }' }),
    });
    expect(created.status).toBe(200);
    // Metrics: on the main port to the operator token only; without one on ATELIER_METRICS_PORT (loopback).
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(metrics).toMatch(/atelier_graphql_operations_total\{operation="Create",type="mutation"\} 1/);
    expect(metrics).toContain('atelier_graphql_operation_duration_seconds_bucket');
    const scraped = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/atelier_graphql_operations_total\{operation="Create",type="mutation"\} 1/);
    // Logs are JSON lines and never contain the token.
    expect(server.output()).not.toContain(`Bearer ${token}`);

    const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(typeof (await wsClosed)).toBe('number');
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
