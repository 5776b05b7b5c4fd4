// Typed pub/sub channels: names carry the tenant first, messages are encoded and parsed in one
// place (one that does not parse is dropped), and a pattern subscription hears every tenant's
// channels of a kind, in process and over Redis (when TEST_REDIS_URL is set).
import { randomBytes } from 'node:crypto';
import { InProcessPubSub, globMatcher } from '../../src/jobs/in-process-pubsub';
import { RedisPubSub } from '../../src/jobs/redis-pubsub';
import type { PubSub } from '../../src/jobs/pubsub';
import { channelKind, jsonCodec, listenTo, publish, stringFields, subscribe, subscribeEveryTenant } from '../../src/jobs/channels';
import { garmentArchivedChannel } from '../../src/garments/catalog-events';
import { photoDeletedChannel } from '../../src/photos/photo-events';
import { apiKeyRevokedChannel } from '../../src/auth/api-key-revocations';
import { catalogChangedChannel } from '../../src/garments/catalog-versions';
import { decodeEvent, encodeEvent, renderEvent, renderProgressChannel } from '../../src/renders/render-progress';
import { previewDemandChannel } from '../../src/renders/preview-demand';
import type { Render } from '../../src/generated/prisma/client';

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('channel names and codecs', () => {
  test('every channel is named by its tenant, then its other ids', () => {
    expect(garmentArchivedChannel('t1').name).toBe('garment-archived:t1');
    expect(photoDeletedChannel('t1').name).toBe('photo-deleted:t1');
    expect(apiKeyRevokedChannel('t1').name).toBe('api-key-revoked:t1');
    expect(catalogChangedChannel('t1').name).toBe('catalog-changed:t1');
    expect(renderProgressChannel('t1', 'r1').name).toBe('render:t1:r1');
    expect(previewDemandChannel('t1', 'r1').name).toBe('render-previews:t1:r1');
    expect(garmentArchivedChannel.everyTenant).toBe('garment-archived:*');
  });

  test('a JSON codec keeps only well-formed messages', () => {
    const kind = channelKind<[], { a: string }>(
      'k',
      jsonCodec((v) => stringFields(v, 'a')),
    );
    expect(kind.codec.parse(kind.codec.encode({ a: 'x' }))).toEqual({ a: 'x' });
    for (const raw of ['', 'not json', 'null', '[]', '{"a":1}']) expect(kind.codec.parse(raw)).toBeNull();
    expect(previewDemandChannel.codec.parse('-5')).toBeNull();
    expect(previewDemandChannel.codec.parse('3000')).toBe(3000);
  });

  test("a render event's snapshot comes back with its dates, whichever fields hold them", () => {
    const render = {
      id: 'r1',
      tenantId: 't1',
      status: 'RUNNING',
      steps: 4,
      completedSteps: 2,
      createdAt: new Date(1_000),
      startedAt: new Date(2_000),
      finishedAt: null,
    } as unknown as Render;
    const event = renderEvent(render);
    expect(event).toMatchObject({ step: 2, totalSteps: 4, etaMs: null, preview: null, final: false });
    const decoded = decodeEvent(encodeEvent(event));
    expect(decoded).toEqual(event);
    expect(decoded.render.startedAt).toBeInstanceOf(Date);
    expect(renderEvent({ ...render, status: 'SUCCEEDED' })).toMatchObject({ etaMs: 0, final: true });
  });

  test('globs match as Redis does for *', () => {
    expect(globMatcher('a:*').test('a:t1')).toBe(true);
    expect(globMatcher('a:*').test('a:t1:r1')).toBe(true);
    expect(globMatcher('a:*').test('ab:t1')).toBe(false);
    expect(globMatcher('a.b:*').test('axb:t1')).toBe(false);
  });
});

const drivers: [string, () => PubSub][] = [['in process', () => new InProcessPubSub()]];
if (process.env.TEST_REDIS_URL) drivers.push(['redis', () => new RedisPubSub(process.env.TEST_REDIS_URL!)]);

describe.each(drivers)('typed channels over pub/sub (%s)', (_name, open) => {
  let pubsub: PubSub;
  // Unique tenant ids: a Redis shared with other tests hears only this run's messages.
  const tenant = () => `t-${randomBytes(6).toString('hex')}`;
  beforeEach(() => {
    pubsub = open();
  });
  afterEach(() => pubsub.close());

  test('a subscriber hears its channel only, parsed; malformed messages are dropped', async () => {
    const [t1, t2] = [tenant(), tenant()];
    const heard: unknown[] = [];
    const stop = await subscribe(pubsub, photoDeletedChannel(t1), (m) => heard.push(m));
    await publish(pubsub, photoDeletedChannel(t2), { tenantId: t2, photoId: 'p2' });
    await pubsub.publish(photoDeletedChannel(t1).name, '{ not json');
    await publish(pubsub, photoDeletedChannel(t1), { tenantId: t1, photoId: 'p1' });
    await settle();
    expect(heard).toEqual([{ tenantId: t1, photoId: 'p1' }]);
    await stop();
  });

  test("a pattern subscription hears every tenant's channels of its kind, and stops", async () => {
    const [t1, t2] = [tenant(), tenant()];
    const heard: unknown[] = [];
    const stop = await subscribeEveryTenant(pubsub, garmentArchivedChannel, (m) => heard.push(m));
    const alsoHeard: string[] = [];
    const stopRaw = await pubsub.subscribePattern(garmentArchivedChannel.everyTenant, (_m, channel) => alsoHeard.push(channel));
    await publish(pubsub, garmentArchivedChannel(t1), { tenantId: t1, garmentId: 'g1' });
    await publish(pubsub, garmentArchivedChannel(t2), { tenantId: t2, garmentId: 'g2' });
    await publish(pubsub, photoDeletedChannel(t1), { tenantId: t1, photoId: 'p1' });
    await settle();
    const ours = (m: unknown) => [t1, t2].includes((m as { tenantId: string }).tenantId);
    expect(heard.filter(ours)).toEqual([
      { tenantId: t1, garmentId: 'g1' },
      { tenantId: t2, garmentId: 'g2' },
    ]);
    expect(alsoHeard).toEqual(expect.arrayContaining([`garment-archived:${t1}`, `garment-archived:${t2}`]));
    await stop();
    await stopRaw();
    heard.length = 0;
    await publish(pubsub, garmentArchivedChannel(t1), { tenantId: t1, garmentId: 'g3' });
    await settle();
    expect(heard).toEqual([]);
  });

  test('listenTo yields parsed messages in order', async () => {
    const t1 = tenant();
    const messages = await listenTo(pubsub, previewDemandChannel(t1, 'r1'));
    await pubsub.publish(previewDemandChannel(t1, 'r1').name, 'nonsense');
    await publish(pubsub, previewDemandChannel(t1, 'r1'), 1_000);
    await publish(pubsub, previewDemandChannel(t1, 'r1'), 2_000);
    expect(await messages.next()).toEqual({ value: 1_000, done: false });
    expect(await messages.next()).toEqual({ value: 2_000, done: false });
    await messages.return!();
  });
});
