// A CRD's structural OpenAPI v3 schema as a JSON Schema ajv understands, with the API server's
// pruning made strict: a field the schema does not name is an error instead of silently dropped.

type Schema = Record<string, unknown>;

/** OpenAPI v3 structural schema → JSON Schema ajv understands, with pruning made strict. */
export function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const src = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k.startsWith('x-kubernetes-')) continue;
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([p, s]) => [p, toJsonSchema(s)])) : toJsonSchema(v);
  }
  if (src['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (src.type === 'object' && src.properties && src.additionalProperties === undefined && src['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}
