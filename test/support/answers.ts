// The data of a GraphQL answer as tests read it, typed from the schema's own types (no hand-kept
// shapes): every field a test reads is one it selected, so each is taken as present and non-null,
// and a DateTime is its JSON string. A test that needs an exact shape passes its own type.
import type {
  ApiKey,
  Garment,
  Mutation,
  Outfit,
  PersonPhoto,
  Query,
  Render,
  Shopper,
  Subscription,
  Tenant,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../src/generated/graphql';

export type Answered<T> = T extends Date
  ? string
  : T extends string | number | boolean
    ? T
    : T extends readonly (infer E)[]
      ? Answered<E>[]
      : { [K in Exclude<keyof T, '__typename'>]-?: Answered<NonNullable<T[K]>> };

/** The fields of every member of a union, each with the types it has across the members that have it. */
type Merged<U> = { [K in U extends unknown ? keyof U : never]: U extends unknown ? (K extends keyof U ? U[K] : never) : never };

/** What `node(id:)` answers: the fields its fragments select (`... on Render { status }`). */
export type NodeAnswer = Answered<
  Merged<Tenant | Garment | Shopper | PersonPhoto | Outfit | Render | ApiKey | WebhookEndpoint | WebhookDelivery>
>;

/** The introspection a bench reads: which fields a type has. */
interface TypeIntrospection {
  __type: { name: string; fields: { name: string }[] };
}

/** An answer's `data` when a test does not say its shape: any root field of the schema. */
export type AnswerData = Omit<Answered<Query & Mutation & Subscription>, 'node'> & { node: NodeAnswer } & TypeIntrospection;

/** A GraphQL error as it came over the wire, unchecked (tests of bad input read whatever came). */
export interface WireError {
  message?: string;
  extensions?: { code?: unknown };
}

/** A GraphQL answer as it came over the wire, unchecked; `error` is the REST routes' `{ error: { code } }`. */
export interface WireAnswer {
  data?: Record<string, unknown> | null;
  errors?: WireError[];
  error?: { code?: unknown };
}
