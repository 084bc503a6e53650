// A shard whose servers the compiler places in several member clusters: its server InstanceSets
// carry spec.spread (the controller never promotes a pod of it), and no member cluster's
// Sentinels monitor it (a per-cluster quorum would fail it over on its own).
import { describe, expect, it } from 'vitest';
import { expandTopology } from '../../compiler/expand/index.js';
import { placeTopology } from '../../compiler/place/index.js';
import { resolveTopology } from '../../compiler/resolve/index.js';
import type { Environment, InstanceSet, KubeObject, Topology } from '../../schemas/types/index.js';

const env: Environment = {
  name: 'prod',
  namespace: 'db-{team}',
  memberClusters: [
    { name: 'west', destination: { name: 'west' }, zones: ['w1'] },
    { name: 'central', destination: { name: 'central' }, zones: ['c1'] },
  ],
};

function expand(t: Topology): Map<string, KubeObject[]> {
  const { placed, problems } = placeTopology(resolveTopology(t, env, `topologies/${t.name}.yaml`), env);
  expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
  if (!placed) throw new Error('not placed');
  return new Map(expandTopology(placed).map((m) => [m.memberCluster, m.objects]));
}
const set = (objs: KubeObject[] | undefined, name: string): InstanceSet => objs?.find((o) => o.kind === 'InstanceSet' && o.metadata.name === name) as unknown as InstanceSet;
const data = (objs: KubeObject[] | undefined, name: string, key: string): string => (objs?.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as unknown as { data: Record<string, string> }).data[key]!;

const redis = (memberClusters: string[]): Topology => ({
  name: 'cache', team: 'web', engine: 'redis', mode: 'replication', version: '7.2.4', replicas: 3,
  sentinel: { replicas: 3, quorum: 2 }, placement: { memberClusters },
});

describe('spread shards', () => {
  it('Redis over two member clusters: spec.spread on the servers in both, no Sentinel monitors it, nor is the server Sentinel-managed', () => {
    const out = expand(redis(['west', 'central']));
    for (const member of ['west', 'central']) {
      const server = set(out.get(member), 'cache-server');
      expect(server.spec.spread).toEqual({ memberClusters: ['central', 'west'] });
      expect(server.spec.engine.replication?.sentinel).toBeUndefined();
      expect(set(out.get(member), 'cache-sentinel').spec.engine.monitors).toEqual([]);
      const conf = data(out.get(member), 'cache-sentinel-config', 'sentinel.conf');
      expect(conf).not.toMatch(/^sentinel monitor/m);
      expect(conf).toMatch(/^# cache is spread over member clusters: not monitored here/m);
    }
  });

  it('the same topology in one member cluster: no spread, Sentinel monitors it', () => {
    const out = expand(redis(['west']));
    const server = set(out.get('west'), 'cache-server');
    expect(server.spec.spread).toBeUndefined();
    expect(server.spec.engine.replication?.sentinel).toMatchObject({ masterName: 'cache' });
    expect(data(out.get('west'), 'cache-sentinel-config', 'sentinel.conf')).toMatch(/^sentinel monitor cache /m);
  });

  it('MariaDB over two member clusters: spec.spread on the servers', () => {
    const out = expand({ name: 'shop', team: 'web', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 3, placement: { memberClusters: ['west', 'central'] } });
    for (const member of ['west', 'central']) expect(set(out.get(member), 'shop-server').spec.spread).toEqual({ memberClusters: ['central', 'west'] });
  });
});
