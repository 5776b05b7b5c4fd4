// The shapes resolvers receive as parents: database rows plus a few view objects.
// codegen maps GraphQL types to these (codegen.ts, "mappers").
import type {
  ApiKey,
  Garment,
  Outfit,
  PersonPhoto,
  Render,
  Shopper,
  Tenant,
  WebhookDelivery,
  WebhookEndpoint,
} from '../generated/prisma/client';

export type TenantModel = Tenant;
export type ApiKeyModel = ApiKey;
export type ShopperModel = Shopper;
export type GarmentModel = Garment;
export type OutfitModel = Outfit;
export type PersonPhotoModel = PersonPhoto;
export type RenderModel = Render;
export type WebhookEndpointModel = WebhookEndpoint;
export type WebhookDeliveryModel = WebhookDelivery;

/** A stored image: the Image type's url is signed when it is resolved. */
export interface ImageModel {
  key: string;
  width: number;
  height: number;
  contentType: string;
}

export interface ReferenceCacheModel {
  status: 'PENDING' | 'READY' | 'FAILED';
  model: string;
  bytes: number | null;
  computeMs: number | null;
  error: string | null;
  updatedAt: Date;
}

export interface RenderProgressModel {
  render: Render;
  status: Render['status'];
  step: number;
  totalSteps: number;
  preview: ImageModel | null;
  etaMs: number | null;
}
