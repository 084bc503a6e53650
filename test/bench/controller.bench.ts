// Controller benchmark on a real control plane (no kubelet, so "steady state" = every pod created
// and every status reporting 3 replicas — for both sides, said so in the output):
//   1. 200 InstanceSets × 3 pods under the dbtopo controller (a child process): time to steady
//      state, the controller's peak RSS, API requests per reconcile, API writes per minute at rest;
//   2. the same pods as 200 StatefulSets under kube-controller-manager's StatefulSet controller on
//      the same control plane: time to steady state, writes at rest (from the API server's metrics);
//   3. the ratio.
// Run: npm run build && node dist/test/bench/run.js controller   (env BENCH_SETS, BENCH_REST_SECONDS)
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import { API_VERSION, LABELS, type InstanceSet, type KubeObject } from '../../schemas/types/index.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import type { ControlPlane } from '../cluster/launcher.js';

const SETS = Number(process.env['BENCH_SETS'] ?? 200);
const REPLICAS = 3;
const REST_SECONDS = Number(process.env['BENCH_REST_SECONDS'] ?? 30);
const ROOT = path.resolve(import.meta.dirname, '../../..');
const MAIN = path.join(ROOT, 'dist/controller/main.js');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 250 + 1 && Date.now() < deadline; i++) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(250);
  }
  throw new Error(`bench: timed out waiting for ${what}`);
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] !== undefined ? Number(m[1]) / 1024 : NaN;
}

const podSpec = {
  securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [{ name: 'redis', image: 'redis:7.2', ports: [{ containerPort: 6379 }], resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
};

function instanceSet(ns: string, name: string): InstanceSet {
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: { name, namespace: ns },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { [LABELS.instanceSet]: name } },
      template: { metadata: { labels: { [LABELS.instanceSet]: name } }, spec: structuredClone(podSpec) },
      podManagementPolicy: 'Parallel',
      memberUpdateStrategy: 'Serial',
      serviceName: name,
      engine: { type: 'redis', version: '7.2', port: 6379 },
    },
  };
}

function statefulSet(ns: string, name: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: ns },
    spec: {
      replicas: REPLICAS,
      podManagementPolicy: 'Parallel', // OrderedReady would wait forever for Ready without a kubelet
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: structuredClone(podSpec) },
    },
  };
}

async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  await until(`serviceaccount ${name}/default`, 30_000, async () => ((await client.get(`/api/v1/namespaces/${name}/serviceaccounts/default`)) !== undefined ? true : undefined));
}

async function countPods(client: KubeClient, ns: string): Promise<number> {
  return (await client.list(resourcePath('Pod', ns))).items.length;
}

/** Sum of the API server's write requests (apiserver_request_total) for the given resources. */
async function apiserverWrites(client: KubeClient, resources: string[]): Promise<number> {
  return await rawMetricsWrites(client, resources);
}

async function rawMetricsWrites(client: KubeClient, resources: string[]): Promise<number> {
  const https = await import('node:https');
  const opts: import('node:https').RequestOptions = {};
  await client.kc.applyToHTTPSOptions(opts);
  const server = client.kc.getCurrentCluster()?.server ?? '';
  const body = await new Promise<string>((resolve, reject) => {
    https.get(`${server}/metrics`, opts, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve(b));
      res.on('error', reject);
    }).on('error', reject);
  });
  let sum = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="(\w+)"/.exec(line)?.[1] ?? '';
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    if (!['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'].includes(verb) || !resources.includes(resource)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(dbtopo_api_requests_total|dbtopo_reconcile_total)\{([^}]*)\} (\S+)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) out.set(`${m[1]}{${m[2]}}`, Number(m[3]));
  }
  return out;
}

const sumWhere = (m: Map<string, number>, pred: (k: string) => boolean): number => [...m].filter(([k]) => pred(k)).reduce((s, [, v]) => s + v, 0);
const isWrite = (k: string): boolean => /verb="(create|apply|patch|update|delete)"/.test(k);

export default async function bench(): Promise<void> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run \`npm run build\` first`);
  // The launcher finds test/cluster/versions.env next to itself, so load it from the source tree
  // (erasable TypeScript, which Node runs directly) rather than from dist/.
  const launcher = (await import(pathToFileURL(path.join(ROOT, 'test/cluster/launcher.ts')).href)) as typeof import('../cluster/launcher.js');
  const { freePorts, startControlPlane } = launcher;
  const cp: ControlPlane = await startControlPlane({ name: 'bench-controller', log: (m) => process.stderr.write(`${m}\n`) });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);
  let child: ChildProcess | undefined;
  try {
    for (const crd of [instanceSetCrd, clusterCrd]) await client.apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, crd, 'bench');
    await until('CRDs served', 30_000, async () => {
      await client.list(resourcePath('InstanceSet'));
      return true;
    });
    const total = SETS * REPLICAS;

    // ---- dbtopo controller
    const ns = 'bench-dbtopo';
    await createNamespace(client, ns);
    const [metricsPort] = await freePorts(1);
    if (metricsPort === undefined) throw new Error('no free port');
    child = spawn(process.execPath, [MAIN, '--kubeconfig', cp.kubeconfigPath, '--namespace', ns, '--metrics-port', String(metricsPort), '--health-port', '-1', '--no-role-probes', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const pid = child.pid ?? 0;
    await until('controller metrics', 30_000, async () => ((await scrape(metricsPort)).size >= 0 ? true : undefined));
    const t0 = performance.now();
    for (let i = 0; i < SETS; i++) await client.create(resourcePath('InstanceSet', ns), instanceSet(ns, `s${i}`) as unknown as KubeObject);
    const createdMs = performance.now() - t0;
    await until(`${total} pods (dbtopo)`, 600_000, async () => ((await countPods(client, ns)) >= total ? true : undefined));
    const podsMs = performance.now() - t0;
    await until('every InstanceSet status reports 3 replicas', 600_000, async () => {
      const sets = (await client.list<InstanceSet & KubeObject>(resourcePath('InstanceSet', ns))).items;
      return sets.length === SETS && sets.every((s) => s.status?.replicas === REPLICAS) ? true : undefined;
    });
    const steadyMs = performance.now() - t0;
    await sleep(2000);
    const m1 = await scrape(metricsPort);
    await sleep(REST_SECONDS * 1000);
    const m2 = await scrape(metricsPort);
    const reconciles = sumWhere(m1, (k) => k.startsWith('dbtopo_reconcile_total'));
    const requests = sumWhere(m1, (k) => k.startsWith('dbtopo_api_requests_total') && !k.includes('verb="watch"'));
    const writes = sumWhere(m1, (k) => k.startsWith('dbtopo_api_requests_total') && isWrite(k));
    const restWrites = sumWhere(m2, (k) => k.startsWith('dbtopo_api_requests_total') && isWrite(k)) - writes;
    const restReconciles = sumWhere(m2, (k) => k.startsWith('dbtopo_reconcile_total')) - reconciles;
    const peakRss = procStatus(pid, 'VmHWM');
    child.kill('SIGTERM');
    await new Promise((r) => child?.once('exit', r));
    child = undefined;

    // ---- kube-controller-manager's StatefulSet controller
    const sns = 'bench-sts';
    await createNamespace(client, sns);
    const kcmRssBefore = procStatus(cp.pids.controllerManager, 'VmRSS');
    const stsWritesBefore = await apiserverWrites(client, ['pods', 'statefulsets', 'controllerrevisions']);
    const s0 = performance.now();
    for (let i = 0; i < SETS; i++) await client.create(`/apis/apps/v1/namespaces/${sns}/statefulsets`, statefulSet(sns, `s${i}`));
    const stsCreatedMs = performance.now() - s0;
    await until(`${total} pods (StatefulSet)`, 900_000, async () => ((await countPods(client, sns)) >= total ? true : undefined));
    const stsPodsMs = performance.now() - s0;
    await until('every StatefulSet status reports 3 replicas', 900_000, async () => {
      const sets = (await client.list<KubeObject & { status?: { replicas?: number } }>(`/apis/apps/v1/namespaces/${sns}/statefulsets`)).items;
      return sets.length === SETS && sets.every((s) => s.status?.replicas === REPLICAS) ? true : undefined;
    });
    const stsSteadyMs = performance.now() - s0;
    const stsWritesSteady = (await apiserverWrites(client, ['pods', 'statefulsets', 'controllerrevisions'])) - stsWritesBefore;
    await sleep(2000);
    const r1 = await apiserverWrites(client, ['pods', 'statefulsets', 'controllerrevisions']);
    await sleep(REST_SECONDS * 1000);
    const stsRestWrites = (await apiserverWrites(client, ['pods', 'statefulsets', 'controllerrevisions'])) - r1;
    const kcmRssAfter = procStatus(cp.pids.controllerManager, 'VmRSS');

    const perMin = (n: number): string => ((n * 60) / REST_SECONDS).toFixed(1);
    const s = (ms: number): string => (ms / 1000).toFixed(1);
    const lines = [
      `steady state = all ${total} pods created and every status reporting ${REPLICAS} replicas (no kubelet runs, so no pod becomes Ready; same rule for both)`,
      `dbtopo controller: ${SETS} InstanceSets × ${REPLICAS} pods: objects created in ${s(createdMs)} s, all pods in ${s(podsMs)} s, steady state in ${s(steadyMs)} s`,
      `  peak RSS ${peakRss.toFixed(0)} MiB; ${reconciles} reconciles, ${requests} API requests (without watches) = ${(requests / Math.max(1, reconciles)).toFixed(2)} per reconcile; ${writes} writes`,
      `  at rest (${REST_SECONDS} s): ${restWrites} writes = ${perMin(restWrites)} writes/min, ${restReconciles} reconciles`,
      `StatefulSet controller (kube-controller-manager, default client QPS 20 / burst 30): ${SETS} StatefulSets × ${REPLICAS} pods: objects created in ${s(stsCreatedMs)} s, all pods in ${s(stsPodsMs)} s, steady state in ${s(stsSteadyMs)} s`,
      `  kcm RSS ${kcmRssBefore.toFixed(0)} → ${kcmRssAfter.toFixed(0)} MiB (whole kcm, all its controllers); ${stsWritesSteady} writes to pods/statefulsets/controllerrevisions to steady state`,
      `  at rest (${REST_SECONDS} s): ${stsRestWrites} writes = ${perMin(stsRestWrites)} writes/min`,
      `ratio dbtopo / StatefulSet: time to all pods ${(podsMs / stsPodsMs).toFixed(2)}, time to steady state ${(steadyMs / stsSteadyMs).toFixed(2)}`,
    ];
    for (const l of lines) process.stdout.write(`${l}\n`);
  } finally {
    if (child !== undefined) child.kill('SIGKILL');
    client.close();
    await cp.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) await bench();
