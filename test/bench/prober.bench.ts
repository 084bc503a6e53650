// The role prober at scale: ONE dbtopo controller (a child process, role probes on, as a user runs
// it) over a fleet of real engines run by the test kubelet on a fresh control plane:
//   303 redis-server pods (101 InstanceSets × 3, replication wired and labelled by the controller,
//   no Sentinel: the controller's own prober is what finds a role change) and 60 mariadbd pods
//   (20 InstanceSets × 3, 10 semi-sync and 10 async, the test kubelet's small sizing), plus the
//   comparator's 2 sets below: 369 pods, 4 test kubelets (≤ 253 pods each) in a child process.
// For each prober design — "period only" (--role-watch-ms 0: a set is probed every
// roleProbe.periodSeconds = 2 s, the prober before the role watch) and "role watch" at 500 ms and
// at the default 250 ms (light checks between rounds, controller/reconcile/instanceset/
// role-watch.ts) — and for each fleet — the whole fleet, and as
// the comparator a small fleet of 1 Redis + 1 MariaDB set (a controller started with --namespace
// of it, the big fleet's engines still running) — it measures, in the same run:
//   - probe-round duration p50/p99 per engine (dbtopo_role_probe_round_seconds over a window),
//   - controller CPU over the window (/proc/<pid>/stat utime+stime, % of one core), VmRSS, VmHWM,
//   - relabel latency after a promotion: on a Redis set, the old primary and the other replica are
//     pointed at a secondary (REPLICAOF) and that secondary is promoted (REPLICAOF NO ONE); from
//     the promotion's reply to the pod's dbtopo.dev/role=primary label seen by a watch.
// and prints every figure with its comparator and the ratio scale / small. Target: relabel < 1 s.
// ~12 min on 2 cores (fleet start ~2.5 min, then ~1.5 min per design and fleet).
// Cleanup: everything lives under $TMPDIR/dbtopo-bench-prober; engines, kubelets and controllers
// die with the bench (setpriv --pdeathsig), the control plane with its watchdog; what a killed run
// leaves (that dir, the pod network namespaces) the next start removes.
// Run: npm run bench -- prober   (env BENCH_PROBER_REDIS_SETS, BENCH_PROBER_MYSQL_SETS,
// BENCH_PROBER_RELABELS, BENCH_PROBER_WINDOW_S, BENCH_PROBER_WATCH_MS)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import { API_VERSION, LABELS, type EngineSpec, type InstanceSet, type KubeObject, type PodTemplateSpec } from '../../schemas/types/index.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import { DEFAULT_ROLE_WATCH_MS } from '../../controller/roles/loop.js';
import { diesWithParent } from '../support/pdeathsig.js';
import type { ControlPlane } from '../cluster/launcher.js';

const REDIS_SETS = Number(process.env['BENCH_PROBER_REDIS_SETS'] ?? 101);
const MYSQL_SETS = Number(process.env['BENCH_PROBER_MYSQL_SETS'] ?? 20);
const RELABELS = Number(process.env['BENCH_PROBER_RELABELS'] ?? 20);
const WINDOW_S = Number(process.env['BENCH_PROBER_WINDOW_S'] ?? 30);
const WATCH_MS = Number(process.env['BENCH_PROBER_WATCH_MS'] ?? DEFAULT_ROLE_WATCH_MS);
const PERIOD_S = 2; // roleProbe.periodSeconds of every set (the CRD's usual value)
const READINESS_MS = 1_000; // the test kubelet's port check per pod (a real kubelet's default is 10 s)
const TARGET_MS = 1_000;
const ROOT = path.resolve(import.meta.dirname, '../../..');
const MAIN = path.join(ROOT, 'dist/controller/main.js');
const KUBELET_CHILD = path.join(import.meta.dirname, 'prober-kubelet.js');
/** Fixed, so that the next start removes what a killed run left (engines die with their parents). */
const WORK = path.join(os.tmpdir(), 'dbtopo-bench-prober');
const NS_SMALL = 'prober-small';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const say = (m: string): void => void process.stderr.write(`[prober] ${m}\n`);

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, progress?: () => Promise<string>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let nextNote = Date.now() + 10_000;
  for (let i = 0; i < timeoutMs / intervalMs + 1 && Date.now() < deadline; i++) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (progress !== undefined && Date.now() >= nextNote) {
      nextNote = Date.now() + 10_000;
      say(`waiting for ${what}: ${await progress().catch((e: unknown) => String(e))}`);
    }
    await sleep(intervalMs);
  }
  throw new Error(`bench: timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN;
}

// ---------------------------------------------------------------------------------------------
// the fleet

const ROLES: InstanceSet['spec']['roles'] = [
  { name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true },
  { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false },
];

function serverSet(ns: string, name: string, engine: EngineSpec, container: PodTemplateSpec['spec']['containers'][number]): InstanceSet {
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 3,
      selector: { matchLabels: { [LABELS.instanceSet]: name } },
      template: { metadata: { labels: { [LABELS.instanceSet]: name } }, spec: { containers: [container] } },
      podManagementPolicy: 'Parallel',
      memberUpdateStrategy: 'Serial',
      serviceName: name,
      engine,
      roles: structuredClone(ROLES),
      roleProbe: { periodSeconds: PERIOD_S, timeoutSeconds: 1, failureThreshold: 3 },
    },
  };
}

const redisSet = (ns: string, name: string): InstanceSet =>
  serverSet(ns, name, { type: 'redis', version: '7.2', port: 6379 }, { name: 'redis', image: 'redis:7.2', command: ['redis-server'], ports: [{ containerPort: 6379 }] });

const mysqlSet = (ns: string, name: string, semiSync: boolean): InstanceSet =>
  serverSet(
    ns,
    name,
    { type: 'mysql', version: '10.11', port: 3306, replication: { mode: semiSync ? 'semi-sync' : 'async' } },
    { name: 'mariadb', image: 'mariadb:10.11', command: ['mariadbd'], ports: [{ containerPort: 3306 }] },
  );

interface Fleet {
  /** namespace → sets */
  sets: Map<string, InstanceSet[]>;
  redisSets: Array<{ ns: string; name: string }>;
}

/** ≤ 50 Redis sets (150 pods) and ≤ 20 MariaDB sets per namespace: one kubelet per namespace holds ≤ 253 pods. */
function planFleet(): Fleet {
  const sets = new Map<string, InstanceSet[]>();
  const redisSets: Fleet['redisSets'] = [];
  const add = (ns: string, is: InstanceSet): void => void (sets.get(ns) ?? sets.set(ns, []).get(ns)!).push(is);
  for (let i = 0; i < REDIS_SETS; i++) {
    const ns = `prober-r${Math.floor(i / 50)}`;
    add(ns, redisSet(ns, `r${i}`));
    redisSets.push({ ns, name: `r${i}` });
  }
  for (let i = 0; i < MYSQL_SETS; i++) {
    const ns = `prober-m${Math.floor(i / 60)}`;
    add(ns, mysqlSet(ns, `m${i}`, i % 2 === 0));
  }
  add(NS_SMALL, redisSet(NS_SMALL, 'small-r'));
  add(NS_SMALL, mysqlSet(NS_SMALL, 'small-m', true));
  return { sets, redisSets };
}

// ---------------------------------------------------------------------------------------------
// observing: pods by label, a watch for label changes, the controller's metrics and /proc

type Pod = KubeObject & { status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> } };
const ready = (p: Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const roleOf = (p: Pod): string | undefined => p.metadata.labels?.[LABELS.role];

/** Every set of `namespaces` with 3 Ready pods: exactly one labelled primary, two secondary. */
async function settledCount(client: KubeClient, namespaces: string[]): Promise<{ settled: number; sets: number; readyPods: number; pods: number }> {
  let settled = 0;
  let sets = 0;
  let readyPods = 0;
  let pods = 0;
  for (const ns of namespaces) {
    const items = (await client.list<Pod>(resourcePath('Pod', ns), { labelSelector: LABELS.instanceSet })).items;
    const bySet = new Map<string, Pod[]>();
    for (const p of items) {
      const s = p.metadata.labels?.[LABELS.instanceSet] ?? '';
      (bySet.get(s) ?? bySet.set(s, []).get(s)!).push(p);
    }
    for (const ps of bySet.values()) {
      sets++;
      pods += ps.length;
      readyPods += ps.filter(ready).length;
      const roles = ps.map(roleOf);
      if (ps.length === 3 && ps.every(ready) && roles.filter((r) => r === 'primary').length === 1 && roles.filter((r) => r === 'secondary').length === 2) settled++;
    }
  }
  return { settled, sets, readyPods, pods };
}

/** Watches every dbtopo pod; resolves waiters when a pod's role label becomes what they wait for. */
class LabelWatch {
  private req: { abort(): void } | undefined;
  private stopped = false;
  private readonly waiters = new Set<{ key: string; role: string; resolve: (t: number) => void }>();

  constructor(private readonly kc: k8s.KubeConfig) {}

  async start(): Promise<void> {
    const w = new k8s.Watch(this.kc);
    this.req = await w.watch(
      '/api/v1/pods',
      { labelSelector: LABELS.instanceSet, allowWatchBookmarks: true },
      (type: string, obj: Pod) => {
        if (type !== 'ADDED' && type !== 'MODIFIED') return;
        const at = performance.now();
        const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
        for (const wt of this.waiters) {
          if (wt.key === key && roleOf(obj) === wt.role) {
            this.waiters.delete(wt);
            wt.resolve(at);
          }
        }
      },
      () => {
        if (!this.stopped) void sleep(200).then(() => (this.stopped ? undefined : this.start().catch(() => undefined)));
      },
    );
  }

  /** When `ns/pod` shows `role` (performance.now()); must be called before the change is made. */
  waitFor(ns: string, pod: string, role: string, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const wt = { key: `${ns}/${pod}`, role, resolve: (t: number) => (clearTimeout(timer), resolve(t)) };
      const timer = setTimeout(() => {
        this.waiters.delete(wt);
        reject(new Error(`bench: ${ns}/${pod} not labelled ${role} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(wt);
    });
  }

  stop(): void {
    this.stopped = true;
    this.req?.abort();
  }
}

async function scrapeText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return await res.text();
}

/** Cumulative histogram buckets (le → count) of dbtopo_role_probe_round_seconds, per engine. */
function roundBuckets(text: string): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const line of text.split('\n')) {
    const m = /^dbtopo_role_probe_round_seconds_bucket\{(.*)\} (\S+)$/.exec(line);
    if (m?.[1] === undefined || m[2] === undefined) continue;
    const le = /le="([^"]+)"/.exec(m[1])?.[1];
    const engine = /engine="([^"]+)"/.exec(m[1])?.[1];
    if (le === undefined || engine === undefined) continue;
    const b = out.get(engine) ?? out.set(engine, new Map()).get(engine)!;
    b.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(m[2]));
  }
  return out;
}

function counterSum(text: string, name: string, pred: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (m?.[2] !== undefined && pred(m[1] ?? '')) sum += Number(m[2]);
  }
  return sum;
}

/** Quantile from cumulative bucket deltas, linear within the bucket (as histogram_quantile). */
function quantile(before: Map<number, number> | undefined, after: Map<number, number> | undefined, q: number): { value: number; n: number } {
  if (after === undefined) return { value: Number.NaN, n: 0 };
  const les = [...after.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => (after.get(le) ?? 0) - (before?.get(le) ?? 0));
  const n = cum[cum.length - 1] ?? 0;
  if (n === 0) return { value: Number.NaN, n };
  const rank = q * n;
  for (let i = 0; i < les.length; i++) {
    if ((cum[i] ?? 0) >= rank) {
      const lo = i === 0 ? 0 : les[i - 1]!;
      const hi = les[i]!;
      if (!Number.isFinite(hi)) return { value: lo, n };
      const below = i === 0 ? 0 : cum[i - 1]!;
      const inBucket = (cum[i] ?? 0) - below;
      return { value: lo + (hi - lo) * (inBucket > 0 ? (rank - below) / inBucket : 1), n };
    }
  }
  return { value: Number.NaN, n };
}

function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15 of proc(5))
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] !== undefined ? Number(m[1]) / 1024 : NaN;
}

/** RSS of every process whose command is `name` (MiB each). */
function rssOf(name: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() !== name) continue;
      out.push(procStatus(Number(d), 'VmRSS'));
    } catch {
      // gone
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// one controller, one measurement

interface Measured {
  rounds: Map<string, { p50: number; p99: number; n: number }>;
  cpuPct: number;
  rssMiB: number;
  hwmMiB: number;
  writesPerMin: number;
  watchRounds: number;
  relabelMs: number[];
}

async function startControllerChild(kubeconfig: string, port: number, watchMs: number, namespace?: string): Promise<ChildProcess> {
  const args = [MAIN, '--kubeconfig', kubeconfig, '--metrics-port', String(port), '--health-port', '-1', '--bind-address', '127.0.0.1', '--log-level', 'warn', '--role-watch-ms', String(watchMs)];
  if (namespace !== undefined) args.push('--namespace', namespace);
  const cmd = diesWithParent(process.execPath, args);
  const child = spawn(cmd.command, cmd.args, { stdio: ['ignore', 'ignore', 'inherit'] });
  await until('controller metrics', 60_000, async () => ((await scrapeText(port)).includes('dbtopo_leader 1') ? true : undefined));
  return child;
}

/** The controller's own pid (the child may be setpriv, which execs into node: same pid). */
const pidOf = (c: ChildProcess): number => c.pid ?? 0;

async function stopChild(c: ChildProcess | undefined): Promise<void> {
  if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  await Promise.race([exited, sleep(25_000)]);
  if (c.exitCode === null && c.signalCode === null) {
    c.kill('SIGKILL');
    await Promise.race([exited, sleep(5_000)]);
  }
}

async function redisAt(ip: string): Promise<Redis> {
  const r = new Redis({ host: ip, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2_000, commandTimeout: 2_000, enableOfflineQueue: false, retryStrategy: () => null, protocol: 2 });
  r.on('error', () => undefined);
  await r.connect();
  return r;
}

/**
 * One promotion on a settled Redis set: the old primary and the other replica REPLICAOF the
 * chosen secondary, then REPLICAOF NO ONE on it. Returns ms from that reply to its primary label.
 */
async function promoteOnce(client: KubeClient, watch: LabelWatch, ns: string, set: string): Promise<number> {
  const pods = await until(`${ns}/${set} settled`, 60_000, async () => {
    const ps = (await client.list<Pod>(resourcePath('Pod', ns), { labelSelector: `${LABELS.instanceSet}=${set}` })).items;
    const roles = ps.map(roleOf);
    return ps.length === 3 && ps.every(ready) && roles.filter((r) => r === 'primary').length === 1 && roles.filter((r) => r === 'secondary').length === 2 ? ps : undefined;
  });
  const old = pods.find((p) => roleOf(p) === 'primary')!;
  const [next, other] = pods.filter((p) => p !== old).sort(() => Math.random() - 0.5) as [Pod, Pod];
  const ip = (p: Pod): string => p.status?.podIP ?? '';
  const clients = await Promise.all([old, other, next].map((p) => redisAt(ip(p))));
  try {
    const [co, cx, cn] = clients as [Redis, Redis, Redis];
    const labelled = watch.waitFor(ns, next.metadata.name, 'primary', 30_000);
    await co.call('REPLICAOF', ip(next), '6379');
    await cx.call('REPLICAOF', ip(next), '6379');
    await cn.call('REPLICAOF', 'NO', 'ONE');
    const promoted = performance.now();
    return (await labelled) - promoted;
  } finally {
    for (const c of clients) c.disconnect();
  }
}

async function measure(
  label: string,
  env: { kubeconfig: string; client: KubeClient; watch: LabelWatch; port: number },
  fleet: { namespaces: string[]; namespaceFlag?: string; relabelSets: Array<{ ns: string; name: string }>; sets: number },
  watchMs: number,
): Promise<Measured> {
  say(`${label}: starting the controller (--role-watch-ms ${watchMs}${fleet.namespaceFlag !== undefined ? `, --namespace ${fleet.namespaceFlag}` : ''})`);
  const child = await startControllerChild(env.kubeconfig, env.port, watchMs, fleet.namespaceFlag);
  try {
    const pid = pidOf(child);
    const t0 = performance.now();
    await until(`${label}: ${fleet.sets} sets settled`, 900_000, async () => ((await settledCount(env.client, fleet.namespaces)).settled >= fleet.sets ? true : undefined), async () => JSON.stringify(await settledCount(env.client, fleet.namespaces)), 2_000);
    // every set probed at least twice by this controller: its loops all run
    await until(`${label}: rounds of every set`, 120_000, async () => (counterSum(await scrapeText(env.port), 'dbtopo_role_probe_round_seconds_count') >= 2 * fleet.sets ? true : undefined));
    say(`${label}: settled in ${((performance.now() - t0) / 1000).toFixed(1)} s; measuring ${WINDOW_S} s at rest`);
    await sleep(3_000);
    const m1 = await scrapeText(env.port);
    const c1 = cpuTicks(pid);
    const w1 = performance.now();
    await sleep(WINDOW_S * 1000);
    const m2 = await scrapeText(env.port);
    const c2 = cpuTicks(pid);
    const seconds = (performance.now() - w1) / 1000;
    const rssMiB = procStatus(pid, 'VmRSS');
    const b1 = roundBuckets(m1);
    const b2 = roundBuckets(m2);
    const rounds = new Map<string, { p50: number; p99: number; n: number }>();
    for (const engine of b2.keys()) {
      const p50 = quantile(b1.get(engine), b2.get(engine), 0.5);
      rounds.set(engine, { p50: p50.value * 1000, p99: quantile(b1.get(engine), b2.get(engine), 0.99).value * 1000, n: p50.n });
    }
    const writes = (t: string): number => counterSum(t, 'dbtopo_api_requests_total', (l) => /verb="(create|apply|patch|update|delete)"/.test(l));
    const watchRounds0 = counterSum(m2, 'dbtopo_role_watch_changes_total');
    say(`${label}: relabel after ${fleet.relabelSets.length} promotions`);
    const relabelMs: number[] = [];
    for (const s of fleet.relabelSets) {
      await sleep(200 + Math.random() * PERIOD_S * 1000); // a random phase against the set's round
      relabelMs.push(await promoteOnce(env.client, env.watch, s.ns, s.name));
    }
    const m3 = await scrapeText(env.port);
    const hwmMiB = procStatus(pid, 'VmHWM');
    return {
      rounds,
      cpuPct: ((c2 - c1) / CLK_TCK / seconds) * 100,
      rssMiB,
      hwmMiB,
      writesPerMin: ((writes(m2) - writes(m1)) * 60) / seconds,
      watchRounds: counterSum(m3, 'dbtopo_role_watch_changes_total') - watchRounds0,
      relabelMs,
    };
  } finally {
    await stopChild(child);
  }
}

// ---------------------------------------------------------------------------------------------

function claimWorkDir(): void {
  const owner = path.join(WORK, 'owner.pid');
  try {
    const pid = Number(fs.readFileSync(owner, 'utf8'));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new Error(`bench: another prober bench (pid ${pid}) uses ${WORK}`);
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('bench:')) throw err;
      }
    }
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('bench:')) throw err;
  }
  // What a killed run left: its engines died with it (pdeathsig), its files did not.
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(owner, String(process.pid));
}

export default async function bench(): Promise<void> {
  if (!fs.existsSync(MAIN) || !fs.existsSync(KUBELET_CHILD)) throw new Error(`${MAIN} or ${KUBELET_CHILD} missing: run \`npm run build\` first`);
  claimWorkDir();
  const launcher = (await import(pathToFileURL(path.join(ROOT, 'test/cluster/launcher.ts')).href)) as typeof import('../cluster/launcher.js');
  const tStart = performance.now();
  const cp: ControlPlane = await launcher.startControlPlane({ name: 'bench-prober', baseDir: WORK, log: (m) => say(m) });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);
  const watch = new LabelWatch(kc);
  let kubelet: ChildProcess | undefined;
  try {
    for (const crd of [instanceSetCrd, clusterCrd]) await client.apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, crd, 'bench');
    await until('CRDs served', 60_000, async () => ((await client.list(resourcePath('InstanceSet'))) !== undefined ? true : undefined));
    const fleet = planFleet();
    const namespaces = [...fleet.sets.keys()];
    for (const ns of namespaces) {
      await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      await until(`serviceaccount ${ns}/default`, 60_000, async () => ((await client.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`)) !== undefined ? true : undefined));
    }
    const kcmd = diesWithParent(process.execPath, [KUBELET_CHILD, cp.kubeconfigPath, path.join(WORK, 'kubelet'), String(READINESS_MS), ...namespaces]);
    kubelet = spawn(kcmd.command, kcmd.args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const k = kubelet;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('bench: test kubelets did not start within 120 s')), 120_000);
      k.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      k.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench: test kubelet process exited (${code})`));
      });
    });
    await watch.start();
    for (const [, sets] of fleet.sets) for (const is of sets) await client.create(resourcePath('InstanceSet', is.metadata.namespace), is as unknown as KubeObject);
    const bigNamespaces = namespaces.filter((n) => n !== NS_SMALL);
    const bigSets = REDIS_SETS + MYSQL_SETS;
    const [port] = await launcher.freePorts(1);
    if (port === undefined) throw new Error('no free port');
    const env = { kubeconfig: cp.kubeconfigPath, client, watch, port };
    say(`${bigSets + 2} InstanceSets created (${REDIS_SETS * 3 + 3} redis-server, ${MYSQL_SETS * 3 + 3} mariadbd pods); the first controller brings them up`);

    // Sets to promote: distinct ones per design at scale, spread over the namespaces.
    const pick = (from: number): Array<{ ns: string; name: string }> =>
      Array.from({ length: Math.min(RELABELS, Math.floor(fleet.redisSets.length / 2)) }, (_, i) => fleet.redisSets[(from + i * 2) % fleet.redisSets.length]!);
    const small = { namespaces: [NS_SMALL], namespaceFlag: NS_SMALL, relabelSets: Array.from({ length: RELABELS }, () => ({ ns: NS_SMALL, name: 'small-r' })), sets: 2 };
    const all = { namespaces, relabelSets: pick(0), sets: bigSets + 2 };
    // The prober before the role watch, the watch at twice its default interval, and the default.
    const designs = [
      { name: 'period only', flag: 0 },
      ...(WATCH_MS !== 500 ? [{ name: 'role watch 500 ms', flag: 500 }] : []),
      { name: `role watch ${WATCH_MS} ms`, flag: WATCH_MS },
    ];
    const results: Array<{ design: string; flag: number; scale: Measured; small: Measured }> = [];
    let upSeconds = 0;
    let engineRss = { redis: [] as number[], mariadb: [] as number[] };
    for (const [i, d] of designs.entries()) {
      const scale = await measure(`${d.name} / whole fleet`, env, { ...all, relabelSets: pick(i) }, d.flag);
      if (i === 0) {
        upSeconds = (performance.now() - tStart) / 1000;
        engineRss = { redis: rssOf('redis-server'), mariadb: rssOf('mariadbd') };
      }
      const smallM = await measure(`${d.name} / small fleet`, env, small, d.flag);
      results.push({ design: d.name, flag: d.flag, scale, small: smallM });
    }

    // ---- report
    const f = (x: number, digits = 1): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
    const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');
    const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
    const lines: string[] = [];
    lines.push(`fleet: ${REDIS_SETS * 3} redis-server pods (${REDIS_SETS} InstanceSets × 3, replication wired by the controller, no Sentinel) + ${MYSQL_SETS * 3} mariadbd pods (${MYSQL_SETS} × 3, half semi-sync, half async) and the comparator's 1 Redis + 1 MariaDB set (6 pods): ${REDIS_SETS * 3 + MYSQL_SETS * 3 + 6} pods under ONE controller (child process, all namespaces), roleProbe.periodSeconds ${PERIOD_S}; comparator: the 6 pods under a controller with --namespace ${NS_SMALL}, the big fleet's engines still running; ${os.cpus().length} cores`);
    lines.push(`  control plane + ${REDIS_SETS * 3 + MYSQL_SETS * 3 + 6} pods up and labelled in ${f(upSeconds)} s; engine RSS: redis-server ${f(pct(engineRss.redis, 50))} MiB p50 (${engineRss.redis.length} processes, ${f(sum(engineRss.redis) / 1024, 2)} GiB), mariadbd ${f(pct(engineRss.mariadb, 50))} MiB p50 / ${f(Math.max(...engineRss.mariadb))} max (${engineRss.mariadb.length} processes, ${f(sum(engineRss.mariadb) / 1024, 2)} GiB)`);
    for (const r of results) {
      lines.push(`[${r.design}] --role-watch-ms ${r.flag}: whole fleet (${all.sets} sets, ${REDIS_SETS * 3 + MYSQL_SETS * 3 + 6} pods) vs small fleet (2 sets, 6 pods), ratio whole / small`);
      for (const engine of ['redis', 'mysql']) {
        const a = r.scale.rounds.get(engine);
        const b = r.small.rounds.get(engine);
        lines.push(`  probe round ${engine}: p50 ${f(a?.p50 ?? NaN, 2)} ms vs ${f(b?.p50 ?? NaN, 2)} ms (${ratio(a?.p50 ?? NaN, b?.p50 ?? NaN)}), p99 ${f(a?.p99 ?? NaN, 2)} ms vs ${f(b?.p99 ?? NaN, 2)} ms (${ratio(a?.p99 ?? NaN, b?.p99 ?? NaN)}); ${a?.n ?? 0} vs ${b?.n ?? 0} rounds in ${WINDOW_S} s`);
      }
      lines.push(`  controller CPU: ${f(r.scale.cpuPct)} % vs ${f(r.small.cpuPct)} % of one core (${ratio(r.scale.cpuPct, r.small.cpuPct)}); RSS ${f(r.scale.rssMiB, 0)} vs ${f(r.small.rssMiB, 0)} MiB (${ratio(r.scale.rssMiB, r.small.rssMiB)}), peak (VmHWM) ${f(r.scale.hwmMiB, 0)} vs ${f(r.small.hwmMiB, 0)} MiB; API writes at rest ${f(r.scale.writesPerMin)} vs ${f(r.small.writesPerMin)} /min`);
      const rs = r.scale.relabelMs;
      const rm = r.small.relabelMs;
      const p99 = pct(rs, 99);
      lines.push(`  relabel after a promotion: p50 ${f(pct(rs, 50), 0)} / p99 ${f(p99, 0)} / max ${f(Math.max(...rs), 0)} ms (n=${rs.length}) vs p50 ${f(pct(rm, 50), 0)} / p99 ${f(pct(rm, 99), 0)} / max ${f(Math.max(...rm), 0)} ms (n=${rm.length}); ratio p50 ${ratio(pct(rs, 50), pct(rm, 50))}, p99 ${ratio(p99, pct(rm, 99))}; rounds started by the role watch: ${r.scale.watchRounds} vs ${r.small.watchRounds}`);
      lines.push(`  target relabel < ${TARGET_MS} ms at scale (p99): ${p99 < TARGET_MS ? 'met' : 'NOT met'}`);
    }
    const a = results[0]!;
    for (const b of results.slice(1)) {
      lines.push(`design change at scale, ${b.design} / ${a.design}: relabel p50 ${ratio(pct(b.scale.relabelMs, 50), pct(a.scale.relabelMs, 50))}, p99 ${ratio(pct(b.scale.relabelMs, 99), pct(a.scale.relabelMs, 99))}; controller CPU ${ratio(b.scale.cpuPct, a.scale.cpuPct)}; RSS ${ratio(b.scale.rssMiB, a.scale.rssMiB)}`);
    }
    for (const l of lines) process.stdout.write(`${l}\n`);
  } finally {
    watch.stop();
    if (kubelet !== undefined) await stopChild(kubelet);
    client.close();
    await cp.stop();
    fs.rmSync(WORK, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) await bench();
