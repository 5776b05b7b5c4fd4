// One delivery attempt: a POST to the endpoint with node:http(s), so the connection can be held
// to public addresses (public-address.ts). Redirects are not followed; the body of the answer
// is not read.
import http from 'node:http';
import https from 'node:https';
import { ipLiteral, isPublicAddress, PrivateAddressError, publicOnlyLookup } from './public-address';

export interface PostOptions {
  timeoutMs: number;
  /** Allow loopback and private addresses (development, tests, an operator's own network). */
  allowPrivateNetworks: boolean;
}

export class PostTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** Resolves with the HTTP status; rejects on a refused address, a network error or the timeout. */
export function postWebhook(url: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<number> {
  const target = new URL(url);
  const literal = ipLiteral(target.hostname);
  if (!options.allowPrivateNetworks && literal !== null && !isPublicAddress(literal)) {
    return Promise.reject(new PrivateAddressError());
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        ...(options.allowPrivateNetworks ? {} : { lookup: publicOnlyLookup }),
        agent: false,
      },
      (response) => {
        response.resume(); // drain without reading
        resolve(response.statusCode ?? 0);
      },
    );
    request.setTimeout(options.timeoutMs, () => request.destroy(new PostTimeoutError(options.timeoutMs)));
    request.on('error', reject);
    request.end(body);
  });
}
