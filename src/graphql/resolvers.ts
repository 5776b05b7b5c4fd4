// All resolvers, merged from the domain modules.
import type { Resolvers } from '../generated/graphql';
import { tenantResolvers } from '../tenants/tenant-resolvers';
import { shopperResolvers } from '../shoppers/shopper-resolvers';
import { photoResolvers } from '../photos/photo-resolvers';
import { garmentResolvers } from '../garments/garment-resolvers';
import { outfitResolvers } from '../outfits/outfit-resolvers';
import { renderResolvers } from '../renders/render-resolvers';
import { webhookResolvers } from '../webhooks/webhook-resolvers';
import { nodeResolvers } from './node-resolvers';

export const resolvers: Resolvers[] = [
  nodeResolvers,
  tenantResolvers,
  shopperResolvers,
  photoResolvers,
  garmentResolvers,
  outfitResolvers,
  renderResolvers,
  webhookResolvers,
];
