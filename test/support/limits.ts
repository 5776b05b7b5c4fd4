// Helpers for the limits suites: raw GraphQL-over-HTTP answers (status, headers, whole body)
// and graphql-ws answers that keep the close code.
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import type { AnswerData } from './answers';

/** What a query cost against the limit (extensions.cost of an answer, or of a QUERY_TOO_COSTLY error). */
export interface QueryCost {
  requested: number;
  maximum: number;
}

/** A GraphQL error as the server writes it, with the extensions the limits add. */
export interface AnswerError {
  message: string;
  extensions: { code: string; retryAfterMs: number; cost: QueryCost };
}

/** One GraphQL answer as the limits suites read it: each part they read taken as present; errors, when sent, are never empty. */
export interface RawAnswer {
  data: AnswerData & { __typename: string };
  errors: [AnswerError, ...AnswerError[]];
  extensions: { cost: QueryCost };
}

export interface RawResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON: one answer, or an array of them for a batch (text when not JSON). */
  body: RawAnswer & RawAnswer[];
}

export async function post(
  baseUrl: string,
  token: string | null,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, headers: res.headers, body: parsed as RawResponse['body'] };
}

type CloseLike = { code: number; reason: string } | undefined;

export interface WsAnswer {
  data?: AnswerData | null;
  extensions?: { cost: QueryCost };
  errors?: { message: string; extensions?: Record<string, unknown> }[];
  closeCode?: number;
  closeReason?: string;
}

/** One operation over a fresh graphql-ws connection: its first result, its errors, or the close. */
export async function wsOnce(
  baseUrl: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<WsAnswer> {
  let closed: { code: number; reason: string } | undefined;
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => (closed = event as { code: number; reason: string }) },
  });
  try {
    return await new Promise<WsAnswer>((resolve) => {
      client.subscribe<AnswerData, { cost: QueryCost }>(
        { query, variables },
        {
          next: (value) =>
            resolve({
              data: value.data,
              extensions: value.extensions,
              ...(value.errors ? { errors: value.errors as WsAnswer['errors'] } : {}),
            }),
          error: (error) => {
            if (Array.isArray(error)) resolve({ errors: error });
            else
              resolve({
                closeCode: (error as CloseLike)?.code ?? closed?.code,
                closeReason: (error as CloseLike)?.reason ?? closed?.reason,
              });
          },
          complete: () => resolve({}),
        },
      );
    });
  } finally {
    await client.dispose();
  }
}

export interface OpenedConnection {
  socket: WebSocket;
  /** The first message's type (connection_ack) or `closed <code>`. */
  result: Promise<string>;
}

/** A raw graphql-ws socket that sends connection_init with `token` (null: none) and stays open. */
export function openConnection(baseUrl: string, token: string | null): Promise<OpenedConnection> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const result = new Promise<string>((done) => {
      socket.on('message', (m) => done(JSON.parse(String(m)).type));
      socket.on('close', (code) => done(`closed ${code}`));
    });
    socket.on('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} }));
      resolve({ socket, result });
    });
  });
}
