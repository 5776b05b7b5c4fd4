// The sweeps re-enqueue what a lost queue forgot: a reference cache or a person encoding left
// PENDING (its job was lost with Redis, or with the embedded server's in-memory queue) gets its
// job again; a READY one does not.
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createTenant, pngDataUrl, uploadPersonPhoto } from '../support/graphql-client';
import { InProcessJobQueue } from '../../src/jobs/in-process-queue';
import { requeuePendingReferenceCaches } from '../../src/garments/reference-cache-jobs';
import { requeuePendingPersonEncodings } from '../../src/photos/person-encoding-jobs';
import { GarmentRepository } from '../../src/garments/garment-repository';
import { PhotoRepository } from '../../src/photos/photo-repository';
import { fromGlobalId } from '../../src/common/ids';
import type { JobPayloads } from '../../src/jobs/job-queue';

describe.each(databaseKinds())('sweeps on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind); // role api: nothing consumes the server's own queue
  });
  afterAll(() => server.stop());

  const sweepsOn = (queue: InProcessJobQueue) => {
    const deps = {
      garments: new GarmentRepository(server.db, server.catalogVersions),
      photos: new PhotoRepository(server.db),
      queue,
      logger: server.logger,
    };
    return {
      requeuePendingCaches: (updatedBefore: Date) => requeuePendingReferenceCaches(deps, updatedBefore),
      requeuePendingEncodings: (updatedBefore: Date) => requeuePendingPersonEncodings(deps, updatedBefore),
    };
  };

  test('a PENDING reference cache whose job was lost is enqueued again; READY ones are left alone', async () => {
    const tenant = await createTenant(server.url);
    const tenantId = fromGlobalId(tenant.id, 'Tenant')!;
    const lost = fromGlobalId(await createGarment(server.url, tenant.adminKey, 'LOST', 'TOP'), 'Garment')!;
    const done = fromGlobalId(await createGarment(server.url, tenant.adminKey, 'DONE', 'BAG'), 'Garment')!;
    const garments = new GarmentRepository(server.db, server.catalogVersions);
    const model = server.services.garments.defaultModel;
    const ready = await garments.ensureCache(tenantId, done, model, '00000000-0000-4000-8000-0000000000d0');
    await garments.markCacheReady(tenantId, ready.id, { blobKey: 'k', bytes: 1, checksum: 'c', computeMs: 1 });

    // A fresh queue stands for one that lost its data.
    const queue = new InProcessJobQueue();
    const received: JobPayloads['reference-cache'][] = [];
    queue.process('reference-cache', async (payload) => {
      received.push(payload);
    });
    const sweeps = sweepsOn(queue);
    // Not yet past the grace period: nothing.
    expect(await sweeps.requeuePendingCaches(new Date(Date.now() - 60_000))).toBe(0);
    expect(await sweeps.requeuePendingCaches(new Date(Date.now() + 1_000))).toBe(1);
    await queue.close();
    expect(received).toEqual([{ tenantId, garmentId: lost, model }]);
  });

  test("a photo's encoding is PENDING from its upload; when its job was lost it is enqueued again, a READY one is not", async () => {
    const tenant = await createTenant(server.url);
    const tenantId = fromGlobalId(tenant.id, 'Tenant')!;
    const upload = async () => fromGlobalId(await uploadPersonPhoto(server.url, tenant.adminKey, await pngDataUrl()), 'PersonPhoto')!;
    const lost = await upload();
    const done = await upload();
    const model = server.services.garments.defaultModel;
    const photos = new PhotoRepository(server.db);
    const encodings = await server.db.withTenant(tenantId, (tx) => tx.personEncoding.findMany({ orderBy: { createdAt: 'asc' } }));
    expect(encodings.map((e) => [e.photoId, e.model, e.status])).toEqual([
      [lost, model, 'PENDING'],
      [done, model, 'PENDING'],
    ]);
    await photos.markEncodingReady(tenantId, encodings[1]!.id, { blobKey: 'k', bytes: 1, computeMs: 1 });

    const queue = new InProcessJobQueue();
    const received: JobPayloads['person-encoding'][] = [];
    queue.process('person-encoding', async (payload) => {
      received.push(payload);
    });
    const sweeps = sweepsOn(queue);
    expect(await sweeps.requeuePendingEncodings(new Date(Date.now() - 60_000))).toBe(0);
    expect(await sweeps.requeuePendingEncodings(new Date(Date.now() + 1_000))).toBe(1);
    await queue.close();
    expect(received).toEqual([{ tenantId, photoId: lost, model }]);
  });
});
