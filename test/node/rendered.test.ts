// The example's topologies, compiled for the node environment (test/node/env/node.yaml) by the
// `dbtopo compile` CLI and applied unmodified onto a real node, as Argo CD's application
// controller (the rendered admission guard is in force): images from Debian's packages
// (build-images.sh), containerd + runc, the CNI bridge, kube-proxy, CoreDNS and local-path volumes
// (addons.ts). The controller runs there as a pod, installed from controller/install/install.yaml
// with only its image replaced by the one build-controller-image.sh packs from this checkout: its
// ServiceAccount and RBAC, leader election and metrics as a user installs them. Only the sizes
// differ from the example (a dev cluster of one 2-CPU node: the topologies' own
// `resources`/`storage` are scaled down here).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS } from '../../schemas/types/index.js';
import { resolveBinDir, startControlPlane, type ControlPlane } from '../cluster/launcher.js';
import { eventually } from '../support/eventually.js';
import { asGitops, ResourcePaths, serverSideApply } from '../cluster/helpers.js';
import { startDns, startLocalPath } from './addons.js';
import { evictPod } from '../e2e/guarded-namespace.js';
import { ENGINE_IMAGE_ARCHIVE, startRealNode, type RealNode } from './node.js';
import { ensureNodeParts } from './parts.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const TOPOLOGIES = ['sessions-cache', 'billing-db'];
const REDIS_NS = 'db-identity-node';
const MYSQL_NS = 'db-billing-node';
const REDIS_PASSWORD = `pw-${process.pid}`;
const MYSQL_USER = 'dbadmin';
const MYSQL_PASSWORD = `my-${process.pid}`;
const CONTROLLER_IMAGE = 'dbtopo.local/controller:dev';

/** A GitOps repo: the example's environments plus the node one, the chosen topologies scaled down. */
function compileForNode(): k8s.KubernetesObject[] {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-node-repo-'));
  try {
    fs.mkdirSync(path.join(repo, 'envs'));
    fs.mkdirSync(path.join(repo, 'topologies'));
    for (const f of fs.readdirSync(path.join(root, 'environments/envs'))) fs.copyFileSync(path.join(root, 'environments/envs', f), path.join(repo, 'envs', f));
    fs.copyFileSync(path.join(root, 'test/node/env/node.yaml'), path.join(repo, 'envs/node.yaml'));
    for (const t of TOPOLOGIES) {
      const text = fs
        .readFileSync(path.join(root, 'environments/topologies', `${t}.yaml`), 'utf8')
        .replace(/^resources: .*$/m, 'resources: { cpu: 50m, memory: 256Mi }')
        .replace(/^storage: .*$/m, 'storage: { size: 256Mi }')
        .replace(/^environments: .*$/m, '');
      fs.writeFileSync(path.join(repo, 'topologies', `${t}.yaml`), text);
    }
    execFileSync(path.join(root, 'scripts/dbtopo'), ['compile', '--repo', repo, '--out', path.join(repo, 'rendered'), '--env', 'node'], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    const out: k8s.KubernetesObject[] = [];
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.yaml')) for (const d of parseAllDocuments(fs.readFileSync(p, 'utf8'))) out.push(d.toJS() as k8s.KubernetesObject);
      }
    };
    walk(path.join(repo, 'rendered/node/node-main'));
    return out;
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

/** Cluster-scoped first (CRDs, Namespaces, policies), as Argo CD's sync waves order them. */
const order = (o: k8s.KubernetesObject): number => (o.kind === 'CustomResourceDefinition' ? 0 : o.kind === 'Namespace' ? 1 : o.metadata?.namespace === undefined ? 2 : 3);

describe('the example topologies on a real node', () => {
  let cp: ControlPlane;
  let node: RealNode;
  const addons: Array<{ stop(): Promise<void> }> = [];
  const admin = (): k8s.KubeConfig => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    return kc;
  };
  let core: k8s.CoreV1Api;
  const clients: Array<{ disconnect(): void }> = [];

  const podsOf = async (ns: string, set: string): Promise<k8s.V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: ns, labelSelector: `${LABELS.instanceSet}=${set}` })).items.filter((p) => p.metadata?.deletionTimestamp === undefined);
  const ready = (p: k8s.V1Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
  const settled = (ns: string, set: string, count: number, timeoutMs: number): Promise<{ primary: k8s.V1Pod; secondaries: k8s.V1Pod[] }> =>
    eventually(`${set}: ${count} pods Ready, one primary`, async () => {
      const ps = await podsOf(ns, set);
      const prim = ps.filter((p) => p.metadata?.labels?.[LABELS.role] === 'primary');
      const sec = ps.filter((p) => p.metadata?.labels?.[LABELS.role] === 'secondary');
      return ps.length === count && ps.every(ready) && prim.length === 1 && sec.length === count - 1 ? { primary: prim[0]!, secondaries: sec } : undefined;
    }, { timeoutMs, intervalMs: 500 });
  const clusterIp = async (ns: string, name: string): Promise<string> => (await core.readNamespacedService({ namespace: ns, name })).spec?.clusterIP ?? '';
  /** Every pod's state, and the last log lines of its containers and of the controller: what a failure needs. */
  const podStatusSummary = async (ns: string): Promise<string> => {
    const lines: string[] = [];
    const tailOf = async (namespace: string, name: string, container: string): Promise<string> =>
      (await core.readNamespacedPodLog({ namespace, name, container, tailLines: 12 }).catch(() => '')).trim().replace(/^/gm, '    | ');
    for (const p of (await core.listNamespacedPod({ namespace: ns })).items) {
      const statuses = (p.status?.initContainerStatuses ?? []).concat(p.status?.containerStatuses ?? []);
      lines.push(`${p.metadata?.name} ${p.status?.phase} role=${p.metadata?.labels?.[LABELS.role] ?? '-'} ${statuses.map((c) => `${c.name}:${c.ready ? 'ready' : JSON.stringify(c.state?.waiting ?? c.state?.terminated ?? c.lastState?.terminated ?? {})}`).join(',')}`);
      for (const c of statuses) if (!c.ready || ns === MYSQL_NS) lines.push(`  ${c.name}:\n${await tailOf(ns, p.metadata!.name!, c.name)}`);
    }
    for (const p of (await core.listNamespacedPod({ namespace: 'dbtopo-system' })).items) lines.push(`controller ${p.metadata?.name}:\n${await tailOf('dbtopo-system', p.metadata!.name!, 'controller')}`);
    return lines.join('\n');
  };

  beforeAll(async () => {
    const parts = ensureNodeParts();
    const log = (m: string): void => void process.stderr.write(`${m}\n`);
    cp = await startControlPlane({ name: 'node-rendered', binDir: resolveBinDir(), realNodes: true, log });
    node = await startRealNode({ controlPlane: cp, binDir: parts.nodeBinDir, imageDir: parts.imageDir, images: [path.join(parts.imageDir, ENGINE_IMAGE_ARCHIVE)], log });
    addons.push(await startDns({ controlPlane: cp, node, addonDir: parts.addonDir, log }));
    addons.push(await startLocalPath({ controlPlane: cp, node, addonDir: parts.addonDir, log }));
    core = admin().makeApiClient(k8s.CoreV1Api);
    // raw server-side apply: client-node's typed serializer would drop the CRDs' x-kubernetes-* keys
    const adminPaths = new ResourcePaths(admin());
    // 1. the controller, as a user installs it (kubectl apply -f install.yaml, the image overridden)
    const controllerImage = execFileSync(path.join(root, 'test/node/build-controller-image.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 }).trim().split('\n').pop()!;
    execFileSync('ctr', ['--address', `${node.dir}/containerd.sock`, '-n', 'k8s.io', 'images', 'import', '--no-unpack', controllerImage], { timeout: 120_000 });
    const install = parseAllDocuments(fs.readFileSync(path.join(root, 'controller/install/install.yaml'), 'utf8')).map((d) => d.toJS() as k8s.KubernetesObject);
    for (const o of install) {
      if (o.kind === 'Deployment') {
        const c = (o as k8s.V1Deployment).spec!.template.spec!.containers[0]!;
        c.image = CONTROLLER_IMAGE;
        c.imagePullPolicy = 'Never';
      }
      await serverSideApply(admin(), adminPaths, o, { fieldManager: 'kubectl' });
    }
    await eventually('the controller Deployment available', async () => {
      const d = await admin().makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ namespace: 'dbtopo-system', name: 'dbtopo-controller' });
      return (d.status?.availableReplicas ?? 0) >= 1 ? true : undefined;
    }, { timeoutMs: 120_000, intervalMs: 500 }).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podStatusSummary('dbtopo-system')}`);
    });
    // 2. the rendered repo, as Argo CD syncs it: cluster-scoped first (CRDs exist already)
    const gitopsKc = await asGitops(admin());
    const gitopsPaths = new ResourcePaths(gitopsKc);
    const sync = (o: k8s.KubernetesObject): Promise<unknown> => serverSideApply(gitopsKc, gitopsPaths, o, { fieldManager: 'argocd-controller' });
    const rendered = compileForNode().sort((a, b) => order(a) - order(b));
    for (const o of rendered.filter((o) => order(o) <= 2)) await sync(o);
    await eventually('default ServiceAccounts', async () => {
      for (const ns of [REDIS_NS, MYSQL_NS]) await core.readNamespacedServiceAccount({ namespace: ns, name: 'default' });
      return true;
    });
    await core.createNamespacedSecret({ namespace: REDIS_NS, body: { metadata: { name: 'sessions-cache-auth' }, stringData: { password: REDIS_PASSWORD } } });
    await core.createNamespacedSecret({ namespace: MYSQL_NS, body: { metadata: { name: 'billing-db-admin' }, stringData: { username: MYSQL_USER, password: MYSQL_PASSWORD } } });
    for (const o of rendered.filter((o) => order(o) > 2)) await sync(o);
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const a of addons.reverse()) await a.stop();
    await node?.stop();
    await cp?.stop();
  });

  it('Redis with Sentinel: Ready, one primary labelled, a write through the -primary ClusterIP reaches the replicas', { timeout: 200_000 }, async () => {
    const t0 = performance.now();
    const { primary, secondaries } = await settled(REDIS_NS, 'sessions-cache-server', 2, 120_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podStatusSummary(REDIS_NS)}`);
    });
    console.log(`sessions-cache: 2 servers Ready with roles in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ip = await clusterIp(REDIS_NS, 'sessions-cache-server-primary');
    const viaService = new Redis({ host: ip, port: 6379, password: REDIS_PASSWORD, maxRetriesPerRequest: 2, connectTimeout: 3_000 });
    viaService.on('error', () => undefined); // the failover test below takes its server away
    clients.push(viaService);
    expect(String(await viaService.info('replication'))).toMatch(/role:master/);
    await viaService.set('k', 'through-the-service');
    for (const s of secondaries) {
      const r = new Redis({ host: s.status?.podIP ?? '', port: 6379, password: REDIS_PASSWORD, maxRetriesPerRequest: 2, connectTimeout: 3_000 });
      r.on('error', () => undefined);
      clients.push(r);
      await eventually(`replica ${s.metadata?.name} has the write`, async () => ((await r.get('k')) === 'through-the-service' ? true : undefined));
      expect(String(await r.info('replication'))).toContain(`master_host:`);
    }
    expect(primary.spec?.nodeName).toBe(node.name);
    // restricted really: the engine runs as uid 999 in the container
    const uid = (await core.readNamespacedPod({ namespace: REDIS_NS, name: primary.metadata!.name! })).spec?.containers[0]?.securityContext?.runAsUser;
    expect(uid).toBe(999);
  });

  it('MariaDB behind HAProxy: the rendered init container initialises the data directory and the admin account from the Secret', { timeout: 240_000 }, async () => {
    const t0 = performance.now();
    const { primary } = await settled(MYSQL_NS, 'billing-db-server', 2, 180_000).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podStatusSummary(MYSQL_NS)}`);
    });
    console.log(`billing-db: 2 servers Ready with roles in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ip = await clusterIp(MYSQL_NS, 'billing-db-server-primary');
    const c = await mysql.createConnection({ host: ip, port: 3306, user: MYSQL_USER, password: MYSQL_PASSWORD, connectTimeout: 5_000 });
    try {
      const [rows] = await c.query('SELECT @@hostname AS host, @@read_only AS ro, CURRENT_USER() AS me');
      const row = (rows as Array<{ host: string; ro: number; me: string }>)[0]!;
      expect(row.host).toBe(primary.metadata?.name);
      expect(row.ro).toBe(0);
      expect(row.me.startsWith(`${MYSQL_USER}@`)).toBe(true);
    } finally {
      await c.end();
    }
  });

  it('the controller pod holds the leader Lease and serves its metrics', async () => {
    const lease = await admin().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace: 'dbtopo-system', name: 'dbtopo-controller' });
    const controllerPods = (await core.listNamespacedPod({ namespace: 'dbtopo-system', labelSelector: 'app.kubernetes.io/name=dbtopo-controller' })).items;
    expect(controllerPods.map((p) => p.metadata?.name)).toContain(lease.spec?.holderIdentity);
    // the leader's: install.yaml runs more than one replica, and a standby reconciles nothing
    const ip = controllerPods.find((p) => p.metadata?.name === lease.spec?.holderIdentity)?.status?.podIP;
    const metrics = await (await fetch(`http://${ip}:8080/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    expect(metrics).toMatch(/^dbtopo_reconcile_total\{.*result="success".*\} [1-9]/m);
  });

  it('a client pod reaches MariaDB through the HAProxy Service by its DNS name', async () => {
    const name = 'sql-client';
    await core.createNamespacedPod({
      namespace: MYSQL_NS,
      body: {
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, runAsUser: 999, runAsGroup: 999, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'client',
              image: 'dbtopo.local/mariadb:10.11',
              imagePullPolicy: 'Never',
              command: ['sh', '-c', `for i in $(seq 30); do mariadb -h billing-db-proxy -P 3306 -u ${MYSQL_USER} -p${MYSQL_PASSWORD} -N -e 'SELECT CONCAT("served-by=", @@hostname)' && exit 0; sleep 2; done; exit 1`],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
            },
          ],
        },
      },
    });
    const phase = await eventually('sql-client finished', async () => {
      const p = await core.readNamespacedPod({ namespace: MYSQL_NS, name });
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p.status.phase : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500 });
    const logs = await core.readNamespacedPodLog({ namespace: MYSQL_NS, name });
    if (phase !== 'Succeeded') throw new Error(`sql-client ${phase}:\n${logs}\n${await podStatusSummary(MYSQL_NS)}`);
    const primary = (await podsOf(MYSQL_NS, 'billing-db-server')).find((p) => p.metadata?.labels?.[LABELS.role] === 'primary');
    expect(logs).toContain(`served-by=${primary?.metadata?.name}`);
  });

  it('an evicted MariaDB secondary comes back on its bound claim with its data', { timeout: 200_000 }, async () => {
    const { secondaries } = await settled(MYSQL_NS, 'billing-db-server', 2, 60_000);
    const old = secondaries[0]!;
    const claimName = old.spec?.volumes?.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName;
    expect(claimName).toBeDefined();
    const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: MYSQL_NS, name: claimName! });
    expect(claim.status?.phase).toBe('Bound');
    const ip = await clusterIp(MYSQL_NS, 'billing-db-server-primary');
    const c = await mysql.createConnection({ host: ip, port: 3306, user: MYSQL_USER, password: MYSQL_PASSWORD, connectTimeout: 5_000 });
    try {
      await c.query('CREATE DATABASE IF NOT EXISTS kept');
      await c.query('CREATE TABLE IF NOT EXISTS kept.t (id INT PRIMARY KEY, v VARCHAR(32))');
      await c.query("REPLACE INTO kept.t VALUES (1, 'before-delete')");
    } finally {
      await c.end();
    }
    // the rendered guard refuses a plain delete of a dbtopo pod; it leaves by eviction, as in a drain
    await expect(core.deleteNamespacedPod({ namespace: MYSQL_NS, name: old.metadata!.name! })).rejects.toThrow(/dbtopo guard \[controller-deletes\]/);
    await evictPod(admin(), MYSQL_NS, old.metadata!.name!);
    const back = await eventually('the secondary recreated, Ready, secondary again', async () => {
      const p = (await podsOf(MYSQL_NS, 'billing-db-server')).find((x) => x.metadata?.name === old.metadata?.name);
      return p !== undefined && p.metadata?.uid !== old.metadata?.uid && ready(p) && p.metadata?.labels?.[LABELS.role] === 'secondary' ? p : undefined;
    }, { timeoutMs: 150_000, intervalMs: 500 }).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podStatusSummary(MYSQL_NS)}`);
    });
    // the same claim, bound to the same volume, and the data directory found initialised on it
    const after = await core.readNamespacedPersistentVolumeClaim({ namespace: MYSQL_NS, name: claimName! });
    expect({ uid: after.metadata?.uid, volume: after.spec?.volumeName }).toEqual({ uid: claim.metadata?.uid, volume: claim.spec?.volumeName });
    const initLog = await core.readNamespacedPodLog({ namespace: MYSQL_NS, name: back.metadata!.name!, container: 'init-datadir' });
    expect(initLog).toContain('already initialised');
    const r = await mysql.createConnection({ host: back.status!.podIP!, port: 3306, user: MYSQL_USER, password: MYSQL_PASSWORD, connectTimeout: 5_000 });
    try {
      const row = await eventually('the row on the recreated secondary', async () => {
        const [rows] = await r.query('SELECT v FROM kept.t WHERE id = 1').catch(() => [[]]);
        return (rows as Array<{ v: string }>)[0]?.v;
      }, { timeoutMs: 30_000, intervalMs: 500 });
      expect(row).toBe('before-delete');
    } finally {
      await r.end();
    }
  });

  it('Redis failover: the primary pod evicted, Sentinel promotes the replica and the -primary Service follows it', { timeout: 200_000 }, async () => {
    const { primary, secondaries } = await settled(REDIS_NS, 'sessions-cache-server', 2, 60_000);
    const replica = secondaries[0]!;
    const t0 = performance.now();
    await expect(core.deleteNamespacedPod({ namespace: REDIS_NS, name: primary.metadata!.name! })).rejects.toThrow(/dbtopo guard \[primary-protected\]/);
    await evictPod(admin(), REDIS_NS, primary.metadata!.name!);
    const promoted = await eventually('the replica labelled primary', async () => {
      const p = (await podsOf(REDIS_NS, 'sessions-cache-server')).find((x) => x.metadata?.labels?.[LABELS.role] === 'primary');
      return p?.metadata?.name === replica.metadata?.name ? p : undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 }).catch(async (e: Error) => {
      throw new Error(`${e.message}\n${await podStatusSummary(REDIS_NS)}`);
    });
    console.log(`sessions-cache: primary pod evicted -> ${promoted.metadata?.name} labelled primary in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const ip = await clusterIp(REDIS_NS, 'sessions-cache-server-primary');
    const after = await eventually('a write through the -primary ClusterIP lands on the new primary', async () => {
      const c = new Redis({ host: ip, port: 6379, password: REDIS_PASSWORD, maxRetriesPerRequest: 0, connectTimeout: 2_000, lazyConnect: true });
      c.on('error', () => undefined);
      try {
        await c.connect();
        if (!String(await c.info('replication')).includes('role:master')) return undefined;
        await c.set('after-failover', 'yes');
        return { before: await c.get('k'), host: String(await c.config('GET', 'replica-announce-ip')) };
      } catch {
        return undefined;
      } finally {
        c.disconnect();
      }
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(after.before).toBe('through-the-service');
    expect(after.host).toContain(promoted.status?.podIP ?? 'no-ip');
    // the evicted pod comes back (on its claim) as a secondary of the new primary: still one primary
    const again = await settled(REDIS_NS, 'sessions-cache-server', 2, 120_000);
    expect(again.primary.metadata?.name).toBe(promoted.metadata?.name);
    expect(again.secondaries[0]?.metadata?.name).toBe(primary.metadata?.name);
  });
});
