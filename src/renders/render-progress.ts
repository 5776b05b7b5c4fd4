// Render progress as it travels over pub/sub: THE event type (the render's snapshot and where
// it stands), the one function that builds an event from a render, the tenant's channels of a
// render (its progress, its cancellation) and their encoding. Every publisher goes through
// renderEvent(), so the worker, a cancellation and a subscription's own reads say the same.
import type { Render } from './render-types';
import { channelKind, signalCodec, type Codec } from '../jobs/channels';

export interface RenderPreview {
  key: string;
  width: number;
  height: number;
}

export interface RenderEvent {
  /** The render as it was when the event was published (subscribers need no database read per event). */
  render: Render;
  step: number;
  totalSteps: number;
  /** Time left (ms): unknown (null) until the engine estimates it; 0 once the render is over. */
  etaMs: number | null;
  preview: RenderPreview | null;
  /** True for the last event of a render (its final state). */
  final: boolean;
  /** When it was published (ms since the epoch), for lag measurement. */
  publishedAt: number;
}

export function isTerminal(status: Render['status']): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELED';
}

/** What the engine reports of a step; without it the event says where the render's row stands. */
export interface StepReport {
  step: number;
  totalSteps: number;
  etaMs: number | null;
  preview?: RenderPreview | null;
}

/** The event for `render` now: at `progress` while it runs, else at its row's completed steps; final once it is over. */
export function renderEvent(render: Render, progress?: StepReport): RenderEvent {
  const over = isTerminal(render.status);
  return {
    render,
    step: progress?.step ?? render.completedSteps,
    totalSteps: progress?.totalSteps ?? render.steps,
    etaMs: progress ? progress.etaMs : over ? 0 : null,
    preview: progress?.preview ?? null,
    final: over,
    publishedAt: Date.now(),
  };
}

// Dates travel as { "$date": ms } and come back as Dates, whichever fields hold them: the
// snapshot's shape is the row's, and no list of its date fields is kept here.
const DATE_TAG = '$date';

export function encodeEvent(event: RenderEvent): string {
  return JSON.stringify(event, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    return raw instanceof Date ? { [DATE_TAG]: raw.getTime() } : value;
  });
}

export function decodeEvent(message: string): RenderEvent {
  return JSON.parse(message, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && DATE_TAG in value) {
      const ms = (value as Record<string, unknown>)[DATE_TAG];
      if (typeof ms === 'number') return new Date(ms);
    }
    return value;
  }) as RenderEvent;
}

/** Every subscriber of a render in a process receives the same message: parsed once (events are read-only). */
let lastDecoded: { message: string; event: RenderEvent | null } | null = null;

const renderEventCodec: Codec<RenderEvent> = {
  encode: encodeEvent,
  parse: (raw) => {
    if (lastDecoded?.message !== raw) {
      let event: RenderEvent | null = null;
      try {
        event = decodeEvent(raw);
      } catch {
        event = null;
      }
      lastDecoded = { message: raw, event };
    }
    return lastDecoded.event;
  },
};

/** `render:<tenantId>:<renderId>`: the render's progress events. */
export const renderProgressChannel = channelKind<[renderId: string], RenderEvent>('render', renderEventCodec);
/** `render-cancel:<tenantId>:<renderId>`: tells the worker running the render to stop. */
export const renderCancelChannel = channelKind<[renderId: string], true>('render-cancel', signalCodec('cancel'));
