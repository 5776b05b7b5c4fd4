// Publish/subscribe over Redis (scaled out): one subscriber connection per process, fanned
// out locally, so 1,000 subscribers to one render cost one Redis subscription (and one
// PSUBSCRIBE per pattern, however many listeners follow it).
import { Redis } from 'ioredis';
import { settlesWithin } from '../common/deadline';
import type { PubSub, Unsubscribe } from './pubsub';

type Listener = (message: string, channel: string) => void;

export class RedisPubSub implements PubSub {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channels = new Map<string, Set<Listener>>();
  private readonly patterns = new Map<string, Set<Listener>>();

  constructor(url: string) {
    // Reconnects forever with backoff; subscriptions are restored by ioredis on reconnect.
    const options = { maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(times * 200, 2000) };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const listener of [...(this.channels.get(channel) ?? [])]) listener(message, channel);
    });
    this.subscriber.on('pmessage', (pattern: string, channel: string, message: string) => {
      for (const listener of [...(this.patterns.get(pattern) ?? [])]) listener(message, channel);
    });
    this.publisher.on('error', () => undefined);
    this.subscriber.on('error', () => undefined);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(channel, message);
  }

  subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe> {
    return this.follow(this.channels, channel, (message) => listener(message), {
      subscribe: (name) => this.subscriber.subscribe(name),
      unsubscribe: (name) => this.subscriber.unsubscribe(name),
    });
  }

  subscribePattern(pattern: string, listener: Listener): Promise<Unsubscribe> {
    return this.follow(this.patterns, pattern, listener, {
      subscribe: (name) => this.subscriber.psubscribe(name),
      unsubscribe: (name) => this.subscriber.punsubscribe(name),
    });
  }

  /** Adds a local listener; the first of a channel (or pattern) subscribes in Redis, the last one gone unsubscribes. */
  private async follow(
    table: Map<string, Set<Listener>>,
    name: string,
    listener: Listener,
    redis: { subscribe(name: string): Promise<unknown>; unsubscribe(name: string): Promise<unknown> },
  ): Promise<Unsubscribe> {
    let set = table.get(name);
    if (!set) {
      table.set(name, (set = new Set()));
      await redis.subscribe(name);
    }
    const own: Listener = (message, channel) => listener(message, channel);
    set.add(own);
    return async () => {
      set.delete(own);
      if (set.size === 0 && table.get(name) === set) {
        table.delete(name);
        // While Redis is down the command waits in ioredis's queue for the reconnection: no
        // caller (a render's end, shutdown) should wait that long for it.
        await settlesWithin(redis.unsubscribe(name), 1_000);
      }
    };
  }

  /** A polite QUIT, or, when Redis does not answer within 2 s, the connections dropped. */
  async close(): Promise<void> {
    this.channels.clear();
    this.patterns.clear();
    const clients = [this.publisher, this.subscriber];
    if (!(await settlesWithin(Promise.allSettled(clients.map((c) => c.quit())), 2_000))) for (const c of clients) c.disconnect();
  }
}
