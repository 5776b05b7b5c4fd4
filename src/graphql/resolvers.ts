// All resolvers, merged from the domain modules: the one list of domains in the API. A domain
// brings its resolvers and its Node types (kit/nodes.ts says where a new Node type's files go).
import type { Resolvers } from '../generated/graphql';
import { tenantNodes, tenantResolvers } from '../tenants/tenant-resolvers';
import { shopperNodes, shopperResolvers } from '../shoppers/shopper-resolvers';
import { photoNodes, photoResolvers } from '../photos/photo-resolvers';
import { garmentNodes, garmentResolvers } from '../garments/garment-resolvers';
import { outfitNodes, outfitResolvers } from '../outfits/outfit-resolvers';
import { renderNodes, renderResolvers } from '../renders/render-resolvers';
import { webhookNodes, webhookResolvers } from '../webhooks/webhook-resolvers';
import type { NodeRegistration } from './kit/nodes';
import { createNodeResolvers } from './node-resolvers';

const domains: { resolvers: Resolvers; nodes: readonly NodeRegistration[] }[] = [
  { resolvers: tenantResolvers, nodes: tenantNodes },
  { resolvers: shopperResolvers, nodes: shopperNodes },
  { resolvers: photoResolvers, nodes: photoNodes },
  { resolvers: garmentResolvers, nodes: garmentNodes },
  { resolvers: outfitResolvers, nodes: outfitNodes },
  { resolvers: renderResolvers, nodes: renderNodes },
  { resolvers: webhookResolvers, nodes: webhookNodes },
];

export const resolvers: Resolvers[] = [
  createNodeResolvers(domains.flatMap((domain) => domain.nodes)),
  ...domains.map((domain) => domain.resolvers),
];
