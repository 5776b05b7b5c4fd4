// bench:api's subscriber thread: N graphql-ws clients, each its own WebSocket, on one render's
// renderProgress, recording when each (client, event) arrived. It runs in its own thread so the
// clients' work does not load the server's event loop.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Client } from 'graphql-ws';
import { isTerminal } from '../../src/renders/render-progress';
import { wsClient } from '../../test/support/graphql-ws';
import { PROGRESS } from './settings';

export interface FanoutInit {
  url: string;
  token: string;
  renderId: string;
  steps: number;
  subscribers: number;
}

export type FanoutMessage =
  | { kind: 'subscribed'; count: number; failed: number; ms: number }
  | { kind: 'done'; receipts: Float64Array; completed: number; errors: string[] }
  | { kind: 'log'; line: string };

/** Event slot of a (client, event): steps 0..N of RUNNING, then N+1 for the final state. */
const slotOf = (status: string, step: number, steps: number): number | null =>
  isTerminal(status as never) ? steps + 1 : status === 'RUNNING' ? step : null;

/** The thread's clients: receipt times by (client, slot), 0 = never received, and how their subscriptions ended. */
class Subscribers {
  readonly slots: number;
  readonly receipts: Float64Array<ArrayBuffer>;
  readonly errors: string[] = [];
  failed = 0;
  completed = 0;
  private finish: () => void = () => undefined;
  readonly allDone = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(private readonly init: FanoutInit) {
    this.slots = init.steps + 2;
    this.receipts = new Float64Array(init.subscribers * this.slots);
  }

  private settle() {
    if (this.completed + this.failed >= this.init.subscribers) this.finish();
  }

  /** Subscribes client `index`; true once its first event (the current state) arrived without errors. */
  subscribe(client: Client, index: number): Promise<boolean> {
    return new Promise<boolean>((resolveFirst) => {
      let first = true;
      client.subscribe<{ renderProgress: { status: string; step: number } }>(
        { query: PROGRESS, variables: { id: this.init.renderId } },
        {
          next: (value) => {
            const now = Date.now();
            if (first) {
              // The current state: the server subscribed to the channel before reading it.
              first = false;
              resolveFirst(!value.errors);
            }
            const event = value.data?.renderProgress;
            if (!event) return;
            const slot = slotOf(event.status, event.step, this.init.steps);
            if (slot !== null && this.receipts[index * this.slots + slot] === 0) this.receipts[index * this.slots + slot] = now;
          },
          error: (error) => {
            if (this.errors.length < 5) this.errors.push(String((error as Error)?.message ?? JSON.stringify(error)));
            if (first) resolveFirst(false);
            this.failed += 1;
            this.settle();
          },
          complete: () => {
            this.completed += 1;
            this.settle();
          },
        },
      );
    });
  }
}

async function subscriberThread(init: FanoutInit): Promise<void> {
  const port = parentPort!;
  const subscribers = new Subscribers(init);
  const clients = Array.from({ length: init.subscribers }, () => wsClient(init.url, init.token));
  let subscribed = 0;
  const started = Date.now();
  // Open the connections in waves, so the handshakes do not all land in one tick.
  const WAVE = 50;
  for (let i = 0; i < init.subscribers; i += WAVE) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(WAVE, init.subscribers - i) }, (_, k) => subscribers.subscribe(clients[i + k]!, i + k)),
    );
    subscribed += wave.filter(Boolean).length;
  }
  port.postMessage({
    kind: 'subscribed',
    count: subscribed,
    failed: init.subscribers - subscribed,
    ms: Date.now() - started,
  } satisfies FanoutMessage);
  // Wait for every subscription to complete, or for the main thread to say stop.
  await Promise.race([subscribers.allDone, new Promise<void>((resolve) => port.once('message', () => resolve()))]);
  const { receipts, completed, errors } = subscribers;
  port.postMessage({ kind: 'done', receipts, completed, errors } satisfies FanoutMessage, [receipts.buffer]);
  await Promise.all(clients.map((c) => c.dispose()));
}

export function launchSubscriberThread(init: FanoutInit): Worker {
  // Same approach as src/inference/worker-launch.ts: register tsx's CommonJS hook, then load this file.
  const bootstrap = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();\nrequire(${JSON.stringify(__filename)});`;
  return new Worker(bootstrap, { eval: true, workerData: { fanout: init } });
}

const fanoutInit = isMainThread ? undefined : (workerData as { fanout?: FanoutInit } | null)?.fanout;
if (fanoutInit) {
  subscriberThread(fanoutInit).catch((error: unknown) => {
    parentPort?.postMessage({ kind: 'log', line: `subscriber thread failed: ${String(error)}` } satisfies FanoutMessage);
    throw error;
  });
}
