// graphql-ws over a real socket, for tests.
import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import type { AnswerData } from './answers';

export function wsClient(baseUrl: string, token: string | null): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export interface SubscriptionResult<T = AnswerData> {
  events: T[];
  errors?: { message: string; extensions?: { code?: string } }[];
  completed: boolean;
}

/** Subscribes, collects every event until the server completes it (or errors), then disposes. */
export async function collect<T = AnswerData>(
  client: Client,
  query: string,
  variables: Record<string, unknown>,
  onEvent?: (event: T, index: number) => void,
): Promise<SubscriptionResult<T>> {
  const events: T[] = [];
  return new Promise((resolve) => {
    client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) {
            resolve({ events, errors: value.errors as SubscriptionResult['errors'], completed: false });
            return;
          }
          events.push(value.data as T);
          onEvent?.(value.data as T, events.length - 1);
        },
        error: (error) => {
          const errors = Array.isArray(error) ? error : [{ message: String((error as Error)?.message ?? error) }];
          resolve({ events, errors, completed: false });
        },
        complete: () => resolve({ events, completed: true }),
      },
    );
  });
}

export async function subscribeOnce<T = AnswerData>(
  baseUrl: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown>,
): Promise<SubscriptionResult<T>> {
  const client = wsClient(baseUrl, token);
  try {
    return await collect<T>(client, query, variables);
  } finally {
    await client.dispose();
  }
}
