// Whatever a topology file holds, validate reports located, catalogued diagnostics and never throws.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CODES } from '../../compiler/diagnostics/codes.js';
import { parseSources } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';

const ENV = `name: prod
memberClusters:
  - { name: a, destination: { name: a }, zones: [z1, z2] }
namespace: db-{team}
policy: { minReplicas: 2, minSentinels: 3, maxShards: 4, requireZoneSpread: true, maxResources: { cpu: "4", memory: 8Gi } }
`;
const GOOD = {
  name: 'feed',
  team: 'web',
  engine: 'redis',
  mode: 'sharded',
  version: '7.2.4',
  shards: 3,
  replicas: 2,
  proxy: { replicas: 2 },
  sentinel: { replicas: 3, quorum: 2 },
  placement: { zoneSpread: true },
  instances: [{ name: 'big', replicas: 1, zone: 'z1' }],
  overrides: { prod: { replicas: 3 } },
};
const FIELDS = [
  ['name'], ['engine'], ['mode'], ['version'], ['shards'], ['replicas'], ['proxy'], ['proxy', 'replicas'], ['proxy', 'kind'],
  ['sentinel', 'quorum'], ['sentinel', 'replicas'], ['placement', 'memberClusters'], ['placement', 'exclusiveCpu'],
  ['instances', 0, 'replicas'], ['instances', 0, 'zone'], ['overrides', 'prod', 'replicas'], ['overrides', 'qa'],
  ['resources'], ['resources', 'cpu'], ['credentials'], ['parameters'], ['environments'],
] as const;

function set(obj: Record<string, unknown>, path: ReadonlyArray<string | number>, value: unknown): void {
  let node: Record<string | number, unknown> = obj;
  for (const seg of path.slice(0, -1)) {
    if (node[seg] === null || typeof node[seg] !== 'object') node[seg] = {};
    node = node[seg] as Record<string | number, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

describe('validate: property', () => {
  it('mutated topologies give located, catalogued diagnostics and never throw', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.integer({ min: -5, max: 200 }),
      fc.constantFrom('standalone', 'sharded', 'replication', 'mysql', 'twemproxy', '500m', '7.0', 'x'.repeat(70), 'a', 'z9'),
    );
    const clean = validate(parseSources([{ path: 'envs/prod.yaml', text: ENV }, { path: 'topologies/t.yaml', text: stringify(GOOD) }]));
    expect(clean.diagnostics).toEqual([]);
    const mutation = fc.tuple(fc.constantFrom(...FIELDS), value);
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const t = structuredClone(GOOD) as Record<string, unknown>;
        for (const [path, v] of mutations) set(t, path, v);
        const text = stringify(t, { aliasDuplicateObjects: false });
        const r = validate(parseSources([{ path: 'envs/prod.yaml', text: ENV }, { path: 'topologies/t.yaml', text }]));
        const lines = text.split('\n').length;
        for (const d of r.diagnostics) {
          expect(Object.keys(CODES)).toContain(d.code);
          expect(d.file).toBe('topologies/t.yaml');
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.line).toBeLessThanOrEqual(lines);
          expect(d.message.length).toBeGreaterThan(0);
        }
        const errors = r.diagnostics.some((d) => d.severity === 'error');
        expect(r.topologies.length).toBe(errors ? 0 : 1);
      }),
      { numRuns: 300 },
    );
  });
});
