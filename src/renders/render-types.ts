// The renders domain's types: what repositories return, services pass on and resolvers receive
// as parents (codegen.ts "mappers"). A database row is assignable to them as it is.
import type { StoredImage } from '../images/stored-image';

export type RenderStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';

export interface Render {
  id: string;
  tenantId: string;
  outfitId: string;
  personPhotoId: string;
  shopperId: string | null;
  /** The model version it renders with. */
  model: string;
  status: RenderStatus;
  steps: number;
  completedSteps: number;
  guidanceScale: number;
  seed: number;
  idempotencyKey: string | null;
  attempts: number;
  resultKey: string | null;
  resultWidth: number | null;
  resultHeight: number | null;
  resultExpired: boolean;
  errorCode: string | null;
  errorMessage: string | null;
  queueMs: number | null;
  loadMs: number | null;
  referenceMs: number | null;
  denoiseMs: number | null;
  decodeMs: number | null;
  finishMs: number | null;
  totalMs: number | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Last sign of life from the worker running it (stuck-render sweep). */
  heartbeatAt: Date | null;
}

/** What a renderProgress subscriber receives (the RenderProgress type). */
export interface RenderProgress {
  render: Render;
  status: RenderStatus;
  step: number;
  totalSteps: number;
  preview: StoredImage | null;
  etaMs: number | null;
}
