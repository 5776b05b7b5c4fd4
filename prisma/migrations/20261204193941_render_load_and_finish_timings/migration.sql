-- Honest render timings (issue 14): reading the inputs (load_ms) and compositing, encoding and
-- storing the result (finish_ms), beside queue, reference, denoise and decode times.
-- AlterTable
ALTER TABLE "renders" ADD COLUMN     "finish_ms" DOUBLE PRECISION,
ADD COLUMN     "load_ms" DOUBLE PRECISION;
