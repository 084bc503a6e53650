// Builders of InstanceSets and observed pods for the controller's pure-function tests.
import type { MemberView } from '../../../controller/roles/role-plan.js';
import { API_VERSION, LABELS, type InstanceSet, type KubeObject, type Role } from '../../../schemas/types/index.js';

export function instanceSet(name: string, spec: Partial<InstanceSet['spec']> = {}): InstanceSet {
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1, labels: { [LABELS.cluster]: 'c1' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { [LABELS.instanceSet]: name } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { containers: [{ name: 'redis', image: 'redis:7', resources: { requests: { cpu: '100m' } } }] },
      },
      podManagementPolicy: 'Parallel',
      memberUpdateStrategy: 'Serial',
      serviceName: `${name}-headless`,
      engine: { type: 'redis', version: '7.2', port: 6379 },
      ...spec,
    },
  };
}

/** An observed pod as the API server would return it. */
export function observedPod(
  setName: string,
  name: string,
  opts: { ready?: boolean; terminating?: boolean; role?: string; revision?: string; readySince?: string } = {},
): KubeObject {
  const labels: Record<string, string> = { [LABELS.instanceSet]: setName };
  if (opts.role !== undefined) labels[LABELS.role] = opts.role;
  if (opts.revision !== undefined) labels[LABELS.revision] = opts.revision;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'ns',
      uid: `uid-${name}`,
      labels,
      ...(opts.terminating === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: opts.ready === true ? 'True' : 'False', lastTransitionTime: opts.readySince ?? '2026-01-01T00:00:00Z' }],
    },
  };
}

/** One member as the role decision sees it: pod r-<ordinal> at 10.0.0.<ordinal>:6379. */
export function member(ordinal: number, probe: MemberView['probe'], label?: Role): MemberView {
  return { podName: `r-${ordinal}`, ordinal, host: `10.0.0.${ordinal}`, port: 6379, probe, ...(label !== undefined ? { label } : {}) };
}
