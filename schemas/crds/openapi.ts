// Builders for structural OpenAPI v3 schemas, the dialect CRDs require: every node typed, no
// additionalProperties: false, keyed lists declared as maps so server-side apply merges them.
// Each builder keeps the literal type of the node it returns, so schemas/types/ derives the
// InstanceSet and Cluster types from these nodes (schemas/types/from-structural-schema.ts).

import { API_VERSION, GROUP, VERSION } from '../types/labels.js';

/** Any schema node. */
export type OpenApi = { readonly [keyword: string]: unknown };

type Rule = { rule: string; message: string };

// Overloads, not a defaulted type parameter: called without `extra` inside another builder, a
// type parameter would be inferred from the surrounding OpenApi and lose the node's own type.
export function str(description: string): { type: 'string'; description: string };
export function str<const X extends OpenApi>(description: string, extra: X): { type: 'string'; description: string } & X;
export function str(description: string, extra: OpenApi = {}): OpenApi {
  return { type: 'string', description, ...extra };
}
export function int(description: string): { type: 'integer'; format: 'int32'; description: string };
export function int<const X extends OpenApi>(description: string, extra: X): { type: 'integer'; format: 'int32'; description: string } & X;
export function int(description: string, extra: OpenApi = {}): OpenApi {
  return { type: 'integer', format: 'int32', description, ...extra };
}
export const bool = (description: string) => ({ type: 'boolean' as const, description });
export const strEnum = <const V extends readonly string[]>(description: string, values: V) => ({ type: 'string' as const, enum: [...values] as [...V], description });
export const strMap = (description: string) => ({ type: 'object' as const, description, additionalProperties: { type: 'string' as const } });

/** An object node; `required` only names properties it has, and is left out when empty. */
export type ObjNode<P extends Record<string, OpenApi>, R extends readonly (keyof P & string)[]> = {
  type: 'object';
  description: string;
  properties: P;
} & (R extends readonly [] ? unknown : { required: R });
export const obj = <const P extends Record<string, OpenApi>, const R extends readonly (keyof P & string)[] = []>(
  description: string,
  properties: P,
  required: R = [] as unknown as R,
): ObjNode<P, R> =>
  ({
    type: 'object',
    description,
    properties,
    ...(required.length ? { required } : {}),
  }) as ObjNode<P, R>;
/** A list of objects keyed by `keys`: merged item by item under server-side apply. */
export const mapList = <const K extends readonly string[], const I extends OpenApi>(description: string, keys: K, item: I) => ({
  type: 'array' as const,
  description,
  items: item,
  'x-kubernetes-list-type': 'map' as const,
  'x-kubernetes-list-map-keys': keys,
});
export const setList = <const I extends OpenApi>(description: string, item: I) => ({ type: 'array' as const, description, items: item, 'x-kubernetes-list-type': 'set' as const });
export const atomicList = <const I extends OpenApi>(description: string, item: I) => ({ type: 'array' as const, description, items: item, 'x-kubernetes-list-type': 'atomic' as const });
/** Kubernetes-owned shapes we do not restate (pod template, PVC spec). */
export const opaque = (description: string) => ({ type: 'object' as const, description, 'x-kubernetes-preserve-unknown-fields': true as const });
const quantity = {
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  'x-kubernetes-int-or-string': true,
} as const;
export const resources = (description: string) =>
  obj(description, {
    requests: { type: 'object', description: 'Minimum resources, e.g. cpu: 500m, memory: 1Gi.', additionalProperties: quantity },
    limits: { type: 'object', description: 'Maximum resources.', additionalProperties: quantity },
  });

export const conditions = mapList('Latest observations of the object\'s state.', ['type'], obj(
  'One condition (metav1.Condition).',
  {
    type: str('Condition type, e.g. Ready.', { maxLength: 316 }),
    status: strEnum('True, False or Unknown.', ['True', 'False', 'Unknown']),
    reason: str('Machine-readable reason in CamelCase.', { maxLength: 1024 }),
    message: str('Human-readable detail.', { maxLength: 32768 }),
    lastTransitionTime: str('When status last changed.', { format: 'date-time' }),
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0, description: 'Generation the condition was set from.' },
  },
  ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
));

/** The schema of a whole object of a dbtopo CRD; metadata is the API server's (ObjectMeta). */
export const objectSchema = <const S extends OpenApi, const T extends OpenApi>(kind: string, description: string, spec: S, status: T) => ({
  type: 'object' as const,
  description,
  properties: {
    apiVersion: { type: 'string' as const, description: API_VERSION },
    kind: { type: 'string' as const, description: kind },
    metadata: { type: 'object' as const },
    spec,
    status,
  },
  required: ['spec'] as const,
});

export const age = { name: 'AGE', type: 'date', jsonPath: '.metadata.creationTimestamp' } as const;

/**
 * A namespaced dbtopo CRD of one served and stored version (VERSION): names from kind, plural,
 * singular and short names; printer columns followed by AGE. Keeps the literal types of the
 * subresources, columns and schema, which tests and schemas/types/ read.
 */
export const namespacedCrd = <const Sub extends OpenApi, const C extends readonly OpenApi[], const S extends OpenApi>(o: {
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  subresources: Sub;
  columns: C;
  schema: S;
}) => ({
  apiVersion: 'apiextensions.k8s.io/v1' as const,
  kind: 'CustomResourceDefinition' as const,
  metadata: { name: `${o.plural}.${GROUP}` },
  spec: {
    group: GROUP,
    names: { kind: o.kind, listKind: `${o.kind}List`, plural: o.plural, singular: o.singular, shortNames: [...o.shortNames], categories: ['dbtopo'] },
    scope: 'Namespaced' as const,
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: o.subresources,
        additionalPrinterColumns: [...o.columns, age] as [...C, typeof age],
        schema: { openAPIV3Schema: o.schema },
      },
    ],
  },
});

/** Adds CEL validation rules (x-kubernetes-validations) to a schema node; returns the node. */
export function withRules<N extends OpenApi>(node: N, rules: readonly Rule[]): N {
  const open = node as Record<string, unknown>;
  open['x-kubernetes-validations'] = [...((open['x-kubernetes-validations'] as unknown[] | undefined) ?? []), ...rules];
  return node;
}

/** Marks property `key` of an object node immutable once set (a transition rule on the field). */
export function immutable<N extends { properties: Record<string, OpenApi> }>(node: N, key: keyof N['properties'] & string, message: string): void {
  const props = node.properties;
  const field = props[key];
  if (field === undefined) throw new Error(`immutable: no property ${key}`);
  withRules(field, [{ rule: 'self == oldSelf', message }]);
}

/**
 * core/v1 PodTemplateSpec, structural where the controller relies on it (labels, annotations,
 * containers with a name and an image) and open beyond that: the API server checks the rest
 * when the controller creates each pod.
 */
export const podTemplate = obj(
  'Pod template (core/v1 PodTemplateSpec) the controller copies into each pod.',
  {
    metadata: obj('Labels and annotations of every pod.', {
      // bounded so the API server can bound the cost of the CEL rule that reads them
      labels: { ...strMap('Pod labels; must include spec.selector.matchLabels.'), maxProperties: 64, additionalProperties: { type: 'string', maxLength: 63 } },
      annotations: strMap('Pod annotations.'),
    }),
    spec: {
      type: 'object',
      description: 'core/v1 PodSpec.',
      'x-kubernetes-preserve-unknown-fields': true,
      required: ['containers'],
      properties: {
        containers: {
          type: 'array',
          description: 'Containers of every pod; the engine container first.',
          minItems: 1,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            description: 'core/v1 Container.',
            'x-kubernetes-preserve-unknown-fields': true,
            required: ['name', 'image'],
            properties: { name: str('Container name.', { minLength: 1 }), image: str('Container image.', { minLength: 1 }) },
          },
        },
      },
    },
  },
  ['spec'],
);
