// What expand writes into pods and policies: Pod Security "restricted" on every container,
// Guaranteed QoS for exclusive CPUs, spreading, disruption budgets and who may reach whom.

import { describe, expect, it } from 'vitest';
import { expandTopology } from '../../compiler/expand/index.js';
import { placeTopology } from '../../compiler/place/index.js';
import { resolveTopology } from '../../compiler/resolve/index.js';
import type { Environment, InstanceSet, KubeObject, Topology } from '../../schemas/types/index.js';

const env: Environment = {
  name: 'prod',
  namespace: 'db-{team}',
  memberClusters: [{ name: 'm', destination: { name: 'm' }, zones: ['a', 'b', 'c'] }],
  defaults: { resources: { cpu: '1500m', memory: '2Gi' } },
};

function expand(t: Topology): KubeObject[] {
  const { placed, problems } = placeTopology(resolveTopology(t, env, `topologies/${t.name}.yaml`), env);
  expect(problems).toEqual([]);
  if (!placed) throw new Error('not placed');
  return expandTopology(placed).flatMap((m) => m.objects);
}

const sets = (objects: KubeObject[]): InstanceSet[] => objects.filter((o) => o.kind === 'InstanceSet') as unknown as InstanceSet[];
const find = (objects: KubeObject[], kind: string, name: string): Record<string, unknown> & KubeObject => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} missing`);
  return o as Record<string, unknown> & KubeObject;
};

const proxied: Topology = {
  name: 'feed',
  team: 'web',
  engine: 'redis',
  mode: 'proxied-replication',
  version: '7.2.4',
  replicas: 3,
  sentinel: { replicas: 3, quorum: 2 },
  proxy: { replicas: 2 },
  placement: { exclusiveCpu: true, zoneSpread: true, antiAffinity: 'required' },
};

describe('expand', () => {
  it("gives every container the environment's imagePullPolicy, IfNotPresent without one", () => {
    const policies = (e: Environment): string[] => {
      const { placed } = placeTopology(resolveTopology(proxied, e, 'topologies/feed.yaml'), e);
      if (!placed) throw new Error('not placed');
      return sets(expandTopology(placed).flatMap((m) => m.objects)).flatMap((is) => {
        const spec = is.spec.template.spec as unknown as { containers: Array<{ imagePullPolicy: string }>; initContainers: Array<{ imagePullPolicy: string }> };
        return [...spec.containers, ...spec.initContainers].map((c) => c.imagePullPolicy);
      });
    };
    const defaults = policies(env);
    expect(defaults.length).toBe(6); // server, Sentinel, proxy: a container and a render-config init container each
    expect(new Set(defaults)).toEqual(new Set(['IfNotPresent']));
    expect(new Set(policies({ ...env, defaults: { ...env.defaults, imagePullPolicy: 'Never' } }))).toEqual(new Set(['Never']));
  });

  it('meets Pod Security "restricted" on every container, init containers included', () => {
    for (const is of sets(expand(proxied))) {
      const spec = is.spec.template.spec as unknown as { securityContext: Record<string, unknown>; containers: Array<Record<string, unknown>>; initContainers: Array<Record<string, unknown>> };
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      for (const c of [...spec.containers, ...spec.initContainers]) {
        expect(c.securityContext, `${is.metadata.name}/${String(c.name)}`).toMatchObject({
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        });
        for (const p of (c.ports as Array<Record<string, unknown>> | undefined) ?? []) expect(p.protocol).toBe('TCP');
      }
    }
  });

  it('probes readiness with the engine itself for servers, the port for Sentinels and proxies', () => {
    const probe = (objects: KubeObject[], set: string): Record<string, unknown> =>
      (sets(objects).find((s) => s.metadata.name === set)?.spec.template.spec.containers[0] as unknown as { readinessProbe: Record<string, unknown> }).readinessProbe;
    const redis = expand(proxied);
    // PING answers PONG only once the dataset is loaded (LOADING before); no password on the command line
    expect(probe(redis, 'feed-server')).toMatchObject({ exec: { command: ['sh', '-c', '[ "$(redis-cli -p 6379 ping)" = PONG ]'] } });
    expect(probe(expand({ ...proxied, credentials: { password: { name: 'feed-auth', key: 'password' } } }), 'feed-server')).toMatchObject({
      exec: { command: ['sh', '-c', '[ "$(REDISCLI_AUTH="$PASSWORD" redis-cli -p 6379 ping)" = PONG ]'] },
    });
    expect(probe(redis, 'feed-sentinel')).toMatchObject({ tcpSocket: { port: 'sentinel' } });
    expect(probe(redis, 'feed-proxy')).toMatchObject({ tcpSocket: { port: 'proxy' } });
    const shop = expand({ name: 'shop', team: 'web', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 2, proxy: { replicas: 1 } });
    expect(probe(shop, 'shop-server')).toMatchObject({ exec: { command: ['mariadb-admin', '--socket=/tmp/mysqld.sock', '--connect-timeout=1', 'ping'] } });
    expect(probe(shop, 'shop-proxy')).toMatchObject({ tcpSocket: { port: 'proxy' } });
  });

  it('runs twemproxy logging to stderr, never to a log file the image\'s user may not open', () => {
    const proxy = sets(expand(proxied)).find((s) => s.metadata.name === 'feed-proxy');
    const command = (proxy?.spec.template.spec.containers[0] as unknown as { command: string[] }).command;
    expect(command.slice(0, 3)).toEqual(['nutcracker', '-c', '/config/nutcracker.yml']);
    // nutcracker logs to stderr only for an empty -o; Debian's default is /var/log/nutcracker/
    expect(command.slice(command.indexOf('-o'), command.indexOf('-o') + 2)).toEqual(['-o', '']);
  });

  it('gives exclusive CPUs Guaranteed QoS with whole CPUs (requests = limits)', () => {
    for (const is of sets(expand(proxied))) {
      const main = (is.spec.template.spec.containers[0] ?? {}) as { resources: { requests: Record<string, string>; limits: Record<string, string> } };
      expect(main.resources.requests).toEqual(main.resources.limits);
      expect(main.resources.requests.cpu).toMatch(/^[1-9][0-9]*$/);
    }
    const server = sets(expand(proxied)).find((s) => s.metadata.name === 'feed-server');
    expect((server?.spec.template.spec.containers[0] as unknown as { resources: { limits: { cpu: string } } }).resources.limits.cpu).toBe('2');
  });

  it('spreads servers over zones and keeps them off one node', () => {
    const server = sets(expand(proxied)).find((s) => s.metadata.name === 'feed-server');
    const spec = server?.spec.template.spec as Record<string, unknown>;
    expect(spec.topologySpreadConstraints).toEqual([expect.objectContaining({ topologyKey: 'topology.kubernetes.io/zone', maxSkew: 1 })]);
    expect(spec.affinity).toMatchObject({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [expect.objectContaining({ topologyKey: 'kubernetes.io/hostname' })] } });
    expect(server?.spec.roles?.map((r) => [r.name, r.updatePriority, r.isExclusive])).toEqual([
      ['primary', 2, true],
      ['secondary', 1, false],
    ]);
    expect(server?.spec.memberUpdateStrategy).toBe('Serial');
    expect(server?.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('budgets disruptions: servers one at a time, Sentinels keep their quorum', () => {
    const objects = expand(proxied);
    expect((find(objects, 'PodDisruptionBudget', 'feed-server').spec as Record<string, unknown>).maxUnavailable).toBe(1);
    expect((find(objects, 'PodDisruptionBudget', 'feed-sentinel').spec as Record<string, unknown>).minAvailable).toBe(2);
  });

  it('with a proxy, only the proxy is open to clients', () => {
    const objects = expand(proxied);
    const server = find(objects, 'NetworkPolicy', 'feed-server').spec as { ingress: Array<{ from?: Array<{ podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: unknown }> }> };
    const components = server.ingress[0]?.from?.flatMap((p) => (p.podSelector ? [p.podSelector.matchLabels['app.kubernetes.io/component']] : ['controller']));
    expect(components?.sort()).toEqual(['controller', 'proxy', 'sentinel', 'server']);
    const proxy = find(objects, 'NetworkPolicy', 'feed-proxy').spec as { ingress: Array<{ from?: unknown }> };
    expect(proxy.ingress[0]?.from).toBeUndefined();
  });

  it('without a proxy, clients reach the server port (through the -primary Service)', () => {
    const objects = expand({ ...proxied, name: 'plain', mode: 'replication', proxy: undefined });
    const server = find(objects, 'NetworkPolicy', 'plain-server').spec as { ingress: Array<{ from?: unknown; ports: unknown }> };
    expect(server.ingress[0]?.from).toBeUndefined();
    expect(server.ingress[0]?.ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
    expect(objects.some((o) => o.metadata.name === 'plain-proxy')).toBe(false);
    const primary = find(objects, 'Service', 'plain-server-primary').spec as { selector: Record<string, string> };
    expect(primary.selector['dbtopo.dev/role']).toBe('primary');
  });

  it('MySQL: semi-sync in my.cnf, HAProxy in front of the -primary Service', () => {
    const objects = expand({ name: 'shop', team: 'web', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 3, replication: { mode: 'semi-sync' }, proxy: { replicas: 2 } });
    const cnf = (find(objects, 'ConfigMap', 'shop-server-config').data as Record<string, string>)['my.cnf'] ?? '';
    expect(cnf).toMatch(/^loose-rpl-semi-sync-master-enabled = OFF$/m);
    expect(cnf).toMatch(/^loose-rpl-semi-sync-slave-enabled = ON$/m);
    expect(cnf).toMatch(/^read-only = ON$/m);
    // never the 10 s default after which MariaDB acknowledges commits no replica has
    expect(cnf).toMatch(/^loose-rpl-semi-sync-master-timeout = 4294967295$/m);
    expect(cnf).toMatch(/^loose-rpl-semi-sync-master-wait-point = AFTER_SYNC$/m);
    const cfg = (find(objects, 'ConfigMap', 'shop-proxy-config').data as Record<string, string>)['haproxy.cfg'] ?? '';
    // the full name: HAProxy's run-time resolvers apply no search domains
    expect(cfg).toMatch(/^  server primary-0 shop-server-primary\.db-web\.svc\.cluster\.local:3306$/m);
    const server = sets(objects).find((s) => s.metadata.name === 'shop-server');
    expect(server?.spec.engine).toMatchObject({ type: 'mysql', replication: { mode: 'semi-sync' } });
    expect((server?.spec.template.spec.containers[0] as unknown as { command: string[] }).command[0]).toBe('mariadbd');
  });

  it('HAProxy names the -primary Service in the environment\'s clusterDomain', () => {
    const t: Topology = { name: 'shop', team: 'web', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 2, proxy: { replicas: 1 } };
    const other = { ...env, clusterDomain: 'corp.internal' };
    const { placed } = placeTopology(resolveTopology(t, other, 'topologies/shop.yaml'), other);
    const objects = expandTopology(placed!).flatMap((m) => m.objects);
    const cfg = (find(objects, 'ConfigMap', 'shop-proxy-config').data as Record<string, string>)['haproxy.cfg'] ?? '';
    expect(cfg).toMatch(/^  server primary-0 shop-server-primary\.db-web\.svc\.corp\.internal:3306$/m);
  });

  it('MySQL semi-sync: a topology\'s own rpl_semi_sync_master_timeout replaces the rendered one; async renders none', () => {
    const cnfOf = (t: Partial<Topology>): string =>
      (find(expand({ name: 'shop', team: 'web', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 3, ...t } as Topology), 'ConfigMap', 'shop-server-config').data as Record<string, string>)['my.cnf'] ?? '';
    const own = cnfOf({ replication: { mode: 'semi-sync' }, parameters: { 'rpl-semi-sync-master-timeout': '30000' } });
    expect(own).not.toMatch(/^loose-rpl-semi-sync-master-timeout/m);
    expect(own).toMatch(/^rpl-semi-sync-master-timeout = 30000$/m);
    expect(own).toMatch(/^loose-rpl-semi-sync-master-wait-point = AFTER_SYNC$/m);
    expect(cnfOf({ replication: { mode: 'async' } })).not.toMatch(/semi-sync-master-(timeout|wait-point)/);
  });
});
