// Every rendered Cluster, InstanceSet and Federation is accepted by its CRD's openAPIV3Schema, checked with
// ajv. Fields the API server would silently prune (not in the schema, no
// x-kubernetes-preserve-unknown-fields) count as errors here: a pruned field is a lost setting.

import { Ajv, type ValidateFunction } from 'ajv';
import { describe, expect, it } from 'vitest';
import { compileModel, compileRepo } from '../../compiler/compile.js';
import type { RenderedFile } from '../../compiler/pipeline/rendered-file.js';
import { clusterCrds, federationCrds } from '../../compiler/emit/crds.js';
import type { Located } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';
import type { Environment, Topology } from '../../schemas/types/index.js';
import { join } from 'node:path';
import { toJsonSchema } from '../support/crd-json-schema.js';

type Schema = Record<string, unknown>;

function validators(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const out = new Map<string, ValidateFunction>();
  for (const crd of [...clusterCrds(), ...federationCrds()]) {
    const spec = crd.spec as { names: { kind: string }; versions: Array<{ name: string; schema: { openAPIV3Schema: unknown } }> };
    for (const v of spec.versions) {
      const schema = toJsonSchema(v.schema.openAPIV3Schema) as Schema;
      // metadata is validated by the API server itself, not by the CRD schema.
      const props = (schema.properties ?? {}) as Schema;
      props.metadata = { type: 'object' };
      out.set(`dbtopo.dev/${v.name}/${spec.names.kind}`, ajv.compile(schema));
    }
  }
  return out;
}

function check(files: RenderedFile[]): number {
  const v = validators();
  let checked = 0;
  for (const f of files) {
    if (f.object.kind !== 'Cluster' && f.object.kind !== 'InstanceSet' && f.object.kind !== 'Federation') continue;
    const fn = v.get(`${f.object.apiVersion}/${f.object.kind}`);
    expect(fn, `no CRD for ${f.object.apiVersion} ${f.object.kind}`).toBeDefined();
    const ok = fn?.(JSON.parse(JSON.stringify(f.object)));
    expect(ok ? [] : fn?.errors, f.path).toEqual([]);
    checked++;
  }
  return checked;
}

describe('rendered objects validate against the CRDs', () => {
  it('the example repository', async () => {
    const result = await compileRepo({ repo: join(import.meta.dirname, '..', '..', 'environments'), write: false });
    expect(check(result.files)).toBeGreaterThan(20);
    expect(result.files.some((f) => f.object.kind === 'Federation')).toBe(true); // checked too
  });

  it('catches a field the CRD would prune and a wrong type (the check can fail)', async () => {
    const result = await compileRepo({ repo: join(import.meta.dirname, '..', '..', 'environments'), write: false });
    const is = result.files.find((f) => f.object.kind === 'InstanceSet');
    expect(is).toBeDefined();
    const fn = validators().get(`${is?.object.apiVersion}/InstanceSet`);
    const pruned: { spec: Record<string, unknown> } = JSON.parse(JSON.stringify(is?.object));
    pruned.spec.replicaz = 3;
    expect(fn?.(pruned)).toBe(false);
    const wrong: { spec: { engine: Record<string, unknown> } } = JSON.parse(JSON.stringify(is?.object));
    wrong.spec.engine.port = 'redis';
    expect(fn?.(wrong)).toBe(false);
  });

  it('instance templates, credentials, semi-sync and split placement', () => {
    const env: Environment = {
      name: 'dev',
      namespace: 'db-{team}',
      memberClusters: [
        { name: 'a', destination: { name: 'a' }, zones: ['za'] },
        { name: 'b', destination: { name: 'b' }, zones: ['zb'] },
      ],
    };
    const topologies: Topology[] = [
      {
        name: 'shop',
        team: 'web',
        engine: 'mysql',
        mode: 'primary-replica',
        version: '8.0.36',
        replicas: 3,
        replication: { mode: 'semi-sync' },
        proxy: { replicas: 2 },
        credentials: { password: { name: 'shop-db', key: 'password' }, username: { name: 'shop-db', key: 'user' } },
        instances: [{ name: 'big', replicas: 1, zone: 'zb', resources: { cpu: '2', memory: '8Gi' } }],
        placement: { memberClusters: ['a', 'b'], memberClusterLoss: 'pause-writes', zoneSpread: true, exclusiveCpu: true, nodeSelector: { pool: 'db' } },
        storage: { size: '20Gi', class: 'fast' },
        resources: { cpu: '1', memory: '2Gi' },
      },
      {
        name: 'cache',
        team: 'web',
        engine: 'redis',
        mode: 'sharded',
        version: '7.0.15',
        shards: 3,
        replicas: 2,
        proxy: { replicas: 2, port: 7000 },
        sentinel: { replicas: 3, quorum: 2 },
        credentials: { password: { name: 'cache', key: 'password' } },
        parameters: { maxmemory: '1gb', appendonly: false },
      },
    ];
    const at = (): { line: number; col: number } => ({ line: 1, col: 1 });
    const valid = validate({
      environments: [{ value: env, file: 'envs/dev.yaml', locate: at }],
      topologies: topologies.map((t): Located<unknown> => ({ value: t, file: `topologies/${t.name}.yaml`, locate: at })),
      diagnostics: [],
    });
    expect(valid.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const result = compileModel(valid, {});
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(check(result.files)).toBeGreaterThan(8);
  });
});
