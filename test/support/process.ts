// Runs `npm start`'s entry point (through tsx, so no build is needed) as a child process.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { projectRoot } from '../../src/common/project-paths';
import { GENEROUS_LIMITS } from './server';
import { ok } from './graphql-client';
import type { NodeAnswer } from './answers';

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** `role`: api or worker for one role (needs REDIS_URL); nothing for both. */
export function spawnServer(env: Record<string, string>, role?: 'api' | 'worker'): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/main/start.ts'), ...(role ? [role] : [])], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      ...GENEROUS_LIMITS,
      ATELIER_RATE_KEY_PREFIX: `atelier-test:${randomBytes(6).toString('hex')}:`,
      ...env,
    },
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A render's state, as the polls read it. */
export const RENDER_STATE = `query($id: ID!) { node(id: $id) { ... on Render { status attempts completedSteps error { code message } } } }`;

/** A poll of a render: its node, or only `requestError` when the server could not be asked this time. */
export type RenderPoll = Partial<NodeAnswer> & { requestError?: string };

/** Polls a render (every 200 ms) until `done` holds; a server process that was stopped or killed may fail a poll, which is retried. */
export async function waitForRender(
  url: string,
  key: string,
  id: string,
  done: (n: RenderPoll) => boolean,
  timeoutMs = 120_000,
): Promise<RenderPoll> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A connection kept alive to a server that was stopped fails once; ask again.
    const node = await ok(url, key, RENDER_STATE, { id }).then(
      (data): RenderPoll => data.node,
      (error: Error): RenderPoll => ({ requestError: error.message }),
    );
    if (done(node)) return node;
    if (Date.now() > deadline) throw new Error(`render did not get there: ${JSON.stringify(node)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
