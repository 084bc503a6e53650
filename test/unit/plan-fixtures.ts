// Rendered objects shaped like the compiler's output, for plan tests that must not depend on it.
import type { Cluster, InstanceSet, KubeObject } from '../../schemas/types/index.js';
import { API_VERSION, LABELS } from '../../schemas/types/labels.js';
import type { PlanObject } from '../../compiler/plan/model.js';

export interface TopoSpec {
  env?: string;
  member?: string;
  name: string;
  namespace?: string;
  engine?: 'redis' | 'mysql';
  mode?: Cluster['spec']['mode'];
  replicas?: number;
  shards?: number;
  sentinels?: number;
  image?: string;
  storage?: string;
  memory?: string;
  config?: string;
}

export function labels(t: TopoSpec, component: string, instanceSet: string): Record<string, string> {
  return {
    [LABELS.name]: t.engine ?? 'redis',
    [LABELS.instance]: t.name,
    [LABELS.component]: component,
    [LABELS.managedBy]: 'dbtopo',
    [LABELS.instanceSet]: instanceSet,
  };
}

export function serverSet(t: TopoSpec, setName: string): InstanceSet {
  const ns = t.namespace ?? 'db';
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: { name: setName, namespace: ns, labels: labels(t, 'server', setName) },
    spec: {
      replicas: t.replicas ?? 3,
      selector: { matchLabels: { [LABELS.instanceSet]: setName } },
      template: {
        metadata: { labels: labels(t, 'server', setName) },
        spec: {
          containers: [
            {
              name: t.engine ?? 'redis',
              image: t.image ?? 'redis:7.2.4',
              resources: { requests: { memory: t.memory ?? '1Gi' }, limits: { memory: t.memory ?? '1Gi' } },
            },
            { name: 'exporter', image: 'exporter:1.0' },
          ],
        },
      },
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: t.storage ?? '10Gi' } } } },
      ],
      podManagementPolicy: 'Parallel',
      roles: [
        { name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true },
        { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false },
      ],
      memberUpdateStrategy: 'Serial',
      serviceName: `${setName}-headless`,
      engine: { type: t.engine ?? 'redis', version: '7.2.4', port: 6379, ...((t.replicas ?? 3) > 1 ? { replication: { mode: 'async' as const } } : {}) },
    },
  };
}

export function sentinelSet(t: TopoSpec): InstanceSet {
  const name = `${t.name}-sentinel`;
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: { name, namespace: t.namespace ?? 'db', labels: labels(t, 'sentinel', name) },
    spec: {
      replicas: t.sentinels ?? 3,
      selector: { matchLabels: { [LABELS.instanceSet]: name } },
      template: { spec: { containers: [{ name: 'sentinel', image: 'redis:7.2.4' }] } },
      podManagementPolicy: 'Parallel',
      memberUpdateStrategy: 'Serial',
      serviceName: `${name}-headless`,
      engine: { type: 'redis-sentinel', version: '7.2.4', port: 26379, monitors: [{ masterName: t.name, instanceSet: `${t.name}-server`, port: 6379, quorum: 2 }] },
    },
  };
}

/** Every object of one topology in one member cluster, as PlanObjects. */
export function topology(t: TopoSpec): PlanObject[] {
  const env = t.env ?? 'prod';
  const member = t.member ?? 'member-a';
  const ns = t.namespace ?? 'db';
  const shards = t.shards ?? 1;
  const sets = t.mode === 'sharded' ? Array.from({ length: shards }, (_, i) => `${t.name}-shard-${i}`) : [`${t.name}-server`];
  const cluster: Cluster = {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: { name: t.name, namespace: ns, labels: { [LABELS.instance]: t.name } },
    spec: {
      engine: t.engine ?? 'redis',
      mode: t.mode ?? 'replication',
      version: '7.2.4',
      shards,
      components: [{ name: 'server', kind: 'server', instanceSets: sets, replicas: t.replicas ?? 3 }],
      environment: env,
      topology: t.name,
    },
  };
  const objects: KubeObject[] = [cluster as unknown as KubeObject];
  for (const s of sets) {
    objects.push(serverSet(t, s) as unknown as KubeObject);
    objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `${s}-primary`, namespace: ns }, spec: { selector: { [LABELS.role]: 'primary' }, ports: [{ name: 'redis', port: 6379 }] } });
    objects.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${s}-config`, namespace: ns, labels: labels(t, 'server', s) },
      data: { 'redis.conf': t.config ?? 'maxmemory 1gb\nmaxmemory-policy noeviction\nappendonly yes\n' },
    });
  }
  if (t.mode !== 'sharded' && (t.sentinels ?? 3) > 0) objects.push(sentinelSet(t) as unknown as KubeObject);
  return objects.map((object) => ({ env, memberCluster: member, topology: t.name, source: `topologies/${t.name}.yaml`, object }));
}

export function namespaceObject(env: string, member: string, name: string): PlanObject {
  return { env, memberCluster: member, object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } };
}

export const noAcks = { allowMigration: false, acknowledgements: { delete: [], migrate: [] }, memberOrder: new Map<string, string[]>() };
