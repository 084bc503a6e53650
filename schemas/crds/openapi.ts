// Builders for structural OpenAPI v3 schemas, the dialect CRDs require: every node typed, no
// additionalProperties: false, keyed lists declared as maps so server-side apply merges them.

export type OpenApi = Record<string, unknown>;

export const str = (description: string, extra: OpenApi = {}): OpenApi => ({ type: 'string', description, ...extra });
export const int = (description: string, extra: OpenApi = {}): OpenApi => ({ type: 'integer', format: 'int32', description, ...extra });
export const bool = (description: string): OpenApi => ({ type: 'boolean', description });
export const strEnum = (description: string, values: readonly string[]): OpenApi => ({ type: 'string', enum: [...values], description });
export const strMap = (description: string): OpenApi => ({ type: 'object', description, additionalProperties: { type: 'string' } });
export const obj = (description: string, properties: Record<string, OpenApi>, required: string[] = []): OpenApi => ({
  type: 'object',
  description,
  properties,
  ...(required.length ? { required } : {}),
});
/** A list of objects keyed by `keys`: merged item by item under server-side apply. */
export const mapList = (description: string, keys: string[], item: OpenApi): OpenApi => ({
  type: 'array',
  description,
  items: item,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': keys,
});
export const setList = (description: string, item: OpenApi): OpenApi => ({ type: 'array', description, items: item, 'x-kubernetes-list-type': 'set' });
export const atomicList = (description: string, item: OpenApi): OpenApi => ({ type: 'array', description, items: item, 'x-kubernetes-list-type': 'atomic' });
/** Kubernetes-owned shapes we do not restate (pod template, PVC spec). */
export const opaque = (description: string): OpenApi => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });
const quantity: OpenApi = {
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
  'x-kubernetes-int-or-string': true,
};
export const resources = (description: string): OpenApi =>
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

export const age = { name: 'AGE', type: 'date', jsonPath: '.metadata.creationTimestamp' } as const;

/** Adds CEL validation rules (x-kubernetes-validations) to a schema node; returns the node. */
export function withRules(node: OpenApi, rules: ReadonlyArray<{ rule: string; message: string }>): OpenApi {
  node['x-kubernetes-validations'] = [...((node['x-kubernetes-validations'] as unknown[] | undefined) ?? []), ...rules];
  return node;
}

/** Marks property `key` of an object node immutable once set (a transition rule on the field). */
export function immutable(node: OpenApi, key: string, message: string): void {
  const props = node['properties'] as Record<string, OpenApi>;
  const field = props[key];
  if (field === undefined) throw new Error(`immutable: no property ${key}`);
  withRules(field, [{ rule: 'self == oldSelf', message }]);
}

/**
 * core/v1 PodTemplateSpec, structural where the controller relies on it (labels, annotations,
 * containers with a name and an image) and open beyond that: the API server checks the rest
 * when the controller creates each pod.
 */
export const podTemplate: OpenApi = obj(
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
