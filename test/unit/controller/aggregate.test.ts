import { describe, expect, it } from 'vitest';
import { aggregateClusterStatus } from '../../../controller/reconcile/cluster/aggregate.js';
import { API_VERSION, type Cluster, type ClusterPhase, type InstanceSet } from '../../../schemas/types/index.js';
import { instanceSet } from './fixtures.js';

function cluster(phase?: ClusterPhase): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name: 'c1', namespace: 'ns', generation: 2 },
    spec: {
      engine: 'redis',
      mode: 'replication',
      version: '7.2',
      shards: 1,
      environment: 'dev',
      topology: 'cache',
      components: [
        { name: 'server', kind: 'server', instanceSets: ['c1-server'], replicas: 3 },
        { name: 'sentinel', kind: 'sentinel', instanceSets: ['c1-sentinel'], replicas: 3 },
      ],
    },
    ...(phase !== undefined ? { status: { phase } } : {}),
  };
}

function withStatus(is: InstanceSet, ready: number, extra: Partial<NonNullable<InstanceSet['status']>> = {}): InstanceSet {
  return { ...is, status: { observedGeneration: 1, replicas: is.spec.replicas, readyReplicas: ready, updatedReplicas: is.spec.replicas, currentRevision: 'a', updateRevision: 'a', ...extra } };
}

const server = instanceSet('c1-server', { replicas: 3, roles: [{ name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true }, { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false }] });
const sentinel = instanceSet('c1-sentinel', { replicas: 3 });
const now = Date.parse('2026-02-01T00:00:00Z');

describe('aggregateClusterStatus', () => {
  it('is Creating while an InstanceSet is missing, and says which', () => {
    const s = aggregateClusterStatus(cluster(), [withStatus(server, 3, { primary: 'c1-server-0' })], now);
    expect(s.phase).toBe('Creating');
    expect(s.message).toContain('waiting for InstanceSet c1-sentinel');
  });

  it('is Running when everything is ready and the servers have a primary', () => {
    const s = aggregateClusterStatus(cluster('Creating'), [withStatus(server, 3, { primary: 'c1-server-0' }), withStatus(sentinel, 3)], now);
    expect(s.phase).toBe('Running');
    expect(s.message).toBe('2/2 components running');
    expect(s.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', observedGeneration: 2 });
    expect(s.components?.find((c) => c.name === 'server')).toMatchObject({ ready: 3, replicas: 3, phase: 'Running' });
  });

  it('is Creating, not Degraded, before it was ever up; Degraded after', () => {
    const sets = [withStatus(server, 2, { primary: 'c1-server-0' }), withStatus(sentinel, 3)];
    expect(aggregateClusterStatus(cluster(), sets, now).phase).toBe('Creating');
    const s = aggregateClusterStatus(cluster('Running'), sets, now);
    expect(s.phase).toBe('Degraded');
    expect(s.message).toBe('server: Degraded (2/3 ready)');
  });

  it('is Degraded without a primary, Failed with nothing ready', () => {
    expect(aggregateClusterStatus(cluster('Running'), [withStatus(server, 3), withStatus(sentinel, 3)], now).message).toContain('no primary in c1-server');
    expect(aggregateClusterStatus(cluster('Running'), [withStatus(server, 0), withStatus(sentinel, 3)], now).phase).toBe('Failed');
  });

  it('is Updating while pods run an old revision', () => {
    const sets = [withStatus(server, 3, { primary: 'c1-server-0', updatedReplicas: 1, updateRevision: 'b' }), withStatus(sentinel, 3)];
    const s = aggregateClusterStatus(cluster('Running'), sets, now);
    expect(s.phase).toBe('Updating');
    expect(s.message).toContain('updating c1-server');
  });

  it('takes the worst component phase', () => {
    const sets = [withStatus(server, 3, { primary: 'c1-server-0', updatedReplicas: 1, updateRevision: 'b' }), withStatus(sentinel, 0)];
    expect(aggregateClusterStatus(cluster('Running'), sets, now).phase).toBe('Failed');
  });
});
