// A TCP proxy in front of PostgreSQL that can drop a connection at the COMMIT of a chosen
// write: 'before' the COMMIT reaches PostgreSQL (so it never commits), 'after' PostgreSQL
// committed but before the client hears so (the outcome is then unknown to the client), or
// 'hold': the client's side is dropped before the COMMIT while PostgreSQL's side stays open,
// so the transaction stays in progress until releaseHeld(). It reads just enough of the wire
// protocol: the client's Query and Parse messages.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type CommitFault = 'before' | 'after' | 'hold';

interface Armed {
  /** A statement of the transaction (its SQL text) that makes its COMMIT the one to drop. */
  statement: RegExp;
  mode: CommitFault;
  fired: () => void;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

export class PgFaultProxy {
  private server: Server | null = null;
  private armed: Armed | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<Socket>();

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = createServer((client) => this.relay(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  /** The next COMMIT of a transaction that ran a statement matching `statement` is dropped; resolves when it was. */
  arm(statement: RegExp, mode: CommitFault): Promise<void> {
    return new Promise((resolve) => {
      this.armed = { statement, mode, fired: resolve };
    });
  }

  disarm(): void {
    this.armed = null;
  }

  /** Closes PostgreSQL's side of the connections 'hold' left open (their transactions then abort). */
  releaseHeld(): void {
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private relay(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(client);
    this.sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => {
      this.sockets.delete(client);
      if (!this.held.has(upstream)) upstream.destroy();
    });
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);

    let pending = Buffer.alloc(0);
    let startup = true;
    let matched = false;
    // Set while a committed COMMIT's answer is being withheld.
    let withholding: (() => void) | null = null;

    upstream.on('data', (chunk: Buffer) => {
      if (withholding) {
        // PostgreSQL answered the COMMIT: it committed. The client never hears it.
        if (chunk.includes('COMMIT')) withholding();
        return;
      }
      client.write(chunk);
    });

    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      const forward: Buffer[] = [];
      for (;;) {
        if (startup) {
          if (pending.length < 8) break;
          const length = pending.readInt32BE(0);
          if (pending.length < length) break;
          const code = pending.readInt32BE(4);
          forward.push(pending.subarray(0, length));
          pending = pending.subarray(length);
          startup = code === SSL_REQUEST || code === GSSENC_REQUEST;
          continue;
        }
        if (pending.length < 5) break;
        const length = pending.readInt32BE(1) + 1;
        if (pending.length < length) break;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        const type = String.fromCharCode(message[0]!);
        const sql = type === 'Q' ? cString(message, 5) : type === 'P' ? cString(message, message.indexOf(0, 5) + 1) : null;
        const armed = this.armed;
        if (sql !== null && /^\s*BEGIN\b/i.test(sql)) matched = false;
        if (sql !== null && armed && armed.statement.test(sql)) matched = true;
        if (sql !== null && armed && matched && /^\s*COMMIT\s*$/i.test(sql)) {
          this.armed = null;
          upstream.write(Buffer.concat(forward));
          if (armed.mode === 'before') {
            drop();
            armed.fired();
            return;
          }
          if (armed.mode === 'hold') {
            this.held.add(upstream);
            client.destroy();
            armed.fired();
            return;
          }
          withholding = () => {
            drop();
            armed.fired();
          };
          upstream.write(message);
          return;
        }
        forward.push(message);
      }
      if (forward.length > 0) upstream.write(Buffer.concat(forward));
    });
  }
}

function cString(buffer: Buffer, start: number): string {
  const end = buffer.indexOf(0, start);
  return buffer.toString('utf8', start, end < 0 ? buffer.length : end);
}
