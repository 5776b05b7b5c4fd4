// Renders: placeholder until the render pipeline lands (requestRender, workers, progress).
import type { Render } from '../generated/prisma/client';
import type { Viewer } from '../auth/viewer';

export interface RenderService {
  findRender(viewer: Viewer, id: string): Promise<Render | null>;
}
