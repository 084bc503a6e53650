// The update plan and pod revisions on large sets, pure CPU: planUpdate() is called on every
// reconcile of every InstanceSet, podRevision() for every pod. Target: a whole simulated rollout
// of a 500-pod set (one plan per step) well under a second; a revision in microseconds.
// Prints figures only.
import { performance } from 'node:perf_hooks';
import type { InstanceSet, RoleDefinition } from '../../schemas/types/index.js';
import { planUpdate, type PlanPod } from '../../controller/update/plan.js';
import { podRevision } from '../../controller/update/revision.js';

const ROLES: RoleDefinition[] = [
  { name: 'primary', updatePriority: 2, participatesInQuorum: true, isExclusive: true },
  { name: 'secondary', updatePriority: 1, participatesInQuorum: true, isExclusive: false },
];

function rollout(n: number, strategy: 'Serial' | 'Parallel', maxUnavailable: number): { steps: number; ms: number } {
  let pods: PlanPod[] = Array.from({ length: n }, (_, i) => ({ name: `db-${i}`, revision: 'old', ready: true, role: i === 0 ? 'primary' : 'secondary' }));
  const t0 = performance.now();
  let steps = 0;
  for (; steps < 10 * n; steps++) {
    const plan = planUpdate({ pods, updateRevision: 'new', roles: ROLES, memberUpdateStrategy: strategy, maxUnavailable });
    if (plan.done) break;
    if (plan.switchoverBefore) {
      const to = plan.switchoverCandidates![0];
      pods = pods.map((p) => (p.name === plan.switchoverBefore ? { ...p, role: 'secondary' } : p.name === to ? { ...p, role: 'primary' } : p));
      continue;
    }
    const next = new Set(plan.next);
    pods = pods.map((p) => (next.has(p.name) ? { ...p, revision: 'new' } : p));
  }
  return { steps, ms: performance.now() - t0 };
}

function instanceSet(): InstanceSet {
  return {
    apiVersion: 'dbtopo.dev/v1alpha1',
    kind: 'InstanceSet',
    metadata: { name: 'orders-db-server', namespace: 'db' },
    spec: {
      replicas: 3,
      selector: {},
      template: {
        metadata: { labels: { a: 'b', c: 'd' }, annotations: { 'dbtopo.dev/config-hash': 'abc' } },
        spec: {
          containers: [
            { name: 'mysql', image: 'mariadb:10.11', env: Array.from({ length: 10 }, (_, i) => ({ name: `E${i}`, value: String(i) })), resources: { requests: { cpu: '1', memory: '2Gi' } } },
            { name: 'exporter', image: 'exporter:1' },
          ],
          volumes: [{ name: 'config', configMap: { name: 'cfg' } }],
        },
      },
      instances: [{ name: 'big', replicas: 1, resources: { limits: { memory: '8Gi' } }, zone: 'z1' }],
      podManagementPolicy: 'Parallel',
      memberUpdateStrategy: 'Serial',
      serviceName: 'h',
      engine: { type: 'mysql', version: '10.11', port: 3306 },
    },
  };
}

export default async function main(): Promise<void> {
  for (const [n, s, m] of [[3, 'Serial', 1], [500, 'Serial', 1], [500, 'Parallel', 50]] as const) {
    const r = rollout(n, s, m);
    console.log(`planUpdate rollout: ${n} pods, ${s}, maxUnavailable ${m}: ${r.steps} plans in ${r.ms.toFixed(1)} ms (${((r.ms * 1000) / r.steps).toFixed(1)} µs per plan)`);
  }
  const is = instanceSet();
  const N = 20_000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) podRevision(is, i % 2 === 0 ? undefined : 'big');
  const ms = performance.now() - t0;
  console.log(`podRevision: ${N} revisions in ${ms.toFixed(1)} ms (${((ms * 1000) / N).toFixed(1)} µs each)`);
}
