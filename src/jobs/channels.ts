// Typed pub/sub channels: a channel's name (always its tenant first, then other ids), its
// message type and the message's encoding, defined once per kind of channel. Publishers and
// subscribers go through these, never through bare names; a process that must hear every
// tenant's messages of a kind subscribes to the kind's pattern.
import { listen, type PubSub, type Unsubscribe } from './pubsub';

/** How a channel's messages travel: `parse` answers null for a message that is not one (it is dropped). */
export interface Codec<M> {
  encode(message: M): string;
  parse(raw: string): M | null;
}

/** One channel: its full name and its messages' codec. */
export interface Channel<M> {
  readonly name: string;
  readonly codec: Codec<M>;
}

/** A kind of channel: `kind:<tenantId>[:<id>...]`; `everyTenant` is the pattern of all of them. */
export interface ChannelKind<Ids extends string[], M> {
  (tenantId: string, ...ids: Ids): Channel<M>;
  readonly everyTenant: string;
  readonly codec: Codec<M>;
}

export function channelKind<Ids extends string[], M>(kind: string, codec: Codec<M>): ChannelKind<Ids, M> {
  const channel = (tenantId: string, ...ids: Ids): Channel<M> => ({ name: [kind, tenantId, ...ids].join(':'), codec });
  return Object.assign(channel, { everyTenant: `${kind}:*`, codec });
}

/** JSON messages: `parse` checks the shape (from another process, so not trusted to be one). */
export function jsonCodec<M>(parse: (value: unknown) => M | null): Codec<M> {
  return {
    encode: (message) => JSON.stringify(message),
    parse: (raw) => {
      try {
        return parse(JSON.parse(raw));
      } catch {
        return null;
      }
    },
  };
}

/** An object whose listed fields are all strings, as that object (only those fields), else null. */
export function stringFields<K extends string>(value: unknown, ...fields: K[]): Record<K, string> | null {
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  const picked = {} as Record<K, string>;
  for (const field of fields) {
    const v = record[field];
    if (typeof v !== 'string') return null;
    picked[field] = v;
  }
  return picked;
}

/** Messages that are plain strings (ids). */
export const textCodec: Codec<string> = { encode: (message) => message, parse: (raw) => raw };

/** A message that carries nothing but its arrival (e.g. a cancellation). */
export const signalCodec = (word: string): Codec<true> => ({ encode: () => word, parse: () => true });

export function publish<M>(pubsub: PubSub, channel: Channel<M>, message: M): Promise<void> {
  return pubsub.publish(channel.name, channel.codec.encode(message));
}

/** Resolves once the subscription is active; messages that do not parse are dropped. */
export function subscribe<M>(pubsub: PubSub, channel: Channel<M>, listener: (message: M) => void): Promise<Unsubscribe> {
  return pubsub.subscribe(channel.name, (raw) => {
    const message = channel.codec.parse(raw);
    if (message !== null) listener(message);
  });
}

/** Every tenant's channels of a kind (a worker or API process that serves them all); resolves once active. */
export function subscribeEveryTenant<M>(
  pubsub: PubSub,
  kind: Pick<ChannelKind<never, M>, 'everyTenant' | 'codec'>,
  listener: (message: M) => void,
): Promise<Unsubscribe> {
  return pubsub.subscribePattern(kind.everyTenant, (raw) => {
    const message = kind.codec.parse(raw);
    if (message !== null) listener(message);
  });
}

/** A channel's messages as an endless async iterator (see listen in pubsub.ts); those that do not parse are skipped. */
export async function listenTo<M>(pubsub: PubSub, channel: Channel<M>): Promise<AsyncIterableIterator<M>> {
  const raw = await listen(pubsub, channel.name);
  const iterator: AsyncIterableIterator<M> = {
    next: async () => {
      for (;;) {
        const next = await raw.next();
        if (next.done) return { value: undefined, done: true };
        const message = channel.codec.parse(next.value);
        if (message !== null) return { value: message, done: false };
      }
    },
    return: async () => {
      await raw.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
