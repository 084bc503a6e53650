// The JSON Schemas and CRDs must describe exactly the fields of the TypeScript types the compiler
// and controller use. The TypeScript compiler reads the types; both directions are checked.
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import { environmentSchema } from '../../schemas/environment.schema.js';
import { topologySchema } from '../../schemas/topology.schema.js';

type Schema = Record<string, unknown> & {
  $ref?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
};

const typesDir = new URL('../../schemas/types/', import.meta.url).pathname;
const program = ts.createProgram(
  ['topology.ts', 'environment.ts', 'instanceset.ts', 'cluster.ts'].map((f) => typesDir + f),
  { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
);
const checker = program.getTypeChecker();

function exported(file: string, name: string): ts.Type {
  const sf = program.getSourceFile(typesDir + file)!;
  const sym = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).find((s) => s.name === name)!;
  return checker.getDeclaredTypeOfSymbol(sym);
}

function isLeaf(t: ts.Type): boolean {
  if (t.isUnion()) return t.types.every(isLeaf);
  return (t.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.Unknown)) !== 0;
}

/** Compares the fields of `type` with the properties of `schema`, recursively; returns mismatches. */
function compare(type0: ts.Type, schema0: Schema, root: Schema, path: string, out: string[]): void {
  const type = checker.getNonNullableType(type0);
  const schema = schema0.$ref ? ((root.$defs as Record<string, Schema>)[schema0.$ref.replace('#/$defs/', '')] ?? {}) : schema0;
  if (isLeaf(type)) return;
  // Kubernetes-owned or opaque shapes (pod template, PVC spec, metadata) are not restated.
  if (schema['x-kubernetes-preserve-unknown-fields'] || (schema.type === 'object' && !schema.properties && !schema.additionalProperties)) return;
  if (checker.isArrayType(type)) {
    if (!schema.items) out.push(`${path}: the type is a list, the schema is not`);
    else compare(checker.getTypeArguments(type as ts.TypeReference)[0]!, schema.items, root, `${path}[]`, out);
    return;
  }
  const props = checker.getPropertiesOfType(type);
  const index = type.getStringIndexType();
  if (props.length === 0 && index) {
    if (typeof schema.additionalProperties !== 'object') out.push(`${path}: the type is a map, the schema is not`);
    else compare(index, schema.additionalProperties, root, `${path}.<key>`, out);
    return;
  }
  const schemaProps = schema.properties ?? {};
  const typeNames = new Set(props.map((p) => p.name));
  for (const p of props) {
    const sub = schemaProps[p.name];
    if (!sub) {
      out.push(`${path}.${p.name}: in the type, not in the schema`);
      continue;
    }
    compare(checker.getTypeOfSymbol(p), sub, root, `${path}.${p.name}`, out);
  }
  for (const name of Object.keys(schemaProps)) if (!typeNames.has(name)) out.push(`${path}.${name}: in the schema, not in the type`);
}

function mismatches(file: string, name: string, schema: Schema): string[] {
  const out: string[] = [];
  compare(exported(file, name), schema, schema, name, out);
  return out;
}

describe('schemas and types agree field for field', () => {
  it('Topology ↔ topology.schema', () => {
    expect(mismatches('topology.ts', 'Topology', topologySchema as unknown as Schema)).toEqual([]);
  });

  it('Environment ↔ environment.schema', () => {
    expect(mismatches('environment.ts', 'Environment', environmentSchema as unknown as Schema)).toEqual([]);
  });

  it('InstanceSet ↔ instancesets.dbtopo.dev CRD', () => {
    const schema = instanceSetCrd.spec.versions[0]!.schema.openAPIV3Schema as unknown as Schema;
    expect(mismatches('instanceset.ts', 'InstanceSet', schema)).toEqual([]);
  });

  it('Cluster ↔ clusters.dbtopo.dev CRD', () => {
    const schema = clusterCrd.spec.versions[0]!.schema.openAPIV3Schema as unknown as Schema;
    expect(mismatches('cluster.ts', 'Cluster', schema)).toEqual([]);
  });

  it('the check itself notices a missing field', () => {
    const { replicas: _dropped, ...rest } = topologySchema.properties;
    const broken = { ...topologySchema, properties: { ...rest, extra: { type: 'string' } } } as unknown as Schema;
    expect(mismatches('topology.ts', 'Topology', broken)).toEqual([
      'Topology.replicas: in the type, not in the schema',
      'Topology.extra: in the schema, not in the type',
    ]);
  });

  it('and one deep inside a referenced definition', () => {
    const { quorum: _q, ...sentinelProps } = topologySchema.$defs.sentinel.properties;
    const defs = { ...topologySchema.$defs, sentinel: { ...topologySchema.$defs.sentinel, properties: sentinelProps } };
    const broken = { ...topologySchema, $defs: defs } as unknown as Schema;
    expect(mismatches('topology.ts', 'Topology', broken)).toEqual(['Topology.sentinel.quorum: in the type, not in the schema']);
  });
});
