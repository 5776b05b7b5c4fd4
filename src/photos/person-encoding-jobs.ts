// A person photo's encoding (the engine's encoding of the person, per model), worker side: the
// job that computes it (enqueued when a photo is uploaded), the photo and encoding a render
// needs (encoded on the spot when missing), the photos' images held between renders, the sweep
// that enqueues encodings whose job was lost, and dropping a deleted photo from memory.
import { randomUUID } from 'node:crypto';
import type { PersonEncoding, PersonPhoto } from './photo-types';
import { HotCache, type Engine, type HotBlob } from '../inference';
import { InferenceError, isPermanentEngineError } from '../inference/errors';
import type { BlobStore } from '../blobs';
import type { JobContext, JobQueue } from '../jobs/job-queue';
import type { PubSub, Unsubscribe } from '../jobs/pubsub';
import type { Sweep } from '../jobs/sweeper';
import { subscribeEveryTenant } from '../jobs/channels';
import { modelKeyPart } from '../jobs/job-keys';
import type { Logger } from '../observability/logger';
import type { PhotoRepository } from './photo-repository';
import { photoDeletedChannel } from './photo-events';

/** Tries of an encoding's job before its row is FAILED. */
const JOB_ATTEMPTS = 3;

/** A person encoding's content identity for the engine's hot cache: it changes whenever the encoding is written again. */
const encodingVersion = (row: { id: string; updatedAt: Date }): string => `${row.id}@${row.updatedAt.getTime()}`;

/** Where a photo's encoding for a model is stored (also its key in the engine's hot cache). */
const personEncodingKey = (tenantId: string, photoId: string, model: string) => `encodings/${tenantId}/${photoId}/${modelKeyPart(model)}`;

/** Enqueues encoding a person photo (API: on uploadPersonPhoto; the sweep). */
export function enqueuePersonEncoding(queue: JobQueue, tenantId: string, photoId: string, model: string): Promise<void> {
  return queue.enqueue(
    'person-encoding',
    { tenantId, photoId, model },
    { jobId: `${photoId}_${modelKeyPart(model)}`, attempts: JOB_ATTEMPTS, backoffMs: 1000 },
  );
}

/** The photo and its encoding row for the model, as a render read them (RenderInputRows). */
export interface RenderPersonRows {
  photo: Pick<PersonPhoto, 'id' | 'imageKey'>;
  encoding: Pick<PersonEncoding, 'id' | 'status' | 'blobKey' | 'updatedAt'> | null;
}

/** What a render gets of its person: the encoding as a hot blob, and the photo's image (for the composite). */
export interface RenderPerson {
  encoding: HotBlob;
  image: Buffer;
}

export interface PersonEncodingJobsDeps {
  engine: Engine;
  blobs: BlobStore;
  queue: JobQueue;
  pubsub: PubSub;
  photos: PhotoRepository;
  logger: Logger;
  /**
   * Bytes of person photos (their stored images, needed by every render for the composite) this
   * worker keeps between renders, least recently used out first. Default 0: read every time.
   */
  photoBytesHeld?: number;
}

export class PersonEncodingJobs {
  /** Photo images by photo id, at their blob key (a photo's image never changes; a deleted photo's goes). */
  private readonly photoImages: HotCache<Buffer>;

  constructor(private readonly deps: PersonEncodingJobsDeps) {
    this.photoImages = new HotCache(deps.photoBytesHeld ?? 0);
  }

  private get model(): string {
    return this.deps.engine.model.id;
  }

  /** The job; a failure that another attempt would meet again (or the last attempt's) marks the encoding FAILED. */
  async run(tenantId: string, photoId: string, ctx: JobContext): Promise<void> {
    const { photos } = this.deps;
    const [photo] = await photos.findByIds(tenantId, [photoId], null);
    if (!photo) return;
    try {
      await this.forRender(tenantId, { photo, encoding: await photos.ensureEncoding(tenantId, photoId, this.model, randomUUID()) });
    } catch (error) {
      if (!isPermanentEngineError(error) && ctx.attempt < ctx.maxAttempts) throw error;
      const encoding = await photos.ensureEncoding(tenantId, photoId, this.model, randomUUID());
      await photos.markEncodingFailed(tenantId, encoding.id, (error as Error).message.slice(0, 500));
    }
  }

  /**
   * A photo and its encoding for a render, from the encoding's row as the render read it: the
   * encoding as a hot blob (key: its blob key, version: row and write time) the engine reads
   * only when it does not hold it decoded; encoded first when missing, and again when its blob
   * is gone.
   */
  async forRender(tenantId: string, { photo, encoding: row }: RenderPersonRows): Promise<RenderPerson> {
    const image = await this.photoImage(photo);
    const encode = async (rowId: string): Promise<{ data: Buffer; version: string }> => {
      const encoded = await this.deps.engine.encodePerson(image);
      const blobKey = personEncodingKey(tenantId, photo.id, this.model);
      await this.deps.blobs.put(blobKey, encoded.data, 'application/octet-stream');
      const ready = await this.deps.photos.markEncodingReady(tenantId, rowId, {
        blobKey,
        bytes: encoded.data.length,
        computeMs: encoded.computeMs,
      });
      return { data: encoded.data, version: encodingVersion(ready) };
    };
    if (row?.status === 'READY' && row.blobKey) {
      const blobKey = row.blobKey;
      const rowId = row.id;
      const load = async (): Promise<Buffer> => (await this.deps.blobs.get(blobKey))?.data ?? (await encode(rowId)).data;
      return { encoding: { key: blobKey, version: encodingVersion(row), load }, image };
    }
    const encodingRow = row ?? (await this.deps.photos.ensureEncoding(tenantId, photo.id, this.model, randomUUID()));
    const { data, version } = await encode(encodingRow.id);
    return { encoding: { key: personEncodingKey(tenantId, photo.id, this.model), version, load: async () => data }, image };
  }

  /** A deleted photo's image and decoded encoding leave this worker's memory. */
  followDeleted(): Promise<Unsubscribe> {
    return subscribeEveryTenant(this.deps.pubsub, photoDeletedChannel, ({ tenantId, photoId }) => {
      this.photoImages.delete(photoId);
      this.deps.engine.forget([personEncodingKey(tenantId, photoId, this.model)]).catch(() => undefined);
    });
  }

  /** A photo's stored image: from memory when this worker read it before, else from the blob store (then kept). */
  private async photoImage(photo: RenderPersonRows['photo']): Promise<Buffer> {
    const held = this.photoImages.get(photo.id, photo.imageKey);
    if (held) return held;
    const image = await this.deps.blobs.get(photo.imageKey);
    if (!image) throw new InferenceError('INVALID_IMAGE', 'the person photo is missing from storage');
    this.photoImages.set(photo.id, photo.imageKey, image.data, image.data.length);
    return image.data;
  }
}

/** Registers the person-encoding job in this worker and follows deleted photos; returns the jobs (renders use them). */
export function registerPersonEncodingJobs(deps: PersonEncodingJobsDeps): PersonEncodingJobs {
  const jobs = new PersonEncodingJobs(deps);
  deps.queue.process('person-encoding', (p, ctx) => jobs.run(p.tenantId, p.photoId, ctx), { concurrency: 1 });
  jobs.followDeleted().catch((error: unknown) => deps.logger.warn({ err: error }, 'could not follow deleted photos'));
  return jobs;
}

export interface PendingEncodingSweepDeps {
  photos: PhotoRepository;
  queue: JobQueue;
  logger: Logger;
}

/** Enqueues the job of every encoding still PENDING since before `updatedBefore`, so no photo is left to be encoded by its first render. */
export async function requeuePendingPersonEncodings(deps: PendingEncodingSweepDeps, updatedBefore: Date): Promise<number> {
  const pending = await deps.photos.findStalePendingEncodings(updatedBefore);
  for (const encoding of pending) await enqueuePersonEncoding(deps.queue, encoding.tenantId, encoding.photoId, encoding.model);
  if (pending.length > 0) deps.logger.info({ count: pending.length }, 'enqueued person encodings whose job was lost');
  return pending.length;
}

/** The sweep of encodings PENDING for longer than `graceMs`; at start-up, of all of them. */
export function pendingPersonEncodingSweep(deps: PendingEncodingSweepDeps, graceMs: number): Sweep {
  return {
    run: (now) => requeuePendingPersonEncodings(deps, new Date(now.getTime() - graceMs)),
    resume: (now) => requeuePendingPersonEncodings(deps, now),
  };
}
