// The only code that touches renders.
import type { Garment, GarmentCategory, PersonEncoding, PersonPhoto, ReferenceCache } from '../generated/prisma/client';
import type { Render, RenderStatus } from './render-types';
import type { Database } from '../db/database';
import { keysetQuery, toPage, type Page, type PageRequest } from '../common/pagination';
import { isUniqueViolation } from '../common/user-errors';

export interface NewRender {
  id: string;
  outfitId: string;
  personPhotoId: string;
  shopperId: string | null;
  model: string;
  steps: number;
  guidanceScale: number;
  seed: number;
  idempotencyKey: string | null;
}

export type CreateRenderResult =
  /** `place`: the render's place in its tenant's backlog (QUEUED and RUNNING; 1: none), its queue priority. */
  | { kind: 'created'; render: Render; place: number }
  | { kind: 'existing'; render: Render }
  | { kind: 'over_quota'; active: number; limit: number };

export const ACTIVE: RenderStatus[] = ['QUEUED', 'RUNNING'];

/** What a worker needs to run a render, as its rows say when it starts. */
export interface RenderInputRows {
  /** The outfit's garments in outfit order, each with its cache row for the model (null: none yet). */
  garments: {
    garment: Pick<Garment, 'id' | 'category' | 'imageKey'>;
    cache: Pick<ReferenceCache, 'id' | 'status' | 'blobKey' | 'checksum' | 'updatedAt'> | null;
  }[];
  /** Null when the photo was deleted. */
  photo: Pick<PersonPhoto, 'id' | 'imageKey'> | null;
  /** The photo's encoding row for the model (null: none yet). */
  encoding: Pick<PersonEncoding, 'id' | 'status' | 'blobKey' | 'updatedAt'> | null;
}

/** One row of the inputs query: the render's state, its photo and encoding, with one garment of the outfit (null: the outfit has none). */
interface InputRow {
  startedAt: Date | null;
  queueMs: number | null;
  createdAt: Date;
  photoId: string;
  photoKey: string;
  encodingId: string | null;
  encodingStatus: PersonEncoding['status'] | null;
  encodingBlobKey: string | null;
  encodingUpdatedAt: Date | null;
  garmentId: string | null;
  category: GarmentCategory | null;
  garmentKey: string | null;
  cacheId: string | null;
  cacheStatus: ReferenceCache['status'] | null;
  cacheBlobKey: string | null;
  cacheChecksum: string | null;
  cacheUpdatedAt: Date | null;
}

export class RenderRepository {
  constructor(private readonly db: Database) {}

  /**
   * Writes a QUEUED render unless the idempotency key was used (returns that render) or the
   * tenant's QUEUED + RUNNING renders would exceed its limit. The tenant row is locked for
   * the check, so concurrent requests cannot both slip under the limit.
   */
  async create(tenantId: string, render: NewRender): Promise<CreateRenderResult> {
    const attempt = () =>
      this.db.withTenant(tenantId, async (tx): Promise<CreateRenderResult> => {
        if (render.idempotencyKey !== null) {
          const existing = await tx.render.findFirst({ where: { tenantId, idempotencyKey: render.idempotencyKey } });
          if (existing) return { kind: 'existing', render: existing };
        }
        const [tenant] = await tx.$queryRaw<{ max_concurrent_renders: number }[]>`
          SELECT max_concurrent_renders FROM tenants WHERE id = ${tenantId}::uuid FOR UPDATE`;
        const limit = tenant?.max_concurrent_renders ?? 0;
        const active = await tx.render.count({ where: { tenantId, status: { in: ACTIVE } } });
        if (active + 1 > limit) return { kind: 'over_quota', active, limit };
        // Renders running count too: a tenant holding slots waits behind one that holds none.
        return { kind: 'created', render: await tx.render.create({ data: { ...render, tenantId } }), place: active + 1 };
      });
    try {
      return await attempt();
    } catch (error) {
      // Two requests with one idempotency key at once: the loser returns the winner's render.
      if (isUniqueViolation(error) && render.idempotencyKey !== null) return attempt();
      throw error;
    }
  }

  findByIds(tenantId: string, ids: readonly string[], shopperId: string | null): Promise<Render[]> {
    return this.db.withTenant(tenantId, (tx) =>
      tx.render.findMany({ where: { tenantId, id: { in: [...ids] }, ...(shopperId ? { shopperId } : {}) } }),
    );
  }

  list(tenantId: string, page: PageRequest, filter: { shopperId: string | null; status?: RenderStatus }): Promise<Page<Render>> {
    const where = {
      tenantId,
      ...(filter.shopperId ? { shopperId: filter.shopperId } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    return this.db.withTenant(tenantId, async (tx) => {
      const q = keysetQuery(page);
      const [rows, total] = await Promise.all([tx.render.findMany({ ...q, where: { ...where, ...q.where } }), tx.render.count({ where })]);
      return toPage(rows, page, total);
    });
  }

  /** QUEUED or RUNNING -> CANCELED; returns the render as it is afterwards (null when missing). */
  cancel(tenantId: string, id: string, shopperId: string | null): Promise<{ render: Render; canceled: boolean } | null> {
    return this.db.withTenant(tenantId, async (tx) => {
      const { count } = await tx.render.updateMany({
        where: { id, tenantId, status: { in: ACTIVE }, ...(shopperId ? { shopperId } : {}) },
        data: { status: 'CANCELED', finishedAt: new Date() },
      });
      const render = await tx.render.findFirst({ where: { id, tenantId, ...(shopperId ? { shopperId } : {}) } });
      return render ? { render, canceled: count === 1 } : null;
    });
  }

  /**
   * A worker takes the render (QUEUED/RUNNING -> RUNNING, one more attempt) and reads its inputs
   * in the same transaction: one turn of the (embedded) database instead of one per table, and
   * two statements: one reads the render's state with
   * its inputs (the photo with its encoding row, the outfit's garments with their cache rows
   * of `model`: the columns a worker needs; the render domain only reads those tables), one
   * marks it RUNNING. Null when the render is no longer active.
   */
  startWithInputs(tenantId: string, id: string, now: Date, model: string): Promise<{ render: Render; inputs: RenderInputRows } | null> {
    return this.db.withTenant(tenantId, async (tx) => {
      // FOR UPDATE OF r: of two workers given the same job (a stalled one's, retried), the second
      // waits for the first's start and keeps its startedAt and queueMs.
      const rows = await tx.$queryRaw<InputRow[]>`
        SELECT r.started_at AS "startedAt", r.queue_ms AS "queueMs", r.created_at AS "createdAt",
               p.id AS "photoId", p.image_key AS "photoKey",
               e.id AS "encodingId", e.status::text AS "encodingStatus", e.blob_key AS "encodingBlobKey", e.updated_at AS "encodingUpdatedAt",
               g.id AS "garmentId", g.category::text AS "category", g.image_key AS "garmentKey",
               c.id AS "cacheId", c.status::text AS "cacheStatus", c.blob_key AS "cacheBlobKey", c.checksum AS "cacheChecksum", c.updated_at AS "cacheUpdatedAt"
        FROM renders r
        JOIN person_photos p ON p.id = r.person_photo_id AND p.tenant_id = r.tenant_id
        LEFT JOIN person_encodings e ON e.photo_id = p.id AND e.model = ${model}
        LEFT JOIN (outfit_items i
                   JOIN garments g ON g.id = i.garment_id
                   LEFT JOIN reference_caches c ON c.garment_id = g.id AND c.model = ${model})
          ON i.outfit_id = r.outfit_id AND i.tenant_id = r.tenant_id
        WHERE r.id = ${id}::uuid AND r.tenant_id = ${tenantId}::uuid AND r.status IN ('QUEUED', 'RUNNING')
        ORDER BY i.position
        FOR UPDATE OF r`;
      const current = rows[0];
      if (!current) return null;
      const render = await tx.render.update({
        where: { id },
        data: {
          status: 'RUNNING',
          attempts: { increment: 1 },
          startedAt: current.startedAt ?? now,
          queueMs: current.queueMs ?? now.getTime() - current.createdAt.getTime(),
          heartbeatAt: now,
          completedSteps: 0,
        },
      });
      return { render, inputs: toInputRows(rows) };
    });
  }

  /** Progress of a RUNNING render (no effect once it was canceled). */
  async progress(tenantId: string, id: string, completedSteps: number, now: Date): Promise<void> {
    await this.db.withTenant(tenantId, (tx) =>
      tx.render.updateMany({ where: { id, tenantId, status: 'RUNNING' }, data: { completedSteps, heartbeatAt: now } }),
    );
  }

  /** RUNNING -> a final state; null when it is no longer RUNNING (canceled meanwhile). */
  finish(tenantId: string, id: string, data: Partial<Render> & { status: RenderStatus }): Promise<Render | null> {
    return this.db.withTenant(tenantId, async (tx) => {
      const { count } = await tx.render.updateMany({
        where: { id, tenantId, status: 'RUNNING' },
        data: { ...data, finishedAt: new Date() },
      });
      return count === 1 ? tx.render.findFirst({ where: { id } }) : null;
    });
  }

  /** RUNNING -> QUEUED, to be retried after an infrastructure failure. */
  async requeue(tenantId: string, id: string): Promise<void> {
    await this.db.withTenant(tenantId, (tx) =>
      tx.render.updateMany({ where: { id, tenantId, status: 'RUNNING' }, data: { status: 'QUEUED', completedSteps: 0 } }),
    );
  }

  /** Deletes every render of a person photo; returns them as they were. */
  deleteByPhoto(tenantId: string, personPhotoId: string): Promise<Render[]> {
    return this.db.withTenant(tenantId, async (tx) => {
      const renders = await tx.render.findMany({ where: { tenantId, personPhotoId } });
      await tx.render.deleteMany({ where: { tenantId, id: { in: renders.map((r) => r.id) } } });
      return renders;
    });
  }

  find(tenantId: string, id: string): Promise<Render | null> {
    return this.db.withTenant(tenantId, (tx) => tx.render.findFirst({ where: { id, tenantId } }));
  }

  /** Platform-wide: active renders that may have lost their job (QUEUED since, or RUNNING without a heartbeat since), oldest first. */
  findStale(queuedBefore: Date, heartbeatBefore: Date, limit = 500): Promise<Pick<Render, 'id' | 'tenantId' | 'status'>[]> {
    return this.db.withSystem((tx) =>
      tx.render.findMany({
        where: {
          OR: [
            { status: 'QUEUED', createdAt: { lt: queuedBefore } },
            { status: 'RUNNING', OR: [{ heartbeatAt: { lt: heartbeatBefore } }, { heartbeatAt: null }] },
          ],
        },
        select: { id: true, tenantId: true, status: true },
        orderBy: { createdAt: 'asc' },
        take: limit,
      }),
    );
  }

  /** Platform-wide: results older than their tenant's retention. */
  async findExpiredResults(now: Date, limit = 500): Promise<{ id: string; tenantId: string; resultKey: string }[]> {
    return this.db.withSystem(
      (tx) =>
        tx.$queryRaw<{ id: string; tenantId: string; resultKey: string }[]>`
        SELECT r.id, r.tenant_id AS "tenantId", r.result_key AS "resultKey"
        FROM renders r JOIN tenants t ON t.id = r.tenant_id
        WHERE r.result_key IS NOT NULL
          AND r.finished_at < ${now}::timestamptz - make_interval(hours => t.result_retention_hours)
        ORDER BY r.finished_at
        LIMIT ${limit}`,
    );
  }

  async markResultExpired(tenantId: string, id: string): Promise<void> {
    await this.db.withTenant(tenantId, (tx) =>
      tx.render.updateMany({ where: { id, tenantId }, data: { resultKey: null, resultExpired: true } }),
    );
  }
}

function toInputRows(rows: InputRow[]): RenderInputRows {
  const first = rows[0];
  if (!first) return { garments: [], photo: null, encoding: null };
  return {
    photo: { id: first.photoId, imageKey: first.photoKey },
    encoding:
      first.encodingId && first.encodingStatus && first.encodingUpdatedAt
        ? { id: first.encodingId, status: first.encodingStatus, blobKey: first.encodingBlobKey, updatedAt: first.encodingUpdatedAt }
        : null,
    garments: rows.flatMap((row) =>
      row.garmentId && row.category && row.garmentKey
        ? [
            {
              garment: { id: row.garmentId, category: row.category, imageKey: row.garmentKey },
              cache:
                row.cacheId && row.cacheStatus && row.cacheUpdatedAt
                  ? {
                      id: row.cacheId,
                      status: row.cacheStatus,
                      blobKey: row.cacheBlobKey,
                      checksum: row.cacheChecksum,
                      updatedAt: row.cacheUpdatedAt,
                    }
                  : null,
            },
          ]
        : [],
    ),
  };
}
