// resolve: one topology (its overrides.<env> already applied) + its environment → a
// ResolvedTopology with every default written out. Pure.

import type { Environment, Topology } from '../../schemas/types/index.js';
import type { ResolvedProxy, ResolvedSentinel, ResolvedTopology } from '../model.js';
import { proxyImage, serverImage, tagOf } from './images.js';
import { renderNamespace } from './namespace.js';
import { mergeResources, toRequirements } from './resources.js';
import { MODES } from '../../schemas/modes.js';

export const DEFAULTS = {
  serverResources: { cpu: '500m', memory: '512Mi' },
  sentinelResources: { cpu: '100m', memory: '128Mi' },
  proxyResources: { cpu: '200m', memory: '128Mi' },
  storageSize: '10Gi',
  probePeriodSeconds: 5,
  imagePullPolicy: 'IfNotPresent',
  clusterDomain: 'cluster.local',
  probeFailureThreshold: 3,
  proxyReplicas: 2,
  team: 'default',
  ports: { redis: 6379, mysql: 3306, sentinel: 26379 },
} as const;

/** Engine parameters as the config file writes them: Redis says yes/no, MySQL ON/OFF. */
function stringifyParameters(engine: Topology['engine'], params: Topology['parameters']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params ?? {})) {
    if (typeof value === 'boolean') out[key] = engine === 'redis' ? (value ? 'yes' : 'no') : value ? 'ON' : 'OFF';
    else out[key] = String(value);
  }
  return out;
}

/** Modes whose clients only ever talk to a proxy. */
function needsProxy(t: Topology): boolean {
  return MODES[t.mode].proxy === 'required';
}

export function resolveTopology(t: Topology, env: Environment, source: string): ResolvedTopology {
  const d = env.defaults;
  const exclusiveCpu = t.placement?.exclusiveCpu ?? false;
  const serverPort = t.engine === 'redis' ? DEFAULTS.ports.redis : DEFAULTS.ports.mysql;
  const serverRes = mergeResources(DEFAULTS.serverResources, d?.resources, t.resources);
  const team = t.team ?? DEFAULTS.team;
  const period = d?.probePeriodSeconds ?? DEFAULTS.probePeriodSeconds;

  let sentinel: ResolvedSentinel | undefined;
  if (t.engine === 'redis' && t.sentinel !== undefined && t.mode !== 'standalone') {
    sentinel = {
      image: serverImage('redis', t.version, d),
      port: DEFAULTS.ports.sentinel,
      replicas: t.sentinel.replicas,
      quorum: t.sentinel.quorum,
      resources: toRequirements(
        mergeResources(DEFAULTS.sentinelResources, d?.sentinelResources, t.sentinel.resources),
        exclusiveCpu,
      ),
    };
  }

  let proxy: ResolvedProxy | undefined;
  if (t.proxy !== undefined || needsProxy(t)) {
    const kind = t.proxy?.kind ?? (t.engine === 'redis' ? 'twemproxy' : 'haproxy');
    const image = proxyImage(kind, d);
    proxy = {
      kind,
      image,
      version: tagOf(image) ?? 'latest',
      port: t.proxy?.port ?? serverPort,
      replicas: t.proxy?.replicas ?? DEFAULTS.proxyReplicas,
      resources: toRequirements(mergeResources(DEFAULTS.proxyResources, d?.proxyResources, t.proxy?.resources), exclusiveCpu),
    };
  }

  const storageClass = t.storage?.class ?? d?.storageClass;
  const resolved: ResolvedTopology = {
    env: env.name,
    name: t.name,
    source,
    team,
    namespace: t.namespace ?? renderNamespace(env.namespace, { topology: t.name, team, env: env.name, engine: t.engine }),
    engine: t.engine,
    mode: t.mode,
    version: t.version,
    server: {
      image: serverImage(t.engine, t.version, d),
      port: serverPort,
      replicas: t.replicas,
      shards: MODES[t.mode].sharded ? (t.shards ?? 1) : 1,
      resources: toRequirements(serverRes, exclusiveCpu),
      storage: {
        size: t.storage?.size ?? d?.storageSize ?? DEFAULTS.storageSize,
        ...(storageClass !== undefined ? { class: storageClass } : {}),
      },
      parameters: stringifyParameters(t.engine, t.parameters),
      instances: (t.instances ?? []).map((i) => ({
        name: i.name,
        replicas: i.replicas,
        resources: toRequirements(mergeResources(serverRes, i.resources), exclusiveCpu),
        ...(i.zone !== undefined ? { zone: i.zone } : {}),
        nodeSelector: { ...(i.nodeSelector ?? {}) },
      })),
    },
    replication: { mode: t.engine === 'mysql' ? (t.replication?.mode ?? 'async') : 'async' },
    probe: {
      periodSeconds: period,
      // A probe must give up before the next one starts.
      timeoutSeconds: Math.max(1, Math.min(2, period - 1)),
      failureThreshold: DEFAULTS.probeFailureThreshold,
    },
    imagePullPolicy: d?.imagePullPolicy ?? DEFAULTS.imagePullPolicy,
    clusterDomain: env.clusterDomain ?? DEFAULTS.clusterDomain,
    network: {
      podCIDRs: Object.fromEntries(env.memberClusters.flatMap((m) => (m.podCIDRs ? [[m.name, [...m.podCIDRs]]] : []))),
      ...(env.federation?.podCIDRs ? { federationPodCIDRs: [...env.federation.podCIDRs] } : {}),
    },
    placement: {
      zoneSpread: t.placement?.zoneSpread ?? env.policy?.requireZoneSpread ?? false,
      antiAffinity: t.placement?.antiAffinity ?? (env.policy?.requireAntiAffinity ? 'required' : 'preferred'),
      exclusiveCpu,
      memberClusters: [...(t.placement?.memberClusters ?? [])],
      nodeSelector: { ...(t.placement?.nodeSelector ?? {}) },
      ...(t.placement?.memberClusterLoss !== undefined ? { memberClusterLoss: t.placement.memberClusterLoss } : {}),
    },
  };
  if (sentinel) resolved.sentinel = sentinel;
  if (proxy) resolved.proxy = proxy;
  if (t.credentials) resolved.credentials = t.credentials;
  return resolved;
}

/** True when the topology is deployed to `envName` (no `environments:` list means everywhere). */
export function appliesTo(t: Topology, envName: string): boolean {
  return t.environments === undefined || t.environments.includes(envName);
}
