-- CreateEnum
CREATE TYPE "GarmentCategory" AS ENUM ('TOP', 'BOTTOM', 'DRESS', 'SHOES', 'BAG');

-- CreateEnum
CREATE TYPE "ApiScope" AS ENUM ('CATALOG_READ', 'CATALOG_WRITE', 'RENDERS_WRITE', 'ADMIN');

-- CreateEnum
CREATE TYPE "ReferenceCacheStatus" AS ENUM ('PENDING', 'READY', 'FAILED');

-- CreateEnum
CREATE TYPE "RenderStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELED');

-- CreateEnum
CREATE TYPE "UploadStatus" AS ENUM ('PENDING', 'RECEIVED', 'CONSUMED');

-- CreateTable
CREATE TABLE "tenants" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "max_concurrent_renders" INTEGER NOT NULL DEFAULT 4,
    "result_retention_hours" INTEGER NOT NULL DEFAULT 72,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "tenants_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "scopes" "ApiScope"[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "shoppers" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "external_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "shoppers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "uploads" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "shopper_id" UUID,
    "content_type" TEXT NOT NULL,
    "byte_size" INTEGER NOT NULL,
    "status" "UploadStatus" NOT NULL DEFAULT 'PENDING',
    "blob_key" TEXT,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "uploads_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "garments" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "sku" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "category" "GarmentCategory" NOT NULL,
    "image_key" TEXT NOT NULL,
    "image_width" INTEGER NOT NULL,
    "image_height" INTEGER NOT NULL,
    "image_content_type" TEXT NOT NULL,
    "archived" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "garments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reference_caches" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "garment_id" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "status" "ReferenceCacheStatus" NOT NULL DEFAULT 'PENDING',
    "blob_key" TEXT,
    "bytes" INTEGER,
    "checksum" TEXT,
    "compute_ms" DOUBLE PRECISION,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reference_caches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "person_photos" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "shopper_id" UUID,
    "image_key" TEXT NOT NULL,
    "image_width" INTEGER NOT NULL,
    "image_height" INTEGER NOT NULL,
    "image_content_type" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "person_photos_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outfits" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "shopper_id" UUID,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outfits_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outfit_items" (
    "outfit_id" UUID NOT NULL,
    "garment_id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "category" "GarmentCategory" NOT NULL,
    "position" INTEGER NOT NULL,

    CONSTRAINT "outfit_items_pkey" PRIMARY KEY ("outfit_id","category")
);

-- CreateTable
CREATE TABLE "renders" (
    "id" UUID NOT NULL,
    "tenant_id" UUID NOT NULL,
    "outfit_id" UUID NOT NULL,
    "person_photo_id" UUID NOT NULL,
    "shopper_id" UUID,
    "model" TEXT NOT NULL,
    "status" "RenderStatus" NOT NULL DEFAULT 'QUEUED',
    "steps" INTEGER NOT NULL,
    "completed_steps" INTEGER NOT NULL DEFAULT 0,
    "guidance_scale" DOUBLE PRECISION NOT NULL,
    "seed" INTEGER NOT NULL,
    "idempotency_key" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "result_key" TEXT,
    "result_width" INTEGER,
    "result_height" INTEGER,
    "result_expired" BOOLEAN NOT NULL DEFAULT false,
    "error_code" TEXT,
    "error_message" TEXT,
    "queue_ms" DOUBLE PRECISION,
    "reference_ms" DOUBLE PRECISION,
    "denoise_ms" DOUBLE PRECISION,
    "decode_ms" DOUBLE PRECISION,
    "total_ms" DOUBLE PRECISION,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "renders_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_secret_hash_key" ON "api_keys"("secret_hash");

-- CreateIndex
CREATE INDEX "api_keys_tenant_id_created_at_idx" ON "api_keys"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "shoppers_tenant_id_idx" ON "shoppers"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "shoppers_tenant_id_external_id_key" ON "shoppers"("tenant_id", "external_id");

-- CreateIndex
CREATE INDEX "uploads_tenant_id_idx" ON "uploads"("tenant_id");

-- CreateIndex
CREATE INDEX "garments_tenant_id_created_at_id_idx" ON "garments"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "garments_tenant_id_category_created_at_id_idx" ON "garments"("tenant_id", "category", "created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "garments_tenant_id_sku_key" ON "garments"("tenant_id", "sku");

-- CreateIndex
CREATE INDEX "reference_caches_tenant_id_idx" ON "reference_caches"("tenant_id");

-- CreateIndex
CREATE UNIQUE INDEX "reference_caches_garment_id_model_key" ON "reference_caches"("garment_id", "model");

-- CreateIndex
CREATE INDEX "person_photos_tenant_id_created_at_idx" ON "person_photos"("tenant_id", "created_at");

-- CreateIndex
CREATE INDEX "person_photos_tenant_id_shopper_id_idx" ON "person_photos"("tenant_id", "shopper_id");

-- CreateIndex
CREATE INDEX "outfits_tenant_id_created_at_id_idx" ON "outfits"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "outfits_tenant_id_shopper_id_idx" ON "outfits"("tenant_id", "shopper_id");

-- CreateIndex
CREATE INDEX "outfit_items_tenant_id_idx" ON "outfit_items"("tenant_id");

-- CreateIndex
CREATE INDEX "outfit_items_garment_id_idx" ON "outfit_items"("garment_id");

-- CreateIndex
CREATE INDEX "renders_tenant_id_created_at_id_idx" ON "renders"("tenant_id", "created_at", "id");

-- CreateIndex
CREATE INDEX "renders_tenant_id_status_idx" ON "renders"("tenant_id", "status");

-- CreateIndex
CREATE UNIQUE INDEX "renders_tenant_id_idempotency_key_key" ON "renders"("tenant_id", "idempotency_key");

-- AddForeignKey
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "shoppers" ADD CONSTRAINT "shoppers_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "uploads" ADD CONSTRAINT "uploads_shopper_id_fkey" FOREIGN KEY ("shopper_id") REFERENCES "shoppers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "garments" ADD CONSTRAINT "garments_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reference_caches" ADD CONSTRAINT "reference_caches_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "reference_caches" ADD CONSTRAINT "reference_caches_garment_id_fkey" FOREIGN KEY ("garment_id") REFERENCES "garments"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "person_photos" ADD CONSTRAINT "person_photos_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "person_photos" ADD CONSTRAINT "person_photos_shopper_id_fkey" FOREIGN KEY ("shopper_id") REFERENCES "shoppers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outfits" ADD CONSTRAINT "outfits_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outfits" ADD CONSTRAINT "outfits_shopper_id_fkey" FOREIGN KEY ("shopper_id") REFERENCES "shoppers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outfit_items" ADD CONSTRAINT "outfit_items_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outfit_items" ADD CONSTRAINT "outfit_items_outfit_id_fkey" FOREIGN KEY ("outfit_id") REFERENCES "outfits"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outfit_items" ADD CONSTRAINT "outfit_items_garment_id_fkey" FOREIGN KEY ("garment_id") REFERENCES "garments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "renders" ADD CONSTRAINT "renders_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "renders" ADD CONSTRAINT "renders_outfit_id_fkey" FOREIGN KEY ("outfit_id") REFERENCES "outfits"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "renders" ADD CONSTRAINT "renders_person_photo_id_fkey" FOREIGN KEY ("person_photo_id") REFERENCES "person_photos"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "renders" ADD CONSTRAINT "renders_shopper_id_fkey" FOREIGN KEY ("shopper_id") REFERENCES "shoppers"("id") ON DELETE SET NULL ON UPDATE CASCADE;
