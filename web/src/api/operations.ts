// Every GraphQL operation of the web app. graphql-codegen (codegen.ts, client preset) reads
// them from here and generates their result and variable types from schema.graphql.
import { graphql } from '../generated';

// ---- shopper page --------------------------------------------------------------------

export const shopperHome = graphql(`
  query ShopperHome {
    personPhotos(first: 20) {
      edges {
        node {
          id
          createdAt
          image {
            url
            width
            height
          }
        }
      }
    }
  }
`);

export const shopperGarments = graphql(`
  query ShopperGarments($after: String) {
    garments(first: 100, after: $after) {
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          sku
          name
          category
          archived
          image {
            url
            width
            height
          }
        }
      }
    }
  }
`);

export const pastRenders = graphql(`
  query PastRenders {
    renders(first: 12) {
      edges {
        node {
          id
          status
          createdAt
          steps
          completedSteps
          result {
            url
            width
            height
          }
          personPhoto {
            id
            image {
              url
              width
              height
            }
          }
          outfit {
            id
            name
            garments {
              id
              name
              category
            }
          }
          error {
            code
            message
          }
        }
      }
    }
  }
`);

export const uploadPersonPhoto = graphql(`
  mutation UploadPersonPhoto($dataUrl: String!) {
    uploadPersonPhoto(input: { image: { dataUrl: $dataUrl } }) {
      personPhoto {
        id
        createdAt
        image {
          url
          width
          height
        }
      }
      userErrors {
        code
        message
        field
      }
    }
  }
`);

export const createOutfit = graphql(`
  mutation CreateOutfit($name: String!, $garmentIds: [ID!]!) {
    createOutfit(input: { name: $name, garmentIds: $garmentIds }) {
      outfit {
        id
      }
      userErrors {
        code
        message
        field
      }
    }
  }
`);

export const requestRender = graphql(`
  mutation RequestRender($outfitId: ID!, $personPhotoId: ID!) {
    requestRender(input: { outfitId: $outfitId, personPhotoId: $personPhotoId }) {
      render {
        id
        status
        steps
      }
      userErrors {
        code
        message
        field
      }
    }
  }
`);

export const cancelRender = graphql(`
  mutation CancelRender($id: ID!) {
    cancelRender(id: $id) {
      render {
        id
        status
      }
      userErrors {
        code
        message
      }
    }
  }
`);

export const renderProgress = graphql(`
  subscription RenderProgress($renderId: ID!) {
    renderProgress(renderId: $renderId, previews: true) {
      status
      step
      totalSteps
      etaMs
      preview {
        url
        width
        height
      }
      render {
        id
        status
        result {
          url
          width
          height
        }
        error {
          code
          message
        }
      }
    }
  }
`);

// ---- catalog page --------------------------------------------------------------------

export const catalog = graphql(`
  query Catalog($after: String) {
    tenant {
      id
      name
    }
    garments(first: 100, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          sku
          name
          category
          archived
          createdAt
          image {
            url
            width
            height
          }
          referenceCache {
            status
            computeMs
            error
          }
        }
      }
    }
  }
`);

export const recentRenders = graphql(`
  query RecentRenders {
    renders(first: 10) {
      edges {
        node {
          id
          status
          createdAt
          steps
          completedSteps
          outfit {
            id
            garments {
              id
              name
            }
          }
          timings {
            queueMs
            loadMs
            referenceMs
            denoiseMs
            decodeMs
            finishMs
            totalMs
          }
          error {
            code
            message
          }
        }
      }
    }
  }
`);

export const createGarment = graphql(`
  mutation CreateGarment($input: CreateGarmentInput!) {
    createGarment(input: $input) {
      garment {
        id
        sku
        name
        category
        archived
        createdAt
        image {
          url
          width
          height
        }
        referenceCache {
          status
          computeMs
          error
        }
      }
      userErrors {
        code
        message
        field
      }
    }
  }
`);

export const archiveGarment = graphql(`
  mutation ArchiveGarment($id: ID!) {
    archiveGarment(id: $id) {
      garment {
        id
        archived
      }
      userErrors {
        code
        message
      }
    }
  }
`);

export const retryReferenceCache = graphql(`
  mutation RetryReferenceCache($garmentId: ID!) {
    retryReferenceCache(garmentId: $garmentId) {
      garment {
        id
        referenceCache {
          status
          computeMs
          error
        }
      }
      userErrors {
        code
        message
      }
    }
  }
`);

export const referenceCacheChanged = graphql(`
  subscription ReferenceCacheChanged {
    referenceCacheChanged {
      id
      referenceCache {
        status
        computeMs
        error
      }
    }
  }
`);
