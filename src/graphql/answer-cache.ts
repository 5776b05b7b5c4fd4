// Answers of cacheable reads (the catalog: fields with @cacheControl in schema.graphql), kept
// serialized and served before Apollo: a catalog page is read constantly and changes rarely,
// and going through Apollo's pipeline for a stored answer costs several times more than
// sending it. An answer is shared by the viewers of one kind in one tenant (API keys see
// archived garments, shoppers do not) and keyed by the tenant's catalog version, read when the
// request arrives: any garment or reference cache write moves it, so an answer is never
// served after a change, in any API process (catalog-versions.ts). Its max age (the cache hint,
// read from the document by cache-policy.ts) bounds a missed announcement.
import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type express from 'express';
import type { Viewer } from '../auth/viewer';
import { BoundedMap } from '../common/bounded-map';
import type { CatalogVersions } from '../garments/catalog-versions';
import type { Metrics } from '../observability/metrics';
import type { GraphQLContext, PendingAnswer } from './kit/context';
import type { CachePolicies } from './cache-policy';

/** Apollo's media type for a request without an Accept header (or one that accepts anything or JSON). */
const JSON_TYPE = 'application/json; charset=utf-8';

export interface AnswerCacheOptions {
  /** Most answers kept; the oldest is dropped first. Default 1000. */
  maxEntries?: number;
}

export class AnswerCache {
  private readonly entries: BoundedMap<string, Buffer>;

  constructor(
    private readonly catalogVersions: CatalogVersions,
    options: AnswerCacheOptions = {},
    now: () => number = Date.now,
  ) {
    this.entries = new BoundedMap(options.maxEntries ?? 1000, now);
  }

  /**
   * The key of one POSTed operation, or null when its answer is not shared (no tenant viewer,
   * a batch, an Accept header asking for another media type). Computed when the request arrives.
   */
  keyFor(viewer: Viewer, body: unknown, accept: string | undefined): string | null {
    if (viewer.kind !== 'apiKey' && viewer.kind !== 'shopper') return null;
    if (accept !== undefined && accept !== '*/*' && accept !== 'application/json') return null;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
    const { query, variables, operationName } = body as Record<string, unknown>;
    if (typeof query !== 'string') return null;
    const version = this.catalogVersions.version(viewer.tenantId);
    return createHash('sha256')
      .update(JSON.stringify([viewer.kind, viewer.tenantId, version, query, variables ?? null, operationName ?? null]))
      .digest('base64url');
  }

  get(key: string): Buffer | undefined {
    return this.entries.get(key);
  }

  set(key: string, body: string, maxAgeSeconds: number): void {
    // Encoded once: every answer served from here is written as these bytes.
    this.entries.set(key, Buffer.from(body, 'utf8'), maxAgeSeconds * 1000);
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Decides, after Apollo answered, whether the answer may be shared: no errors, and a cache hint on every field (cache-policy.ts). */
export function answerCachePlugin(policies: CachePolicies): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response, document, operation }) {
          const pending = contextValue.answer;
          if (pending === undefined || response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          const policy = document && operation ? policies.policyOf(document, operation) : null;
          if (errors || !data || !policy || (response.http.status ?? 200) !== 200) return;
          pending.maxAgeSeconds = policy.maxAge;
        },
      };
    },
  };
}

/**
 * Serves a stored answer before Apollo, or notes the request's key (res.locals.answer) for the
 * plugin to judge Apollo's answer; a shareable one is kept as the very string Apollo sends
 * (res.send), so it is byte-identical and serialized once. Runs after the rate limit and the query limits. The
 * authentication it starts is left in res.locals.viewer for Apollo's context, so a request is
 * authenticated once; a token that does not authenticate goes on to Apollo, which refuses it.
 */
export function answerCacheMiddleware(
  cache: AnswerCache,
  authenticate: (authorization: string | undefined) => Promise<Viewer>,
  metrics: Metrics,
): express.RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST') {
      next();
      return;
    }
    const pending = authenticate(req.headers.authorization);
    res.locals['viewer'] = pending;
    pending.then(
      (viewer) => {
        const key = cache.keyFor(viewer, req.body, req.headers.accept);
        if (key === null) return next();
        const body = cache.get(key);
        if (body === undefined) {
          const pending: PendingAnswer = { key };
          res.locals['answer'] = pending;
          const send = res.send;
          res.send = function sendAndKeep(this: express.Response, sent?: unknown) {
            if (pending.maxAgeSeconds !== undefined && typeof sent === 'string' && res.statusCode === 200)
              cache.set(key, sent, pending.maxAgeSeconds);
            return send.call(this, sent);
          };
          return next();
        }
        metrics.answerCacheHits.inc();
        res.status(200).setHeader('content-type', JSON_TYPE);
        res.end(body);
      },
      () => next(),
    );
  };
}
