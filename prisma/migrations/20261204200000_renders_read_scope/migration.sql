-- The RENDERS_READ scope: reading person photos, outfits and renders without writing them.
-- AlterEnum
ALTER TYPE "ApiScope" ADD VALUE 'RENDERS_READ' BEFORE 'RENDERS_WRITE';
