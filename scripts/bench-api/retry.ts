// ok() again on a dropped keep-alive socket ("fetch failed"), for idempotent calls.
import { ok } from '../../test/support/graphql-client';
import { sleep } from '../bench-support';

export async function okRetry<T>(...call: Parameters<typeof ok>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await ok<T>(...call);
    } catch (error) {
      if (attempt >= 3 || !String((error as Error)?.message).includes('fetch failed')) throw error;
      await sleep(100);
    }
  }
}
