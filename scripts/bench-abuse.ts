/**
 * Benchmark of the limits (not a test): while one client floods, does a well-behaved client of
 * another tenant keep its latency? One in-process API server (role 'api', in-memory PGlite,
 * in-process queue, the DEFAULT limits of src/main/config.ts):
 *   victim   tenant V's API key: a garments page (first: 10) at a steady rate under its rate
 *            limit (default 40 req/s; autocannon, 4 connections), first alone
 *            (victimP99MsIdle), then during the abuse (victimP99MsUnderAbuse);
 *   abuser   tenant A's API key at 10x its rate limit (autocannon, 16 connections), cycling
 *            through an alias bomb, a fragment bomb (exponential spreads), an over-cost query,
 *            a batch of 50 and an ordinary query; plus, in another thread, many graphql-ws
 *            connections with its token (each sends connection_init, and those accepted send
 *            alias bombs as subscriptions).
 * The load (both autocannons, the WebSocket flood) runs in a child process at nice 10, each part
 * in its own thread, so that on a small shared machine the load generators do not starve the
 * server they measure (in production they would be other machines).
 * abusiveRequestsRefused counts the abuser's HTTP answers 4xx plus its refused WebSocket
 * connections and operations; serverErrors counts 5xx answers, and the victim's connection
 * errors and timeouts. Target: victimP99MsUnderAbuse <= 2 x victimP99MsIdle, serverErrors 0.
 * Human-readable lines first; the LAST line printed is one JSON object.
 *
 *   npm run bench:abuse [-- --duration S] [--victim-rate N] [--ws-connections N] [--timeout S]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { loadavg, setPriority, tmpdir } from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { createLogger } from '../src/observability/logger';
import { createGarment, createTenant, ok, pngDataUrl } from '../test/support/graphql-client';
import { composeServer, localConfig, type ComposedServer } from '../test/support/server';
import { machineSummary, numberFlag, runBench } from './bench-support';

const args = process.argv.slice(2);
const DURATION_S = numberFlag('--duration', 10);
const VICTIM_RATE = numberFlag('--victim-rate', 40);
const WS_CONNECTIONS = numberFlag('--ws-connections', 200);
const GLOBAL_TIMEOUT_MS = numberFlag('--timeout', 180) * 1000;

const VICTIM_QUERY = '{ garments(first: 10) { edges { node { id sku name category } } } }';
const ALIAS_BOMB = `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: garments(first: 100) { edges { node { id image { url } } } }`).join(' ')} }`;
const FRAGMENT_BOMB = `{ outfits(first: 100) { edges { node { ...F0 } } } } ${Array.from({ length: 30 }, (_, i) =>
  i === 29 ? `fragment F${i} on Outfit { garments { image { url } } }` : `fragment F${i} on Outfit { ...F${i + 1} ...F${i + 1} }`,
).join(' ')}`;
const OVER_COST =
  '{ renders(first: 100) { edges { node { outfit { garments { image { url } referenceCache { status } } } personPhoto { image { url } } } } } outfits(first: 100) { edges { node { garments { image { url } } } } } }';
const ORDINARY = '{ garments(first: 20) { edges { node { id sku } } } }';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
  '4xx': number;
  '5xx': number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.log(line);

// ---------------------------------------------------------------------------------------------
// The WebSocket flood, in its own thread.

interface FloodInit {
  url: string;
  token: string;
  connections: number;
  holdMs: number;
}

async function floodThread(init: FloodInit): Promise<void> {
  let accepted = 0;
  let refusedConnections = 0;
  let refusedOperations = 0;
  let otherCloses = 0;
  const sockets: WebSocket[] = [];
  const settled: Promise<void>[] = [];
  for (let i = 0; i < init.connections; i += 1) {
    const socket = new WebSocket(`${init.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    sockets.push(socket);
    settled.push(
      new Promise<void>((resolve) => {
        socket.on('open', () =>
          socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${init.token}` } })),
        );
        socket.on('message', (raw) => {
          const message = JSON.parse(String(raw)) as { type: string };
          if (message.type === 'connection_ack') {
            accepted += 1;
            for (let op = 0; op < 10; op += 1)
              socket.send(JSON.stringify({ id: String(op), type: 'subscribe', payload: { query: ALIAS_BOMB } }));
            resolve();
          } else if (message.type === 'error') refusedOperations += 1;
        });
        socket.on('close', (code) => {
          if (code === 4429) refusedConnections += 1;
          else otherCloses += 1;
          resolve();
        });
        socket.on('error', () => resolve());
      }),
    );
    if (i % 20 === 19) await sleep(50);
  }
  await Promise.all(settled);
  await sleep(init.holdMs);
  for (const socket of sockets) socket.close();
  await sleep(200);
  parentPort!.postMessage({ accepted, refusedConnections, refusedOperations, otherCloses });
}

function launchFlood(init: FloodInit): Worker {
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();\nrequire(${JSON.stringify(__filename)});`;
  return new Worker(bootstrap, { eval: true, workerData: { flood: init } });
}

interface LoadInit {
  url: string;
  victim: string;
  abuser: string;
  apiKeyRate: number;
}

interface LoadResult {
  idle: AutocannonResult;
  underAbuse: AutocannonResult;
  abuseResult: AutocannonResult;
  ws: { accepted: number; refusedConnections: number; refusedOperations: number; otherCloses: number };
}

async function runLoad(init: LoadInit): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--load', JSON.stringify(init), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const lines = output.trim().split('\n');
  for (const line of lines.slice(0, -1)) log(line);
  if (code !== 0) throw new Error(`the load process exited with ${code}`);
  return JSON.parse(lines[lines.length - 1]!) as LoadResult;
}

/** The load process: the victim alone, then the victim during the abuse. */
async function loadProcess(init: LoadInit): Promise<void> {
  setPriority(10);
  const { url, victim, abuser, apiKeyRate } = init;
  const victimRun = () =>
    autocannon({
      url: `${url}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${victim}` },
      body: JSON.stringify({ query: VICTIM_QUERY }),
      connections: 4,
      overallRate: VICTIM_RATE,
      duration: DURATION_S,
      workers: 1,
    });
  const describe = (r: AutocannonResult) =>
    `${r.requests.total} requests (${round(r.requests.average)}/s), p50 ${r.latency.p50} ms p99 ${r.latency.p99} ms max ${r.latency.max} ms, 2xx ${r['2xx']} 4xx ${r['4xx']} 5xx ${r['5xx']}, errors ${r.errors} timeouts ${r.timeouts}`;

  // Warm-up, then the victim alone.
  await victimRun().catch(() => undefined);
  await sleep(1000);
  const idle = await victimRun();
  console.log(`victim alone (${VICTIM_RATE} req/s): ${describe(idle)}`);
  await sleep(2000);

  // The abuse: HTTP at 10x the abuser's rate limit, and a WebSocket flood.
  const abuseBodies = [ALIAS_BOMB, FRAGMENT_BOMB, OVER_COST, ORDINARY].map((query) => JSON.stringify({ query }));
  abuseBodies.push(JSON.stringify(Array.from({ length: 50 }, () => ({ query: ORDINARY }))));
  const abuse = autocannon({
    url: `${url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${abuser}` },
    requests: abuseBodies.map((body) => ({ body })),
    connections: 16,
    overallRate: apiKeyRate * 10,
    duration: DURATION_S + 2,
    workers: 1,
  });
  const flood = launchFlood({ url, token: abuser, connections: WS_CONNECTIONS, holdMs: DURATION_S * 1000 });
  const floodResult = new Promise<{ accepted: number; refusedConnections: number; refusedOperations: number; otherCloses: number }>(
    (resolve, reject) => {
      flood.once('message', resolve);
      flood.once('error', reject);
    },
  );
  await sleep(1000);
  const underAbuse = await victimRun();
  const abuseResult = await abuse;
  const ws = await floodResult;
  await flood.terminate();
  console.log(`victim under abuse: ${describe(underAbuse)}`);
  console.log(`abuser HTTP (${apiKeyRate * 10} req/s target): ${describe(abuseResult)}`);
  console.log(
    `abuser WebSocket: ${WS_CONNECTIONS} connections tried, ${ws.accepted} accepted, ${ws.refusedConnections} refused (4429), ${ws.otherCloses} other closes, ${ws.refusedOperations} operations refused`,
  );

  console.log(JSON.stringify({ idle, underAbuse, abuseResult, ws }));
}

// ---------------------------------------------------------------------------------------------

const summary: Record<string, unknown> = {
  victimP99MsIdle: null,
  victimP99MsUnderAbuse: null,
  abusiveRequestsRefused: null,
  serverErrors: null,
  ...machineSummary(),
};

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'atelier-bench-abuse-'));
  // The defaults of every limit: only what a bench needs is set.
  const config = localConfig(dataDir);
  const apiKeyRate = config.rateLimits.apiKey.perSecond;
  summary.victimRate = VICTIM_RATE;
  summary.limits = {
    apiKeyPerSecond: apiKeyRate,
    apiKeyBurst: config.rateLimits.apiKey.burst,
    wsConnectionsPerToken: config.webSocket.maxConnectionsPerToken,
    ...config.queryLimits,
  };
  let server: ComposedServer | null = null;
  try {
    server = await composeServer(config, { role: 'api', database: { kind: 'embedded', dataDir: null }, logger: createLogger('silent') });
    const url = `http://127.0.0.1:${server.port}`;
    const victim = (await createTenant(url, 'Victim')).adminKey;
    const abuser = (await createTenant(url, 'Abuser')).adminKey;
    const image = await pngDataUrl();
    for (let i = 0; i < 10; i += 1) await createGarment(url, victim, `V${i}`, 'TOP', image);
    for (let i = 0; i < 5; i += 1) await createGarment(url, abuser, `A${i}`, 'TOP', image);
    await ok(url, victim, VICTIM_QUERY);
    log(`server on ${url} (role api, in-memory PGlite, default limits: API key ${apiKeyRate}/s burst ${config.rateLimits.apiKey.burst})`);
    await sleep(4000); // both buckets full again

    // The load runs in a child process at a lower priority (nice 10), so on a small, shared
    // machine the server is not starved by its own load generators.
    const load = await runLoad({ url, victim, abuser, apiKeyRate });
    const { idle, underAbuse, abuseResult, ws } = load;
    summary.victimP99MsIdle = idle.latency.p99;
    summary.victimP99MsUnderAbuse = underAbuse.latency.p99;
    summary.abusiveRequestsRefused = abuseResult['4xx'] + ws.refusedConnections + ws.refusedOperations;
    summary.serverErrors =
      idle['5xx'] + underAbuse['5xx'] + abuseResult['5xx'] + idle.errors + idle.timeouts + underAbuse.errors + underAbuse.timeouts;
    summary.victimP50MsIdle = idle.latency.p50;
    summary.victimP50MsUnderAbuse = underAbuse.latency.p50;
    summary.victimRequests = underAbuse.requests.total;
    summary.victimRefused = idle['4xx'] + underAbuse['4xx'];
    summary.abuserRequests = abuseResult.requests.total;
    summary.abuserAccepted = abuseResult['2xx'];
    summary.abuserWsAccepted = ws.accepted;
    const met = Number(summary.victimP99MsUnderAbuse) <= 2 * Number(summary.victimP99MsIdle) && summary.serverErrors === 0;
    summary.targetMet = met;
    log(`target (p99 under abuse <= 2 x idle, no server errors): ${met ? 'met' : 'MISSED'}`);
  } finally {
    summary.loadAvgEnd = round(loadavg()[0]!, 2);
    if (server) await Promise.race([server.close(), sleep(20_000)]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const loadAt = args.indexOf('--load');
if (isMainThread && loadAt >= 0) {
  loadProcess(JSON.parse(args[loadAt + 1]!) as LoadInit).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else if (isMainThread) {
  runBench(main, summary, GLOBAL_TIMEOUT_MS);
} else if ((workerData as { flood?: FloodInit })?.flood) {
  void floodThread((workerData as { flood: FloodInit }).flood);
}
