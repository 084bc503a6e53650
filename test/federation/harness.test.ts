// The federation harness itself (test/federation/harness.ts), end to end on real parts: shard 0 of
// the example's prod feed-shards as the compiler renders it for prod-eu-west (ordinals 0–1, on
// control plane member-a) and prod-eu-central (ordinal 2, on member-b), each member cluster with
// its guard, test kubelet and member controller, both kubelets on one flat pod network. Shows: the
// redis-server pods come up in both member clusters, each in its own pod subnet; a pod in one
// member cluster replicates from a pod in the other (REPLICAOF, master_link_status:up, data);
// partition() takes the link down within a bound and heal() brings it back; the federation API
// server answers and holds one working Argo-CD-style cluster Secret per member cluster;
// stopApiServer / killEngines stop what they say until resumed / released; stop() leaves no
// network namespace, firewall rule, engine process or cluster Secret behind.
import { execFileSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, rawRequest } from '../cluster/helpers.js';
import { allReady, loadRendered } from '../e2e/engines-helpers.js';
import { portOpen } from '../kubelet/net.js';
import { CLUSTER_SECRET_LABEL, FEDERATION_NAMESPACE, startFederationEnv, type FederationEnv } from './harness.js';

const SET = 'feed-shards-shard-0';
const NS = `fed-harness-${Date.now().toString(36)}`;
const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
// The kinds a member control plane serves here (the CRDs the guard's set-up installs, and core ones).
const KINDS = new Set(['InstanceSet', 'ConfigMap', 'Service', 'PodDisruptionBudget', 'Secret']);
const shard0 = (member: string): k8s.KubernetesObject[] =>
  loadRendered(`prod/${member}/db-feed/feed-shards`, 'db-feed', NS).filter((o) => (o.metadata?.name ?? '').startsWith(SET) && KINDS.has(o.kind ?? ''));

const netnsList = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
const inCidr = (ip: string, cidr: string): boolean => cidr !== '' && ip.startsWith(cidr.replace(/0\/24$/, ''));

describe('federation harness: member clusters on one flat pod network, a federation API server', () => {
  let env: FederationEnv;
  const clients: Redis[] = [];
  const redis = (host: string): Redis => {
    const c = new Redis({ host, port: 6379, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const link = async (host: string): Promise<string> => /master_link_status:(\w+)/.exec(String(await redis(host).info('replication')))?.[1] ?? 'none';
  let west: k8s.V1Pod[] = [];
  let central: k8s.V1Pod[] = [];

  beforeAll(async () => {
    const t0 = performance.now();
    env = await startFederationEnv({
      namespace: NS,
      members: {
        [WEST]: { controlPlane: 'member-a', objects: shard0(WEST) },
        [CENTRAL]: { controlPlane: 'member-b', objects: shard0(CENTRAL) },
      },
    });
    process.stderr.write(`[federation] environment up in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await env?.stop();
  });

  it('the rendered shard-0 servers come up in both member clusters, each in its own pod subnet', async () => {
    const t0 = performance.now();
    west = await allReady(env.member(WEST).core, NS, SET, 2, 180_000);
    central = await allReady(env.member(CENTRAL).core, NS, SET, 1, 180_000);
    process.stderr.write(`[federation] 3 redis-server pods Ready ${((performance.now() - t0) / 1000).toFixed(1)} s after the start\n`);
    expect(west.map((p) => p.metadata?.name)).toEqual([`${SET}-0`, `${SET}-1`]);
    expect(central.map((p) => p.metadata?.name)).toEqual([`${SET}-2`]);
    const { podCidr: westCidr } = env.member(WEST);
    const { podCidr: centralCidr } = env.member(CENTRAL);
    expect(westCidr).not.toBe(centralCidr);
    for (const p of west) expect(inCidr(ipOf(p), westCidr), `${ipOf(p)} in ${westCidr}`).toBe(true);
    for (const p of central) expect(inCidr(ipOf(p), centralCidr), `${ipOf(p)} in ${centralCidr}`).toBe(true);
    for (const p of [...west, ...central]) expect(String(await redis(ipOf(p)).ping())).toBe('PONG');
  });

  it('a pod in one member cluster replicates from a pod in the other; partition() cuts the link, heal() restores it', async () => {
    const replica = ipOf(west[0]!);
    const primary = ipOf(central[0]!);
    // Stand in for the federation authority: prod-eu-west's server-0 follows prod-eu-central's server-2.
    // This is about the network: writes on the cut-off primary stay accepted (spread shards render
    // min-replicas-to-write 1, which would refuse them under the partition).
    await redis(primary).config('SET', 'min-replicas-to-write', '0');
    expect(await redis(replica).replicaof(primary, '6379')).toBe('OK');
    await eventually('replica link up across member clusters', async () => ((await link(replica)) === 'up' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const info = String(await redis(primary).info('replication'));
    expect(info).toContain(`ip=${replica},`);
    await redis(primary).set('fed:k', 'v1');
    await eventually('v1 replicated', async () => ((await redis(replica).get('fed:k')) === 'v1' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });

    // A silent link is noticed after repl-timeout (60 s rendered default): 3 s keeps the bound short.
    await redis(replica).config('SET', 'repl-timeout', '3');
    await redis(primary).config('SET', 'repl-timeout', '3');
    const t0 = performance.now();
    env.partition(WEST, CENTRAL);
    expect(env.flat.rules()).toHaveLength(2);
    await eventually('replica link down under the partition', async () => ((await link(replica)) === 'down' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const downS = (performance.now() - t0) / 1000;
    expect(downS).toBeLessThan(30);
    // The host (tests, controllers) still reaches every pod.
    for (const p of [...west, ...central]) expect(await portOpen(ipOf(p), 6379, 1_000), ipOf(p)).toBe(true);
    await redis(primary).set('fed:k', 'v2');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await redis(replica).get('fed:k')).toBe('v1');

    const t1 = performance.now();
    env.heal();
    expect(env.flat.rules()).toEqual([]);
    await eventually('replica link up after heal', async () => ((await link(replica)) === 'up' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    await eventually('v2 replicated after heal', async () => ((await redis(replica).get('fed:k')) === 'v2' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    process.stderr.write(`[federation] cross-cluster link down ${downS.toFixed(1)} s after partition (repl-timeout 3 s), up ${((performance.now() - t1) / 1000).toFixed(1)} s after heal\n`);
    expect(await redis(replica).replicaof('NO', 'ONE')).toBe('OK');
  });

  it('the federation API server answers and holds one working cluster Secret per member cluster', async () => {
    const fedCore = env.federation.kc.makeApiClient(k8s.CoreV1Api);
    const version = await rawRequest(env.federation.kc, 'GET', '/version');
    expect(version.status).toBe(200);
    expect(env.federation.server).not.toBe(env.member(WEST).controlPlane.server);
    const list = await fedCore.listNamespacedSecret({ namespace: FEDERATION_NAMESPACE, labelSelector: 'argocd.argoproj.io/secret-type=cluster' });
    const decode = (s: k8s.V1Secret, key: string): string => Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
    const byName = new Map(list.items.map((s) => [decode(s, 'name'), s]));
    expect([...byName.keys()].sort()).toEqual([CENTRAL, WEST]);
    for (const name of [WEST, CENTRAL]) {
      const s = byName.get(name)!;
      expect(s.metadata?.labels).toMatchObject(CLUSTER_SECRET_LABEL);
      expect(decode(s, 'server')).toBe(env.member(name).controlPlane.server);
      // Argo CD's shape: {"tlsClientConfig":{"caData","certData","keyData"}}, base64 PEMs.
      const config = JSON.parse(decode(s, 'config')) as { tlsClientConfig: { caData: string; certData: string; keyData: string } };
      for (const k of ['caData', 'certData', 'keyData'] as const) expect(Buffer.from(config.tlsClientConfig[k], 'base64').toString('utf8')).toMatch(/^-----BEGIN /);
      // Its credentials reach the member cluster: list the shard's pods with them.
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name, server: decode(s, 'server'), caData: config.tlsClientConfig.caData }],
        users: [{ name, certData: config.tlsClientConfig.certData, keyData: config.tlsClientConfig.keyData }],
        contexts: [{ name, cluster: name, user: name }],
        currentContext: name,
      });
      const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: NS });
      expect(pods.items.filter((p) => p.metadata?.name?.startsWith(SET)).length).toBe(name === WEST ? 2 : 1);
    }
  });

  it('stopApiServer freezes a member API server until resumed; killEngines keeps its engines down until released', async () => {
    const central0 = ipOf(central[0]!);
    const admin = env.member(CENTRAL).admin;
    env.stopApiServer(CENTRAL);
    const frozen = await rawRequest(admin, 'GET', '/version', undefined, 'application/json', 2_000).then(() => 'answered', (err: unknown) => String(err));
    expect(frozen).toMatch(/timeout/);
    // the other member cluster is not affected
    expect((await rawRequest(env.member(WEST).admin, 'GET', '/version', undefined, 'application/json', 5_000)).status).toBe(200);
    const ms = await env.resumeApiServer(CENTRAL);
    expect((await rawRequest(admin, 'GET', '/version', undefined, 'application/json', 5_000)).status).toBe(200);
    process.stderr.write(`[federation] member API server answered ${ms.toFixed(0)} ms after SIGCONT\n`);

    const hit = env.killEngines(CENTRAL);
    expect(hit).toEqual([`${NS}/${SET}-2`]);
    await eventually('engine down', async () => (!(await portOpen(central0, 6379, 300)) ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    // far longer than the kubelet's restart backoff (200 ms): still down
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await portOpen(central0, 6379, 500)).toBe(false);
    expect(await portOpen(ipOf(west[0]!), 6379, 500)).toBe(true);
    env.releaseEngines(CENTRAL);
    await eventually('engine back', async () => ((await portOpen(central0, 6379, 300)) ? true : undefined), { timeoutMs: 20_000, intervalMs: 100 });
    await allReady(env.member(CENTRAL).core, NS, SET, 1, 60_000);
  });

  it('stop() leaves no network namespace, firewall rule, engine process or cluster Secret', async () => {
    const podsNow = [...(await env.member(WEST).core.listNamespacedPod({ namespace: NS })).items, ...(await env.member(CENTRAL).core.listNamespacedPod({ namespace: NS })).items];
    const pids = podsNow.map((p) => Number(/dbtopo-test:\/\/(\d+)/.exec(p.status?.containerStatuses?.[0]?.containerID ?? '')?.[1] ?? 0)).filter((n) => n > 1);
    expect(pids.length).toBe(3);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    const namespaces = [env.flat.netns, env.member(WEST).kubelet.netns, env.member(CENTRAL).kubelet.netns];
    for (const n of namespaces) expect(netnsList()).toContain(n);
    env.partition(WEST, CENTRAL); // a rule in force when stop() comes
    const fedCore = env.federation.kc.makeApiClient(k8s.CoreV1Api);

    await env.stop();

    for (const pid of pids) expect(alive(pid), `engine ${pid}`).toBe(false);
    await eventually('namespaces gone', async () => (netnsList().some((n) => namespaces.includes(n)) ? undefined : true), { timeoutMs: 10_000, intervalMs: 100 });
    // no partition chain anywhere on the host either
    expect(execFileSync('iptables-save', [], { encoding: 'utf8' })).not.toContain('DBTOPO-PARTITION');
    const left = await fedCore.listNamespacedSecret({ namespace: FEDERATION_NAMESPACE }).then((l) => l.items.length, () => 0);
    expect(left).toBe(0);
  });
});
