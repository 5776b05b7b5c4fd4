// DEMO ONLY: plays the retailer's back end for the demo tenant, so the shopper page works
// without one. A real back end authenticates its shopper, then calls createShopper and
// createShopperSession with its API key and hands the session token to the browser; the
// browser never holds a tenant key. Here the "authentication" is a random visitor id the
// page keeps in localStorage: whoever has it acts as that demo shopper, which is acceptable
// only because the demo tenant holds nothing but sample data. Enabled only when the demo
// tenant exists and ATELIER_DEMO is not off; it answers callers on loopback only (unless
// ATELIER_DEMO_ALLOW_REMOTE), and each remote address may create only so many new visitors an
// hour, since each costs a shopper, copies of the sample photos and their encoding jobs.
import ipaddr from 'ipaddr.js';
import type { TokenBuckets } from '../limits';
import type { Shopper } from '../shoppers/shopper-types';
import type { DemoCredentials, DemoServices } from './demo-tenant';
import type { DemoSamples } from './demo-samples';

/** What the page sends: 128 bits or more of randomness, base64url or hex. */
export const VISITOR_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;

/** Why a demo session was refused: a closed set, answered with the status src/http/error-codes.ts maps it to. */
export const DEMO_SESSION_ERROR_CODES = ['INVALID_VISITOR', 'DEMO_LOOPBACK_ONLY', 'DEMO_VISITOR_LIMIT', 'DEMO_UNAVAILABLE'] as const;
export type DemoSessionErrorCode = (typeof DEMO_SESSION_ERROR_CODES)[number];

export type DemoSessionResult =
  | { kind: 'ok'; token: string; expiresAt: Date }
  /** retryAfterMs: with DEMO_VISITOR_LIMIT, when this address may create a visitor again. */
  | { kind: 'refused'; code: DemoSessionErrorCode; message: string; retryAfterMs?: number };

const refused = (code: DemoSessionErrorCode, message: string, retryAfterMs?: number): DemoSessionResult => ({
  kind: 'refused',
  code,
  message,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

/** Who may use POST /demo/session (ATELIER_DEMO_ALLOW_REMOTE, ATELIER_DEMO_VISITORS_PER_HOUR). */
export interface DemoAccess {
  /** Callers off loopback too. */
  allowRemote: boolean;
  /** New visitors per remote address per hour; 0: no limit. */
  newVisitorsPerHour: number;
}

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && ipaddr.isValid(address) && ipaddr.process(address).range() === 'loopback';
}

export class DemoSessions {
  constructor(
    private readonly services: DemoServices,
    private readonly credentials: DemoCredentials,
    private readonly samples: DemoSamples | null,
    private readonly access: DemoAccess,
    /** The rate-limit buckets (shared through Redis when there is one): here, new visitors per address. */
    private readonly buckets: TokenBuckets,
  ) {}

  /**
   * A fresh one-hour session for the visitor's shopper; a new shopper gets the sample person
   * photos. `remoteAddress`: the caller's (the socket's peer; no proxy headers are trusted).
   */
  async createSession(visitor: unknown, remoteAddress: string | undefined): Promise<DemoSessionResult> {
    if (!this.access.allowRemote && !isLoopback(remoteAddress)) {
      return refused('DEMO_LOOPBACK_ONLY', 'the demo session endpoint answers only callers on this machine (ATELIER_DEMO_ALLOW_REMOTE)');
    }
    if (typeof visitor !== 'string' || !VISITOR_PATTERN.test(visitor)) {
      return refused('INVALID_VISITOR', 'visitor must be 22 to 64 characters of [A-Za-z0-9_-]');
    }
    let viewer;
    try {
      viewer = await this.services.authenticator.authenticate(this.credentials.apiKey);
    } catch {
      return refused('DEMO_UNAVAILABLE', 'the demo API key no longer works (revoked, or the database was reset)');
    }
    const externalId = `demo-visitor-${visitor}`;
    let shopper: Shopper | null = await this.services.shoppers.findByExternalId(viewer, externalId);
    if (!shopper) {
      const perHour = this.access.newVisitorsPerHour;
      if (perHour > 0) {
        const taken = await this.buckets.take(`demo-visitors:${remoteAddress ?? 'unknown'}`, { perSecond: perHour / 3600, burst: perHour });
        if (!taken.allowed) {
          return refused('DEMO_VISITOR_LIMIT', 'this address created too many demo visitors; try again later', taken.retryAfterMs);
        }
      }
      const created = await this.services.shoppers.createShopper(viewer, { externalId });
      if (created.ok) {
        shopper = created.value;
        // The samples become the new shopper's own photos: a shopper sees only its own.
        // Oldest first, so the first sample is the newest photo: the one the page shows first.
        for (const person of [...(this.samples?.persons ?? [])].reverse()) {
          await this.services.photos.uploadPersonPhoto(viewer, { image: { dataUrl: person.dataUrl }, shopperId: shopper.id });
        }
      } else {
        // Created meanwhile by a parallel request of the same visitor.
        shopper = await this.services.shoppers.findByExternalId(viewer, externalId);
      }
    }
    if (!shopper) return refused('DEMO_UNAVAILABLE', 'could not create the demo shopper');
    const session = await this.services.shoppers.createSession(viewer, shopper.id);
    if (!session.ok) return refused('DEMO_UNAVAILABLE', session.errors.map((e) => e.message).join('; '));
    return { kind: 'ok', ...session.value };
  }
}
