// The sweeps re-enqueue what a lost queue forgot: a reference cache left PENDING (its job was
// lost with Redis, or with the embedded server's in-memory queue) gets its job again; a READY
// one does not.
import { databaseKinds, startTestServer, type TestServer } from '../support/server';
import { createGarment, createTenant } from '../support/graphql-client';
import { InProcessJobQueue } from '../../src/jobs/in-process-queue';
import { Sweeps } from '../../src/worker/sweeps';
import { GarmentRepository } from '../../src/garments/garment-repository';
import { RenderRepository } from '../../src/renders/render-repository';
import { fromGlobalId } from '../../src/common/ids';
import type { JobPayloads } from '../../src/jobs/job-queue';
import { FileBlobStore } from '../../src/blobs';
import { join } from 'node:path';

describe.each(databaseKinds())('sweeps on %s', (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind); // role api: nothing consumes the server's own queue
  });
  afterAll(() => server.stop());

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
    const sweeps = new Sweeps(new RenderRepository(server.db), garments, queue, new FileBlobStore(join(server.dataDir, 'blobs')), server.logger);
    // Not yet past the grace period: nothing.
    expect(await sweeps.requeuePendingCaches(new Date(Date.now() - 60_000))).toBe(0);
    expect(await sweeps.requeuePendingCaches(new Date(Date.now() + 1_000))).toBe(1);
    await queue.close();
    expect(received).toEqual([{ tenantId, garmentId: lost, model }]);
  });
});
