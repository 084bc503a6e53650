// Services: a headless one per InstanceSet (stable pod DNS), -primary / -replicas per server
// InstanceSet selecting the role label the controller writes, and the proxy Service.

import { LABELS } from '../../schemas/types/index.js';
import type { ResolvedTopology } from '../model.js';
import { names } from '../names.js';
import type { SetPlan } from './instanceset.js';
import { componentSelector, instanceSetSelector, metadata, podLabels } from './labels.js';
import type { ServiceExportLike, ServiceLike } from './objects.js';
import { fragment } from './fragment.js';

function service(
  t: ResolvedTopology,
  name: string,
  labels: Record<string, string>,
  selector: Record<string, string>,
  port: { name: string; number: number },
  headless: boolean,
): ServiceLike {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(t, name, labels),
    spec: {
      type: 'ClusterIP',
      ...(headless ? { clusterIP: 'None' as const, publishNotReadyAddresses: true } : {}),
      selector,
      ports: fragment(servicePorts, port.name, port.number),
      sessionAffinity: 'None',
    },
  };
}

function servicePorts(name: string, port: number): ServiceLike['spec']['ports'] {
  return [{ name, port, targetPort: name, protocol: 'TCP' }];
}

function withRole(selector: Record<string, string>, role: string): Record<string, string> {
  return { ...selector, [LABELS.role]: role };
}

export function setServices(p: SetPlan): ServiceLike[] {
  const t = p.topology;
  const labels = podLabels(t, p.component, p.instanceSet, p.shardLabel);
  const selector = instanceSetSelector(t, p.component, p.instanceSet);
  const out = [service(t, names.headless(p.instanceSet), labels, selector, p.port, true)];
  if (p.roles) {
    out.push(service(t, names.primary(p.instanceSet), labels, fragment(withRole, selector, 'primary'), p.port, false));
    // A shard with a single server has no secondary to read from.
    if (t.server.replicas > 1) {
      out.push(service(t, names.replicas(p.instanceSet), labels, fragment(withRole, selector, 'secondary'), p.port, false));
    }
  }
  return out;
}

/**
 * The ServiceExport of a spread shard's headless Service (Multi-Cluster Services, KEP-1645): the
 * other member clusters reach each pod as <pod>.<member-cluster>.<headless>.<namespace>.svc.clusterset.local.
 */
export function serviceExport(p: SetPlan): ServiceExportLike {
  const t = p.topology;
  return {
    apiVersion: 'multicluster.x-k8s.io/v1alpha1',
    kind: 'ServiceExport',
    metadata: metadata(t, names.headless(p.instanceSet), podLabels(t, p.component, p.instanceSet, p.shardLabel)),
  };
}

export function proxyService(t: ResolvedTopology): ServiceLike | undefined {
  if (!t.proxy) return undefined;
  const selector = componentSelector(t, 'proxy');
  const labels = { ...podLabels(t, 'proxy', names.proxySet(t.name), undefined) };
  return service(t, names.proxyService(t.name), labels, selector, { name: 'proxy', number: t.proxy.port }, false);
}
