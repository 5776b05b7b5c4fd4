// listen(): a channel as an endless iterator that a subscriber can stop while it waits.
import { InProcessPubSub } from '../../src/jobs/in-process-pubsub';
import { listen } from '../../src/jobs/pubsub';

describe('listen', () => {
  test('yields messages in order, buffered or awaited', async () => {
    const pubsub = new InProcessPubSub();
    const messages = await listen(pubsub, 'c');
    await pubsub.publish('c', 'a');
    await pubsub.publish('c', 'b');
    expect(await messages.next()).toEqual({ value: 'a', done: false });
    expect(await messages.next()).toEqual({ value: 'b', done: false });
    const waiting = messages.next();
    await pubsub.publish('c', 'c');
    expect(await waiting).toEqual({ value: 'c', done: false });
    await messages.return!();
  });

  test('return() ends a pending next() and unsubscribes at once', async () => {
    const pubsub = new InProcessPubSub();
    const messages = await listen(pubsub, 'c');
    const waiting = messages.next();
    await messages.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect((pubsub as unknown as { channels: Map<string, unknown> }).channels.size).toBe(0);
    await pubsub.publish('c', 'late');
    expect(await messages.next()).toEqual({ value: undefined, done: true });
  });
});
