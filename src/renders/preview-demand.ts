// Previews only while someone watches: a render makes previews only while a renderProgress
// subscription with previews: true is open for it, on any API process. Such a subscription
// leases the demand over pub/sub (the process announces it on the render's preview channel
// and renews it before the lease ends); the worker running the render follows the channel and
// makes previews while a lease is current. A subscriber that vanishes without a word costs at
// most one lease of previews.
import type { PubSub } from '../jobs/pubsub';
import { channelKind, publish, subscribe, type Channel } from '../jobs/channels';
import type { Logger } from '../observability/logger';

/** `render-previews:<tenantId>:<renderId>`; message: the lease (ms), a positive number. */
export const previewDemandChannel = channelKind<[renderId: string], number>('render-previews', {
  encode: (leaseMs) => String(leaseMs),
  parse: (raw) => {
    const leaseMs = Number(raw);
    return Number.isFinite(leaseMs) && leaseMs > 0 ? leaseMs : null;
  },
});

/** How long one announcement keeps a render's previews on (ms). */
export const PREVIEW_LEASE_MS = 3_000;
/** Announcements of a watched render are renewed this often (ms): a lease never runs out while someone watches. */
const RENEW_MS = 1_000;
/** A lease announced with a longer time is cut to this (ms). */
const MAX_LEASE_MS = 60_000;

/** One subscription's interest in a render's previews. */
export interface PreviewWatch {
  /**
   * The render's attempt `attempt` has just started (its step-0 event): announce the demand at
   * once, so its worker, which follows the channel from before that event, hears it before its
   * first steps. Once per attempt, however many subscribers of this process call it.
   */
  started(attempt: number): void;
  /** The subscription ended; the last one of this process for the render stops renewing. */
  stop(): void;
}

interface Watched {
  tenantId: string;
  renderId: string;
  watchers: number;
  timer: NodeJS.Timeout;
  announcedAttempt: number;
}

/** The API side: per process, one renewal timer per watched render, however many subscriptions watch it. */
export class PreviewWatchers {
  private readonly watched = new Map<string, Watched>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly logger: Logger,
    /** How long one announcement lasts, and how often a watched render's is renewed (ms); tests shorten them. */
    private readonly timing: { leaseMs: number; renewMs: number } = { leaseMs: PREVIEW_LEASE_MS, renewMs: RENEW_MS },
  ) {}

  watch(tenantId: string, renderId: string): PreviewWatch {
    const channel = previewDemandChannel(tenantId, renderId);
    const key = channel.name;
    let entry = this.watched.get(key);
    if (entry) entry.watchers += 1;
    else {
      const timer = setInterval(() => this.announce(channel, tenantId, renderId), this.timing.renewMs);
      timer.unref();
      entry = { tenantId, renderId, watchers: 1, timer, announcedAttempt: 0 };
      this.watched.set(key, entry);
      this.announce(channel, tenantId, renderId);
    }
    const own = entry;
    let stopped = false;
    return {
      started: (attempt) => {
        if (stopped || own.announcedAttempt >= attempt) return;
        own.announcedAttempt = attempt;
        this.announce(channel, tenantId, renderId);
      },
      stop: () => {
        if (stopped) return;
        stopped = true;
        own.watchers -= 1;
        if (own.watchers === 0) {
          clearInterval(own.timer);
          if (this.watched.get(key) === own) this.watched.delete(key);
        }
      },
    };
  }

  /** Renders watched with previews in this process (for tests and metrics). */
  get size(): number {
    return this.watched.size;
  }

  /** Best effort: a lost announcement is renewed within RENEW_MS. */
  private announce(channel: Channel<number>, tenantId: string, renderId: string): void {
    publish(this.pubsub, channel, this.timing.leaseMs).catch((error: unknown) =>
      this.logger.warn({ err: error, tenantId, renderId }, 'could not announce a preview demand'),
    );
  }
}

/** The worker side: whether anyone watches a render's previews now. */
export interface PreviewDemand {
  wanted(): boolean;
  stop(): Promise<void>;
}

/** Follows the render's preview channel; active once this resolves (subscribe before the render's step-0 event goes out). */
export async function followPreviewDemand(pubsub: PubSub, tenantId: string, renderId: string): Promise<PreviewDemand> {
  let wantedUntil = 0;
  const stop = await subscribe(pubsub, previewDemandChannel(tenantId, renderId), (leaseMs) => {
    wantedUntil = Math.max(wantedUntil, Date.now() + Math.min(leaseMs, MAX_LEASE_MS));
  });
  return { wanted: () => Date.now() < wantedUntil, stop };
}
