// The web app's GraphQL client: typed documents (generated from schema.graphql) over fetch
// for queries and mutations, and over graphql-ws for subscriptions, on this origin's
// /graphql. Who it acts for is a TokenSource: a shopper session, or a retailer's API key.
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from '../generated/graphql';

/** Where the bearer token comes from; `refresh` is called once when the server refuses it. */
export interface TokenSource {
  token(): Promise<string>;
  /** A new token after UNAUTHENTICATED (an expired session); null when there is none to get. */
  refresh(): Promise<string | null>;
}

/** A request the server refused (GraphQL error) or could not answer. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLBody<R> {
  data?: R | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface ProgressSink<R> {
  next(data: R): void;
  error(error: ApiError): void;
  complete(): void;
}

export class ApiClient {
  private ws: Client | null = null;

  constructor(private readonly tokens: TokenSource) {}

  async request<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
    const send = async (token: string) => {
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: document.toString(), variables }),
      });
      const body = (await response.json().catch(() => ({}))) as GraphQLBody<R>;
      return { status: response.status, body };
    };
    let { status, body } = await send(await this.tokens.token());
    if (body.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED') {
      const fresh = await this.tokens.refresh();
      if (fresh) ({ status, body } = await send(fresh));
    }
    const first = body.errors?.[0];
    if (first) throw new ApiError(first.message, first.extensions?.code);
    if (!body.data) throw new ApiError(`the server answered HTTP ${status} without data`, undefined);
    return body.data;
  }

  /** Starts a subscription; returns the function that stops it. */
  subscribe<R, V extends Record<string, unknown>>(document: TypedDocumentString<R, V>, variables: V, sink: ProgressSink<R>): () => void {
    this.ws ??= createClient({
      url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
      // Read at every (re)connection, so a reconnect uses a fresh session.
      connectionParams: async () => ({ authorization: `Bearer ${await this.tokens.token()}` }),
      lazy: true,
      retryAttempts: 5,
    });
    return this.ws.subscribe<R>(
      { query: document.toString(), variables },
      {
        next: (value) => {
          const first = value.errors?.[0];
          if (first) sink.error(new ApiError(first.message, (first.extensions as { code?: string } | undefined)?.code));
          else if (value.data) sink.next(value.data as R);
        },
        error: (error) => {
          const first = Array.isArray(error) ? (error[0] as { message?: string } | undefined) : undefined;
          sink.error(new ApiError(first?.message ?? (error instanceof Error ? error.message : 'the live connection failed'), undefined));
        },
        complete: () => sink.complete(),
      },
    );
  }

  close(): void {
    void this.ws?.dispose();
    this.ws = null;
  }
}

/** The text of a mutation's userErrors, for the page: "message (CODE)". */
export function describeUserErrors(errors: readonly { code: string; message: string }[]): string {
  return errors.map((e) => `${e.message.charAt(0).toUpperCase()}${e.message.slice(1)} (${e.code}).`).join(' ');
}

/** A File as a data: URL (the API takes images as data URLs or staged uploads). */
export function readAsDataUrl(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(file);
  });
}
