// In-process publish/subscribe (embedded default): listeners are called synchronously in
// publish order, so every subscriber sees every event in order.
import type { PubSub, Unsubscribe } from './pubsub';

type Listener = (message: string, channel: string) => void;

/** A glob where `*` stands for any characters (as Redis matches PSUBSCRIBE patterns; its other wildcards are not used here). */
export function globMatcher(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`, 's');
}

export class InProcessPubSub implements PubSub {
  private readonly channels = new Map<string, Set<Listener>>();
  private readonly patterns = new Map<string, { matcher: RegExp; listeners: Set<Listener> }>();

  async publish(channel: string, message: string): Promise<void> {
    const listeners = [...(this.channels.get(channel) ?? [])];
    for (const { matcher, listeners: matched } of this.patterns.values()) if (matcher.test(channel)) listeners.push(...matched);
    for (const listener of listeners) listener(message, channel);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<Unsubscribe> {
    let set = this.channels.get(channel);
    if (!set) this.channels.set(channel, (set = new Set()));
    const own: Listener = (message) => listener(message);
    set.add(own);
    return async () => {
      set.delete(own);
      if (set.size === 0) this.channels.delete(channel);
    };
  }

  async subscribePattern(pattern: string, listener: Listener): Promise<Unsubscribe> {
    let entry = this.patterns.get(pattern);
    if (!entry) this.patterns.set(pattern, (entry = { matcher: globMatcher(pattern), listeners: new Set() }));
    const { listeners } = entry;
    const own: Listener = (message, channel) => listener(message, channel);
    listeners.add(own);
    return async () => {
      listeners.delete(own);
      if (listeners.size === 0) this.patterns.delete(pattern);
    };
  }

  async close(): Promise<void> {
    this.channels.clear();
    this.patterns.clear();
  }
}
