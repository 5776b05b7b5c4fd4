// The sweep of uploads: an hour after its link expired, an upload goes (row and staged bytes),
// used or not (UploadService.deleteExpired).
import type { Sweep } from '../jobs/sweeper';
import type { Logger } from '../observability/logger';
import type { UploadService } from './upload-service';

export interface ExpiredUploadsSweepDeps {
  uploads: UploadService;
  logger: Logger;
}

export async function deleteExpiredUploads(deps: ExpiredUploadsSweepDeps, now: Date): Promise<number> {
  const count = await deps.uploads.deleteExpired(now);
  if (count > 0) deps.logger.info({ count }, 'deleted expired uploads');
  return count;
}

export function expiredUploadsSweep(deps: ExpiredUploadsSweepDeps): Sweep {
  return { run: (now) => deleteExpiredUploads(deps, now) };
}
