// FromStructuralSchema<S>: the TypeScript type of a node of a structural CRD schema
// (schemas/crds/), by json-schema-to-ts. The API server prunes every field a structural schema
// does not name unless the node carries x-kubernetes-preserve-unknown-fields, so an object node
// with properties is read as closed (additionalProperties: false, which CRDs may not write), and
// a preserve-unknown-fields node stays open ([field: string]: unknown).

import type { FromSchema, JSONSchema } from 'json-schema-to-ts';

type PreservesUnknown = { readonly 'x-kubernetes-preserve-unknown-fields': true };

/** S with every object node that has properties, no additionalProperties and no preserve flag closed. */
type Pruned<S> = S extends PreservesUnknown
  ? Children<S>
  : S extends { readonly properties: object; readonly additionalProperties?: never }
    ? Children<S> & { readonly additionalProperties: false }
    : Children<S>;

type Children<S> = {
  [K in keyof S]: K extends 'properties'
    ? { [P in keyof S[K]]: Pruned<S[K][P]> }
    : K extends 'items' | 'additionalProperties'
      ? Pruned<S[K]>
      : K extends 'anyOf' | 'oneOf' | 'allOf'
        ? PrunedEach<S[K]>
        : S[K];
};

/** Over a type parameter, so a tuple of schemas stays a tuple. */
type PrunedEach<T> = { [I in keyof T]: Pruned<T[I]> };

export type FromStructuralSchema<S> = Pruned<S> extends infer P extends JSONSchema ? FromSchema<P> : never;
