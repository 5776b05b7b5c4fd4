// Publish/subscribe for live events (render progress, cancellation): in-process or Redis.
// Channels carry the tenant and are typed in channels.ts; messages are strings.
export type Unsubscribe = () => Promise<void>;

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; returns its unsubscribe function. */
  subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe>;
  /**
   * Every channel whose name matches `pattern`, a glob where `*` stands for any characters
   * (Redis PSUBSCRIBE); resolves once active. The listener also gets the channel's name.
   */
  subscribePattern(pattern: string, listener: (message: string, channel: string) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}

/**
 * The messages of a channel as an endless async iterator, active once this resolves.
 * Written by hand rather than as an async generator: a generator waiting for the next
 * message cannot be stopped by return() until a message arrives, so a subscriber that goes
 * away would stay subscribed; here return() ends a pending next() and unsubscribes at once.
 */
export async function listen(pubsub: PubSub, channel: string): Promise<AsyncIterableIterator<string>> {
  const buffered: string[] = [];
  let waiting: ((result: IteratorResult<string>) => void) | null = null;
  let done = false;
  const unsubscribe = await pubsub.subscribe(channel, (message) => {
    if (done) return;
    if (waiting) {
      const resolve = waiting;
      waiting = null;
      resolve({ value: message, done: false });
    } else buffered.push(message);
  });
  const iterator: AsyncIterableIterator<string> = {
    next() {
      if (done) return Promise.resolve({ value: undefined, done: true });
      const message = buffered.shift();
      if (message !== undefined) return Promise.resolve({ value: message, done: false });
      return new Promise((resolve) => (waiting = resolve));
    },
    async return() {
      if (!done) {
        done = true;
        buffered.length = 0;
        waiting?.({ value: undefined, done: true });
        waiting = null;
        await unsubscribe();
      }
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
