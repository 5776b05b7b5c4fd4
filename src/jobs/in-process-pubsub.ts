// In-process publish/subscribe (embedded default): listeners are called synchronously in
// publish order, so every subscriber sees every event in order.
import type { PubSub } from './pubsub';

export class InProcessPubSub implements PubSub {
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  async publish(channel: string, message: string): Promise<void> {
    for (const listener of [...(this.channels.get(channel) ?? [])]) listener(message);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    const own = (message: string) => listener(message);
    set.add(own);
    return async () => {
      set.delete(own);
      if (set.size === 0) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}
