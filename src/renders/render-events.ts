// Render progress events as they travel over pub/sub: the channel names (tenant included)
// and the JSON shape, with the render row so subscribers need no database read per event.
import type { Render } from './render-types';

export const progressChannel = (tenantId: string, renderId: string) => `render:${tenantId}:${renderId}`;
export const cancelChannel = (tenantId: string, renderId: string) => `render-cancel:${tenantId}:${renderId}`;

export interface RenderEvent {
  render: Render;
  step: number;
  totalSteps: number;
  etaMs: number | null;
  preview: { key: string; width: number; height: number } | null;
  /** True for the last event of a render (its final state). */
  final: boolean;
  /** When the worker published it (ms since the epoch), for lag measurement. */
  publishedAt: number;
}

const DATE_FIELDS = ['createdAt', 'startedAt', 'finishedAt', 'heartbeatAt'] as const;

export function encodeEvent(event: RenderEvent): string {
  return JSON.stringify(event);
}

export function decodeEvent(message: string): RenderEvent {
  const event = JSON.parse(message) as RenderEvent;
  const render = event.render as unknown as Record<string, unknown>;
  for (const field of DATE_FIELDS) {
    const value = render[field];
    render[field] = typeof value === 'string' ? new Date(value) : null;
  }
  return event;
}

export function isTerminal(status: Render['status']): boolean {
  return status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELED';
}
