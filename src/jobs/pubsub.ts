// Publish/subscribe for live events (render progress, cancellation): in-process or Redis.
// Channels carry the tenant (see channels.ts); messages are JSON strings.
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; returns its unsubscribe function. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
