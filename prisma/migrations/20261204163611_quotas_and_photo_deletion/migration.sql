-- Quotas and deletePersonPhoto: image sizes for the tenant's storage quota (images stored
-- before this migration count 0: their sizes are known only to the blob store), the indexes
-- of the per-shopper count and of the sweeps of unused uploads and lost encodings, and a
-- photo's renders deleted with it.
-- DropForeignKey
ALTER TABLE "renders" DROP CONSTRAINT "renders_person_photo_id_fkey";

-- DropIndex
DROP INDEX "uploads_tenant_id_idx";

-- AlterTable
ALTER TABLE "garments" ADD COLUMN     "image_bytes" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "person_photos" ADD COLUMN     "image_bytes" INTEGER NOT NULL DEFAULT 0;

-- CreateIndex
CREATE INDEX "person_encodings_status_updated_at_idx" ON "person_encodings"("status", "updated_at");

-- CreateIndex
CREATE INDEX "renders_person_photo_id_idx" ON "renders"("person_photo_id");

-- CreateIndex
CREATE INDEX "uploads_tenant_id_shopper_id_status_idx" ON "uploads"("tenant_id", "shopper_id", "status");

-- CreateIndex
CREATE INDEX "uploads_expires_at_idx" ON "uploads"("expires_at");

-- AddForeignKey
ALTER TABLE "renders" ADD CONSTRAINT "renders_person_photo_id_fkey" FOREIGN KEY ("person_photo_id") REFERENCES "person_photos"("id") ON DELETE CASCADE ON UPDATE CASCADE;
