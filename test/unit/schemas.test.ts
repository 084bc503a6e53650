import { readFile } from 'node:fs/promises';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSources, readRepo } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';
import { artifacts, EXAMPLE_TOPOLOGY } from '../../compiler/docs/reference.js';
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { federationCrd } from '../../schemas/crds/federation.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import { environmentSchema } from '../../schemas/environment.schema.js';
import { topologySchema } from '../../schemas/topology.schema.js';
import type { Federation, InstanceSetFederationStatus } from '../../schemas/types/index.js';
import { Ajv } from 'ajv';
import { toJsonSchema } from '../support/crd-json-schema.js';

const root = new URL('../../', import.meta.url);
type Node = Record<string, unknown>;

/** Every schema node reachable from `node`, with its path. */
function* nodes(node: unknown, path = '#'): Generator<[string, Node]> {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const [i, n] of node.entries()) yield* nodes(n, `${path}/${i}`);
    return;
  }
  yield [path, node as Node];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'enum' || k === 'required' || k === 'const' || k === 'x-kubernetes-validations') continue; // CEL rules, not schemas
    if (k === 'properties' || k === '$defs') {
      for (const [name, sub] of Object.entries(v as Node)) yield* nodes(sub, `${path}/${k}/${name}`);
    } else if (typeof v === 'object') {
      yield* nodes(v, `${path}/${k}`);
    }
  }
}

describe('schemas: generated files', () => {
  it.each(artifacts().map((a) => [a.path, a.text] as const))('%s is up to date (run `npm run schemas`)', async (path, text) => {
    const onDisk = await readFile(new URL(path, root), 'utf8').catch(() => '<missing>');
    expect(onDisk, `${path} is stale: run npm run schemas and commit the result`).toBe(text);
  });
});

describe('schemas: JSON Schemas', () => {
  it('every property has a description (editors show it as help)', () => {
    for (const schema of [topologySchema, environmentSchema]) {
      const missing: string[] = [];
      for (const [path, node] of nodes(schema)) {
        if (path.includes('/allOf/')) continue; // if/then restate fields, they do not define them
        for (const [name, prop] of Object.entries((node.properties as Record<string, Node> | undefined) ?? {})) {
          // a $ref inherits the description of its definition, which is checked on its own
          if (!prop.description && !prop.$ref) missing.push(`${path}/properties/${name}`);
        }
      }
      expect(missing).toEqual([]);
    }
  });

  it('every object closes its fields (additionalProperties false or a typed map)', () => {
    for (const schema of [topologySchema, environmentSchema]) {
      const open: string[] = [];
      for (const [path, node] of nodes(schema)) {
        if (path.includes('/allOf/')) continue;
        if (node.properties && node.additionalProperties !== false) open.push(path);
        if (node.type === 'object' && !node.properties && node.additionalProperties === undefined) open.push(path);
      }
      expect(open).toEqual([]);
    }
  });

  it('every example file validates against the published JSON Schema files', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    const topo = ajv.compile(JSON.parse(await readFile(new URL('schemas/json/topology.schema.json', root), 'utf8')));
    const env = ajv.compile(JSON.parse(await readFile(new URL('schemas/json/environment.schema.json', root), 'utf8')));
    const files = await readRepo(new URL('environments', root).pathname);
    expect(files.length).toBeGreaterThanOrEqual(9);
    for (const f of files) {
      const validator = f.path.startsWith('envs/') ? env : topo;
      const ok = validator(parse(f.text));
      expect(ok, `${f.path}: ${JSON.stringify(validator.errors)}`).toBe(true);
      expect(f.text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=\.\.\/\.\.\/schemas\/json\/(topology|environment)\.schema\.json$/);
    }
  });

  it('the example in docs/topology-language.md validates without diagnostics', async () => {
    const files = (await readRepo(new URL('environments', root).pathname)).filter((f) => f.path.startsWith('envs/'));
    const r = validate(parseSources([...files, { path: 'topologies/doc-example.yaml', text: EXAMPLE_TOPOLOGY }]));
    expect(r.diagnostics).toEqual([]);
  });

  it('rejects the combinations and values the language forbids', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
    const v = ajv.compile(topologySchema);
    const base = { name: 'orders-db', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 3 };
    expect(v(base)).toBe(true);
    expect(v({ ...base, mode: 'sharded' })).toBe(false); // redis mode on mysql
    expect(v({ ...base, engine: 'redis' })).toBe(false); // mysql mode on redis
    expect(v({ ...base, credentials: { password: 'hunter2' } })).toBe(false);
    expect(v({ ...base, credentials: { password: { name: 's', key: 'k' } } })).toBe(true);
    expect(v({ ...base, name: 'Orders_DB' })).toBe(false);
    expect(v({ ...base, name: '1orders' })).toBe(false); // Services need a leading letter
    expect(v({ ...base, resources: { cpu: '1.5', memory: '4Gi' } })).toBe(true);
    expect(v({ ...base, resources: { cpu: 'two' } })).toBe(false);
    expect(v({ ...base, resources: { memory: '4GB' } })).toBe(false);
    expect(v({ ...base, replicas: 101 })).toBe(false);
    expect(v({ ...base, overrides: { prod: { replicas: 5, unknown: 1 } } })).toBe(false);
  });
});

describe('schemas: CRDs', () => {
  const crds = [instanceSetCrd, clusterCrd, federationCrd];

  it('are structural: every node typed, no additionalProperties false, map-list keys required', () => {
    for (const crd of crds) {
      const schema = crd.spec.versions[0]!.schema.openAPIV3Schema;
      const problems: string[] = [];
      for (const [path, node] of nodes(schema)) {
        if (path.includes('/anyOf/')) continue;
        const intOrString = node['x-kubernetes-int-or-string'] === true;
        if (!node.type && !intOrString && !path.endsWith('/additionalProperties') ) problems.push(`${path}: no type`);
        if (node.additionalProperties === false) problems.push(`${path}: additionalProperties false`);
        if (node.properties && node.additionalProperties) problems.push(`${path}: properties and additionalProperties`);
        if (node['x-kubernetes-list-type'] === 'map') {
          const item = node.items as Node;
          for (const key of node['x-kubernetes-list-map-keys'] as string[]) {
            if (!(item.required as string[] | undefined)?.includes(key)) problems.push(`${path}: map key ${key} not required`);
          }
        }
        if (node.type === 'array' && !node['x-kubernetes-list-type']) problems.push(`${path}: list without x-kubernetes-list-type`);
      }
      expect(problems, crd.metadata.name).toEqual([]);
    }
  });

  it('InstanceSet has status and scale subresources and the agreed printer columns', () => {
    const v = instanceSetCrd.spec.versions[0]!;
    expect(v.subresources.scale).toEqual({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
    expect(v.additionalPrinterColumns.map((c) => c.name)).toEqual(['REPLICAS', 'READY', 'PRIMARY', 'AGE']);
    expect(v.additionalPrinterColumns.find((c) => c.name === 'PRIMARY')!.jsonPath).toBe('.status.primary');
    const c = clusterCrd.spec.versions[0]!;
    expect(c.subresources).toEqual({ status: {} });
    expect(c.additionalPrinterColumns.map((x) => x.name)).toEqual(['PHASE', 'MESSAGE', 'AGE']);
    const f = federationCrd.spec.versions[0]!;
    expect(f.subresources).toEqual({ status: {} });
    expect(federationCrd.spec.scope).toBe('Namespaced');
    expect(federationCrd.spec.names.plural).toBe('federations');
    expect(f.additionalPrinterColumns.map((x) => [x.name, x.jsonPath])).toEqual([
      ['PRIMARY', '.status.primary'],
      ['STEP', '.status.step.id'],
      ['STATE', '.status.step.state'],
      ['AGE', '.metadata.creationTimestamp'],
    ]);
  });

  it('InstanceSet status.federation: the federation manager\'s decision, open to fields it adds', () => {
    const status = instanceSetCrd.spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties;
    expect(Object.keys(status.federation.properties)).toEqual(['primary', 'decidedAt', 'state', 'message', 'memberCluster', 'released', 'updateGeneration', 'updateWaiting']);
    expect(status.federation.properties.primary.required).toEqual(['memberCluster', 'pod']);
    expect(status.federation['x-kubernetes-preserve-unknown-fields']).toBe(true);
  });

  it('a Federation as the compiler and the federation manager write it is accepted; a pruned field is not', () => {
    const fed: Federation = {
      apiVersion: 'dbtopo.dev/v1alpha1',
      kind: 'Federation',
      metadata: { name: 't', namespace: 'db' },
      spec: {
        topology: 't',
        environment: 'prod',
        engine: 'redis',
        memberClusters: ['a', 'b'],
        shards: [{
          name: 't-server',
          primaryService: 't-server-primary',
          headlessService: 't-server-headless',
          port: 6379,
          members: [
            { memberCluster: 'a', ordinals: [0], pods: [{ name: 't-server-0', clusterSetName: 't-server-0.a.t-server-headless.db.svc.clusterset.local' }] },
            { memberCluster: 'b', ordinals: [1], pods: [{ name: 't-server-1', clusterSetName: 't-server-1.b.t-server-headless.db.svc.clusterset.local' }] },
          ],
        }],
      },
      status: {
        primary: 'a/t-server-0',
        shards: [{ name: 't-server', state: 'Healthy', primary: { memberCluster: 'a', pod: 't-server-0' }, observedAt: '2026-12-05T10:00:00Z', members: [{ memberCluster: 'b', reachable: true, ready: 1, pods: [{ name: 't-server-1', role: 'secondary', ready: true }] }] }],
        step: { id: 'a/switchover/t-server', state: 'Waiting', message: 'waiting for b to observe revision r2' },
      },
    };
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const schema = toJsonSchema(federationCrd.spec.versions[0]!.schema.openAPIV3Schema) as { properties: Record<string, unknown> };
    schema.properties.metadata = { type: 'object' }; // the API server's, not the CRD's
    const check = ajv.compile(schema);
    expect(check(fed) ? [] : check.errors).toEqual([]);
    expect(check({ ...fed, spec: { ...fed.spec, shard: [] } })).toBe(false);
    const decided: InstanceSetFederationStatus = { primary: { memberCluster: 'a', pod: 't-server-0' }, decidedAt: '2026-12-05T10:00:00Z', state: 'Healthy', extra: 1 };
    const isCheck = ajv.compile(toJsonSchema(instanceSetCrd.spec.versions[0]!.schema.openAPIV3Schema.properties.status) as object);
    expect(isCheck({ federation: decided }) ? [] : isCheck.errors).toEqual([]);
  });

  it('the written YAML parses back to the TS objects', async () => {
    for (const [file, crd] of [['clusters.dbtopo.dev.yaml', clusterCrd], ['instancesets.dbtopo.dev.yaml', instanceSetCrd], ['federations.dbtopo.dev.yaml', federationCrd]] as const) {
      expect(parse(await readFile(new URL(`schemas/crds/${file}`, root), 'utf8'))).toEqual(JSON.parse(JSON.stringify(crd)));
    }
  });
});
