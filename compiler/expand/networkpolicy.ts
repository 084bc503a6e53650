// NetworkPolicies, one per component: servers are reached by each other (replication), by the
// topology's Sentinels and proxies, and by the dbtopo controller (role probes); when the topology
// has a proxy, clients reach only the proxy, otherwise the server port is open to clients (they
// connect through the -primary Service). Servers of a spread shard are also reached from the
// other member clusters holding it and by the federation manager (docs/federation.md). Sentinels are reached by each other, the controller and,
// without a proxy, by Sentinel-aware clients.

import type { ResolvedTopology } from '../model.js';
import { names } from '../names.js';
import { componentSelector, metadata, topologyLabels, type Component } from './labels.js';
import type { NetworkPolicyLike, NetworkPolicyPeer } from './objects.js';

/** Namespace the dbtopo controller runs in (its probes connect to servers and Sentinels). */
export const CONTROLLER_NAMESPACE = 'dbtopo-system';

const controllerPeer: NetworkPolicyPeer = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': CONTROLLER_NAMESPACE } },
};

function peer(t: ResolvedTopology, c: Component): NetworkPolicyPeer {
  return { podSelector: { matchLabels: componentSelector(t, c) } };
}

function policy(
  t: ResolvedTopology,
  component: Component,
  port: number,
  from: NetworkPolicyPeer[] | undefined,
): NetworkPolicyLike {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(t, names.networkPolicy(t.name, component), topologyLabels(t)),
    spec: {
      podSelector: { matchLabels: componentSelector(t, component) },
      policyTypes: ['Ingress'],
      ingress: [{ ...(from ? { from } : {}), ports: [{ port, protocol: 'TCP' }] }],
    },
  };
}

/**
 * Policies for the components that run in this member cluster (a policy selecting nothing is noise).
 * `spread`: this member cluster holds part of a spread shard (federation.ts spreadPeers): its
 * servers also admit the other member clusters' pods and the federation manager by address
 * (ipBlock; a podSelector only selects pods of this cluster), or, when the environment does not
 * give all those addresses, their port from any source (warning DBT5007) rather than a
 * replication that can never connect.
 */
export function networkPolicies(t: ResolvedTopology, present: ReadonlySet<Component>, spread?: { cidrs: readonly string[]; missing: readonly string[] }): NetworkPolicyLike[] {
  const out: NetworkPolicyLike[] = [];
  const serverPeers = [peer(t, 'server'), controllerPeer];
  if (t.sentinel) serverPeers.push(peer(t, 'sentinel'));
  if (t.proxy) serverPeers.push(peer(t, 'proxy'));
  if (spread) serverPeers.push(...spread.cidrs.map((cidr) => ({ ipBlock: { cidr } })));
  const serverOpen = !t.proxy || (spread !== undefined && spread.missing.length > 0);
  if (present.has('server')) out.push(policy(t, 'server', t.server.port, serverOpen ? undefined : serverPeers));
  if (t.sentinel && present.has('sentinel')) {
    const peers = [peer(t, 'sentinel'), controllerPeer];
    out.push(policy(t, 'sentinel', t.sentinel.port, t.proxy ? peers : undefined));
  }
  if (t.proxy && present.has('proxy')) out.push(policy(t, 'proxy', t.proxy.port, undefined));
  return out;
}
