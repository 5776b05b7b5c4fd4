// GraphQL resolvers of person photos.
import type { Resolvers } from '../generated/graphql';
import { fromGlobalId, optionalGlobalId, toGlobalId } from '../common/ids';
import { parsePageArgs, toConnection } from '../common/pagination';
import { payload } from '../graphql/kit/payloads';
import type { NodeRegistration } from '../graphql/kit/nodes';

export const photoResolvers: Resolvers = {
  Query: {
    personPhotos: async (_, args, { services, viewer }) => {
      const page = parsePageArgs(args.first, args.after);
      return toConnection(await services.photos.listPhotos(viewer, page), page);
    },
  },
  Mutation: {
    uploadPersonPhoto: async (_, { input }, { services, viewer }) => {
      const shopperId = optionalGlobalId(input.shopperId, 'Shopper');
      return payload('personPhoto', await services.photos.uploadPersonPhoto(viewer, { image: input.image, shopperId }));
    },
    deletePersonPhoto: async (_, { id }, { services, viewer }) => {
      const outcome = await services.photos.deletePersonPhoto(viewer, fromGlobalId(id, 'PersonPhoto'));
      return payload('deletedPersonPhotoId', outcome.ok ? { ok: true, value: toGlobalId('PersonPhoto', outcome.value.id) } : outcome);
    },
  },
  PersonPhoto: {
    id: (photo) => toGlobalId('PersonPhoto', photo.id),
    image: (photo) => ({ key: photo.imageKey, width: photo.imageWidth, height: photo.imageHeight, contentType: photo.imageContentType }),
    shopper: (photo, _, { loaders }) => (photo.shopperId ? loaders.shopper.load(photo.shopperId) : null),
  },
};

export const photoNodes: NodeRegistration[] = [{ type: 'PersonPhoto', load: (uuid, { loaders }) => loaders.personPhoto.load(uuid) }];
