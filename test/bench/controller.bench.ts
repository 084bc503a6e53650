// Controller benchmark: the dbtopo controller against kube-controller-manager's StatefulSet
// controller, like with like.
//   - The same pods: SETS sets × 3 pods of one container, Parallel pod management on both sides.
//   - The same path to Ready: ready-writer.ts binds every pod and writes a Ready status for both
//     sides (no kubelet runs; it stands in for the scheduler + kubelet, see that file).
//   - The same client limit: dbtopo's --kube-api-qps/--kube-api-burst and kube-controller-manager's
//     --kube-api-qps/--kube-api-burst get the same numbers (printed).
//   - dbtopo runs as users run it: a child process, role probes on (every pod has a unique address
//     where no engine listens, so each probe is refused: prober.bench.ts measures real engines).
//   - Each side on a fresh control plane, in alternating order over RUNS runs; medians at the end.
// Steady state = every pod Ready and every set's status reporting 3 ready replicas; "at rest"
// starts once the side's own writes have stopped for 5 s (the time that takes is printed).
// Per side: time to all pods created and to steady state, client API requests per reconcile
// (dbtopo: its own request and reconcile counters; kcm: rest_client_requests_total over
// workqueue_work_duration_seconds_count{name="statefulset"}, scraped from kcm's /metrics), peak RSS
// (dbtopo: the controller process; kcm: the whole kube-controller-manager), and client writes per
// minute at rest.
// Run: npm run bench -- controller   (env BENCH_SETS=1000, BENCH_RUNS=3, BENCH_QPS=50,
// BENCH_BURST=100, BENCH_REST_SECONDS=30)
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import { API_VERSION, LABELS, type InstanceSet, type KubeObject } from '../../schemas/types/index.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import type { ControlPlane } from '../cluster/launcher.js';
import { startReadyWriter, type ReadyWriter } from './ready-writer.js';

const SETS = Number(process.env['BENCH_SETS'] ?? 1000);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const QPS = Number(process.env['BENCH_QPS'] ?? 50);
const BURST = Number(process.env['BENCH_BURST'] ?? 100);
const REST_SECONDS = Number(process.env['BENCH_REST_SECONDS'] ?? 30);
const REPLICAS = 3;
const ROOT = path.resolve(import.meta.dirname, '../../..');
const MAIN = path.join(ROOT, 'dist/controller/main.js');
const NODE = 'bench-node';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, progress?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastPrint = Date.now();
  while (Date.now() < deadline) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (progress !== undefined && Date.now() - lastPrint > 15_000) {
      process.stderr.write(`  … waiting for ${what}: ${progress()}\n`);
      lastPrint = Date.now();
    }
    await sleep(250);
  }
  throw new Error(`bench: timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] !== undefined ? Number(m[1]) / 1024 : NaN;
}

const podSpec = {
  securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
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
      podManagementPolicy: 'Parallel',
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

const countPods = async (client: KubeClient, ns: string): Promise<number> => (await client.list(resourcePath('Pod', ns), { resourceVersion: '0' })).items.length;

/** Prometheus text → samples of the named metrics, keyed `name{labels}`. */
function parseMetrics(text: string, names: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const name = brace < 0 ? line.slice(0, line.indexOf(' ')) : line.slice(0, brace);
    if (!names.includes(name)) continue;
    out.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}
const sumWhere = (m: Map<string, number>, pred: (k: string) => boolean): number => [...m].filter(([k]) => pred(k)).reduce((s, [, v]) => s + v, 0);

/** The counters both sides are judged by, read from the side's own /metrics. */
interface Counters {
  requests: number; // client API requests, watches excepted
  writes: number; // client API writes
  reconciles: number;
}

async function dbtopoCounters(port: number): Promise<Counters> {
  const m = parseMetrics(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), ['dbtopo_api_requests_total', 'dbtopo_reconcile_total']);
  return {
    requests: sumWhere(m, (k) => k.startsWith('dbtopo_api_requests_total') && !k.includes('verb="watch"')),
    writes: sumWhere(m, (k) => k.startsWith('dbtopo_api_requests_total') && /verb="(create|apply|patch|update|delete)"/.test(k)),
    reconciles: sumWhere(m, (k) => k.startsWith('dbtopo_reconcile_total') && k.includes('controller="instanceset"')),
  };
}

/** kube-controller-manager's /metrics over its secure port, authorised as the admin (delegated authz). */
async function kcmCounters(cp: ControlPlane): Promise<Counters> {
  const text = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: cp.ports.controllerManager, path: '/metrics', cert: fs.readFileSync(cp.adminCertPath), key: fs.readFileSync(cp.adminKeyPath), rejectUnauthorized: false, timeout: 10_000 },
      (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (b += c));
        res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`kcm /metrics: ${res.statusCode} ${b.slice(0, 200)}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
  const m = parseMetrics(text, ['rest_client_requests_total', 'workqueue_work_duration_seconds_count']);
  const rest = (pred: (k: string) => boolean): number => sumWhere(m, (k) => k.startsWith('rest_client_requests_total') && pred(k));
  return {
    // rest_client_requests_total counts every kcm controller; the others are idle while only
    // StatefulSets change (no Services, PDBs, ReplicaSets), and the baseline is subtracted.
    requests: rest(() => true),
    writes: rest((k) => /method="(POST|PUT|PATCH|DELETE)"/.test(k)),
    reconciles: sumWhere(m, (k) => k.startsWith('workqueue_work_duration_seconds_count') && k.includes('name="statefulset"')),
  };
}

const minus = (a: Counters, b: Counters): Counters => ({ requests: a.requests - b.requests, writes: a.writes - b.writes, reconciles: a.reconciles - b.reconciles });

/**
 * Waits until the side's client writes stop (unchanged for QUIET_MS), at most 180 s, and returns
 * how long that took after steady state: work still draining (kube-controller-manager's event
 * broadcaster, say, sends its Events after the pods they report) is not "at rest".
 */
const QUIET_MS = 5_000;
async function quiesce(read: () => Promise<Counters>): Promise<number> {
  const t0 = performance.now();
  let last = (await read()).writes;
  let since = performance.now();
  while (performance.now() - t0 < 180_000) {
    await sleep(1_000);
    const now = (await read()).writes;
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= QUIET_MS) return since - t0;
  }
  return performance.now() - t0;
}

interface SideResult {
  side: 'dbtopo' | 'StatefulSet';
  createdMs: number;
  podsMs: number;
  steadyMs: number;
  toSteady: Counters;
  restWritesPerMin: number;
  restReconciles: number;
  /** From steady state until the side's writes stopped. */
  drainMs: number;
  peakRssMiB: number;
}

type Launcher = typeof import('../cluster/launcher.js');

async function withControlPlane<T>(launcher: Launcher, name: string, fn: (cp: ControlPlane, client: KubeClient, kc: k8s.KubeConfig) => Promise<T>): Promise<T> {
  const cp = await launcher.startControlPlane({
    name,
    controllerManagerArgs: [`--kube-api-qps=${QPS}`, `--kube-api-burst=${BURST}`],
    log: () => undefined,
  });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);
  try {
    return await fn(cp, client, kc);
  } finally {
    client.close();
    await cp.stop();
  }
}

async function waitSteady(client: KubeClient, listPath: string, what: string, ns: string, t0: number, writer: ReadyWriter): Promise<{ podsMs: number; steadyMs: number }> {
  const total = SETS * REPLICAS;
  await until(`${total} pods (${what})`, 900_000, async () => ((await countPods(client, ns)) >= total ? true : undefined), () => `${writer.ready} pods ready`);
  const podsMs = performance.now() - t0;
  await until(
    `every ${what} status reporting ${REPLICAS} ready replicas`,
    900_000,
    async () => {
      const sets = (await client.list<KubeObject & { status?: { readyReplicas?: number } }>(listPath, { resourceVersion: '0' })).items;
      return sets.length === SETS && sets.every((s) => s.status?.readyReplicas === REPLICAS) ? true : undefined;
    },
    () => `${writer.ready} of ${total} pods ready`,
  );
  return { podsMs, steadyMs: performance.now() - t0 };
}

async function runDbtopo(launcher: Launcher, run: number): Promise<SideResult> {
  return await withControlPlane(launcher, `bench-dbtopo-${run}`, async (cp, client, kc) => {
    for (const crd of [instanceSetCrd, clusterCrd]) await client.apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, crd, 'bench');
    await until('CRDs served', 30_000, async () => ((await client.list(resourcePath('InstanceSet'))) !== undefined ? true : undefined));
    const ns = 'bench';
    await createNamespace(client, ns);
    const writer = await startReadyWriter(kc, ns, NODE);
    const [metricsPort] = await launcher.freePorts(1);
    if (metricsPort === undefined) throw new Error('no free port');
    const args = [MAIN, '--kubeconfig', cp.kubeconfigPath, '--namespace', ns, '--metrics-port', String(metricsPort), '--health-port', '-1', '--bind-address', '127.0.0.1'];
    args.push('--kube-api-qps', String(QPS), '--kube-api-burst', String(BURST), '--log-level', 'warn');
    const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      const pid = child.pid ?? 0;
      await until('controller metrics', 30_000, async () => await dbtopoCounters(metricsPort));
      const base = await dbtopoCounters(metricsPort);
      const t0 = performance.now();
      for (let i = 0; i < SETS; i++) await client.create(resourcePath('InstanceSet', ns), instanceSet(ns, `s${i}`) as unknown as KubeObject);
      const createdMs = performance.now() - t0;
      const { podsMs, steadyMs } = await waitSteady(client, resourcePath('InstanceSet', ns), 'InstanceSet', ns, t0, writer);
      const drainMs = await quiesce(() => dbtopoCounters(metricsPort));
      const m1 = await dbtopoCounters(metricsPort);
      await sleep(REST_SECONDS * 1000);
      const m2 = await dbtopoCounters(metricsPort);
      const rest = minus(m2, m1);
      return { side: 'dbtopo', createdMs, podsMs, steadyMs, drainMs, toSteady: minus(m1, base), restWritesPerMin: (rest.writes * 60) / REST_SECONDS, restReconciles: rest.reconciles, peakRssMiB: procStatus(pid, 'VmHWM') };
    } finally {
      await writer.stop();
      child.kill('SIGTERM');
      await Promise.race([new Promise((r) => child.once('exit', r)), sleep(10_000)]);
      child.kill('SIGKILL');
    }
  });
}

async function runStatefulSets(launcher: Launcher, run: number): Promise<SideResult> {
  return await withControlPlane(launcher, `bench-sts-${run}`, async (cp, client, kc) => {
    const ns = 'bench';
    await createNamespace(client, ns);
    const writer = await startReadyWriter(kc, ns, NODE);
    try {
      await sleep(2000);
      const base = await kcmCounters(cp);
      const t0 = performance.now();
      for (let i = 0; i < SETS; i++) await client.create(`/apis/apps/v1/namespaces/${ns}/statefulsets`, statefulSet(ns, `s${i}`));
      const createdMs = performance.now() - t0;
      const { podsMs, steadyMs } = await waitSteady(client, `/apis/apps/v1/namespaces/${ns}/statefulsets`, 'StatefulSet', ns, t0, writer);
      const drainMs = await quiesce(() => kcmCounters(cp));
      const m1 = await kcmCounters(cp);
      await sleep(REST_SECONDS * 1000);
      const m2 = await kcmCounters(cp);
      const rest = minus(m2, m1);
      return { side: 'StatefulSet', createdMs, podsMs, steadyMs, drainMs, toSteady: minus(m1, base), restWritesPerMin: (rest.writes * 60) / REST_SECONDS, restReconciles: rest.reconciles, peakRssMiB: procStatus(cp.pids.controllerManager, 'VmHWM') };
    } finally {
      await writer.stop();
    }
  });
}

const s = (ms: number): string => (ms / 1000).toFixed(1);
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? (v[mid] ?? NaN) : ((v[mid - 1] ?? NaN) + (v[mid] ?? NaN)) / 2;
};

function line(r: SideResult): string {
  const perReconcile = r.toSteady.requests / Math.max(1, r.toSteady.reconciles);
  return (
    `  ${r.side.padEnd(11)} created ${s(r.createdMs)} s, all pods ${s(r.podsMs)} s, steady ${s(r.steadyMs)} s; ` +
    `writes drained ${s(r.drainMs)} s after steady; ${r.toSteady.requests} requests / ${r.toSteady.reconciles} reconciles = ${perReconcile.toFixed(2)} per reconcile, ${r.toSteady.writes} writes (to drained); ` +
    `peak RSS ${r.peakRssMiB.toFixed(0)} MiB; at rest ${r.restWritesPerMin.toFixed(1)} writes/min (${r.restReconciles} reconciles in ${REST_SECONDS} s)`
  );
}

export default async function bench(): Promise<void> {
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing: run \`npm run build\` first`);
  // The launcher finds test/cluster/versions.env next to itself, so load it from the source tree
  // (erasable TypeScript, which Node runs directly) rather than from dist/.
  const launcher = (await import(pathToFileURL(path.join(ROOT, 'test/cluster/launcher.ts')).href)) as Launcher;
  process.stdout.write(
    `${SETS} sets × ${REPLICAS} pods per side; client limit ${QPS} QPS / burst ${BURST} for both (dbtopo --kube-api-qps/--kube-api-burst, kube-controller-manager the same flags); ` +
      `pods made Ready by one ready writer for both; dbtopo role probes on; each side on a fresh control plane, alternating order, ${RUNS} runs\n`,
  );
  const results: { dbtopo: SideResult; sts: SideResult }[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const order: ('dbtopo' | 'sts')[] = run % 2 === 1 ? ['dbtopo', 'sts'] : ['sts', 'dbtopo'];
    const got: Partial<{ dbtopo: SideResult; sts: SideResult }> = {};
    for (const side of order) got[side] = side === 'dbtopo' ? await runDbtopo(launcher, run) : await runStatefulSets(launcher, run);
    const r = got as { dbtopo: SideResult; sts: SideResult };
    results.push(r);
    process.stdout.write(`run ${run} (${order.join(' then ')}):\n${line(r.dbtopo)}\n${line(r.sts)}\n`);
    process.stdout.write(`  ratio dbtopo / StatefulSet: all pods ${(r.dbtopo.podsMs / r.sts.podsMs).toFixed(2)}, steady ${(r.dbtopo.steadyMs / r.sts.steadyMs).toFixed(2)}\n`);
  }
  const med = (pick: (r: { dbtopo: SideResult; sts: SideResult }) => number): number => median(results.map(pick));
  const dSteady = med((r) => r.dbtopo.steadyMs);
  const kSteady = med((r) => r.sts.steadyMs);
  process.stdout.write(
    `median over ${RUNS} runs: dbtopo steady ${s(dSteady)} s (all pods ${s(med((r) => r.dbtopo.podsMs))} s), StatefulSet steady ${s(kSteady)} s (all pods ${s(med((r) => r.sts.podsMs))} s), ` +
      `ratio ${(dSteady / kSteady).toFixed(2)}; requests per reconcile ${med((r) => r.dbtopo.toSteady.requests / Math.max(1, r.dbtopo.toSteady.reconciles)).toFixed(2)} vs ${med((r) => r.sts.toSteady.requests / Math.max(1, r.sts.toSteady.reconciles)).toFixed(2)}; ` +
      `peak RSS ${med((r) => r.dbtopo.peakRssMiB).toFixed(0)} MiB (dbtopo controller) vs ${med((r) => r.sts.peakRssMiB).toFixed(0)} MiB (whole kube-controller-manager); ` +
      `writes/min at rest ${med((r) => r.dbtopo.restWritesPerMin).toFixed(1)} vs ${med((r) => r.sts.restWritesPerMin).toFixed(1)}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) await bench();
