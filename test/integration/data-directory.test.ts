// The data directory is private to the server's user (issue 13 item 10): `npm start`'s entry
// point, on the embedded default (PGlite, file blobs, generated secrets, the demo tenant),
// creates the directory 0700 and nothing in it readable by group or others; a directory left
// readable by an older version is tightened at start. The start banner prints a secret only
// on the start that creates it; later starts print where it is kept.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, waitFor, type ServerProcess } from '../support/process';
import { createLogger } from '../../src/observability/logger';
import { preparePrivateDataDir } from '../../src/main/data-dir';

/** Every path under `dir` (itself included) whose mode gives group or others any permission. */
function looseEntries(dir: string): string[] {
  const loose: string[] = [];
  const walk = (path: string) => {
    const stats = lstatSync(path);
    if (stats.isSymbolicLink()) return;
    if ((stats.mode & 0o077) !== 0) loose.push(`${path} ${(stats.mode & 0o777).toString(8)}`);
    if (stats.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return loose;
}

function countEntries(dir: string): number {
  let n = 0;
  const walk = (path: string) => {
    n += 1;
    if (lstatSync(path).isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return n;
}

describe('data directory', () => {
  const dirs: string[] = [];
  const processes: ServerProcess[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'atelier-data-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await Promise.all(processes.map((p) => p.exited));
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  async function start(dataDir: string): Promise<{ output: string; stop: () => Promise<void> }> {
    const port = 40000 + Math.floor(Math.random() * 10000);
    // HOST unset: the embedded default binds to loopback. The demo is on: its credentials and photos are written too.
    const server = spawnServer({ PORT: String(port), ATELIER_DATA_DIR: dataDir, ATELIER_DEMO: 'on' });
    processes.push(server);
    await waitFor(
      () => server.output().includes('serving GraphQL') || server.output().includes('failed to start'),
      240_000,
      'the server to start',
    );
    expect(server.output()).toContain('serving GraphQL');
    // Something is written while it runs: a tenant (database pages), a render's blobs are not needed.
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const created = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'mutation { createTenant(input: { name: "private" }) { tenant { id } } }' }),
    });
    expect(created.status).toBe(200);
    return {
      output: server.output(),
      stop: async () => {
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      },
    };
  }

  test('created private: the directory 0700, nothing in it readable by others, on the first start and the next; secrets printed once', async () => {
    const parent = tempDir();
    const dataDir = join(parent, 'atelier');
    const first = await start(dataDir);
    expect(lstatSync(dataDir).mode & 0o777).toBe(0o700);
    // The embedded database, the blobs, the secrets and the demo credentials are all there.
    for (const entry of ['db', 'blobs', 'admin-token', 'signing-secret', 'demo.json']) expect(readdirSync(dataDir)).toContain(entry);
    expect(countEntries(join(dataDir, 'db'))).toBeGreaterThan(50);
    expect(looseEntries(dataDir)).toEqual([]);

    // The first start prints the secrets it created, saying where they are kept.
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const demoKey = (JSON.parse(readFileSync(join(dataDir, 'demo.json'), 'utf8')) as { apiKey: string }).apiKey;
    expect(first.output).toContain(token);
    expect(first.output).toContain(demoKey);
    expect(first.output).toContain(join(dataDir, 'admin-token'));
    await first.stop();
    expect(looseEntries(dataDir)).toEqual([]);

    // The next start: where they are kept, not the secrets.
    const second = await start(dataDir);
    expect(second.output).not.toContain(token);
    expect(second.output).not.toContain(demoKey);
    expect(second.output).toContain(`Operator token (createTenant): kept in ${join(dataDir, 'admin-token')}`);
    expect(second.output).toContain(`with its API key, kept in ${join(dataDir, 'demo.json')}`);
    expect(looseEntries(dataDir)).toEqual([]);
    await second.stop();
    expect(looseEntries(dataDir)).toEqual([]);
  }, 600_000);

  test("a directory left readable by others is made private at start, with a warning; files an operator keeps beside Atelier's are left alone", () => {
    const dataDir = tempDir();
    chmodSync(dataDir, 0o755);
    mkdirSync(join(dataDir, 'db', 'base'), { recursive: true, mode: 0o755 });
    writeFileSync(join(dataDir, 'db', 'base', '1234'), 'pages', { mode: 0o644 });
    writeFileSync(join(dataDir, 'admin-token'), 'ato_x\n', { mode: 0o644 });
    chmodSync(join(dataDir, 'db', 'base'), 0o755);
    chmodSync(join(dataDir, 'db', 'base', '1234'), 0o644);
    chmodSync(join(dataDir, 'admin-token'), 0o644);
    writeFileSync(join(dataDir, 'operator-notes.txt'), 'mine');
    chmodSync(join(dataDir, 'operator-notes.txt'), 0o644);
    const lines: string[] = [];
    const logger = createLogger('warn', { write: (line: string) => lines.push(line) });
    preparePrivateDataDir(dataDir, logger)();
    expect(looseEntries(dataDir)).toEqual([`${join(dataDir, 'operator-notes.txt')} 644`]);
    expect(lstatSync(join(dataDir, 'db', 'base', '1234')).mode & 0o777).toBe(0o600);
    expect(lstatSync(join(dataDir, 'db', 'base')).mode & 0o777).toBe(0o700);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/the data directory was readable by other users/);
  });
});
