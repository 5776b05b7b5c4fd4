// Publish/subscribe over Redis (scaled out): one subscriber connection per process, fanned
// out locally, so 1,000 subscribers to one render cost one Redis subscription.
import { Redis } from 'ioredis';
import { settlesWithin } from '../common/deadline';
import type { PubSub } from './pubsub';

export class RedisPubSub implements PubSub {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  constructor(url: string) {
    // Reconnects forever with backoff; subscriptions are restored by ioredis on reconnect.
    const options = { maxRetriesPerRequest: null, retryStrategy: (times: number) => Math.min(times * 200, 2000) };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const listener of [...(this.channels.get(channel) ?? [])]) listener(message);
    });
    this.publisher.on('error', () => undefined);
    this.subscriber.on('error', () => undefined);
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(channel, message);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    let set = this.channels.get(channel);
    if (!set) {
      this.channels.set(channel, (set = new Set()));
      await this.subscriber.subscribe(channel);
    }
    const own = (message: string) => listener(message);
    set.add(own);
    return async () => {
      set.delete(own);
      if (set.size === 0 && this.channels.get(channel) === set) {
        this.channels.delete(channel);
        // While Redis is down the command waits in ioredis's queue for the reconnection: no
        // caller (a render's end, shutdown) should wait that long for it.
        await settlesWithin(this.subscriber.unsubscribe(channel), 1_000);
      }
    };
  }

  /** A polite QUIT, or, when Redis does not answer within 2 s, the connections dropped. */
  async close(): Promise<void> {
    this.channels.clear();
    const clients = [this.publisher, this.subscriber];
    if (!(await settlesWithin(Promise.allSettled(clients.map((c) => c.quit())), 2_000))) for (const c of clients) c.disconnect();
  }
}
