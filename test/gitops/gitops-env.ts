// The world of the gitops end-to-end tests: a GitOps repository in a local Git repository (read by
// Argo CD over file://), compiled by dbtopo for an environment whose member clusters are the two
// test control planes; the real Argo CD of argocd-launcher.ts; and in every member cluster the
// test kubelet (real redis-server per pod) and the dbtopo controller.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { startController, type RunningController } from '../../controller/manager.js';
import { KubeClient } from '../../controller/runtime/kube.js';
import { makeLogger } from '../../controller/runtime/log.js';
import type { KubeObject } from '../../schemas/types/index.js';
import { sleep, until } from '../support/eventually.js';
import { startTestKubelet, type TestKubelet } from '../kubelet/kubelet.js';
import { ARGOCD_NAMESPACE, argocdApi, clusterAccessFromKubeconfig, startArgoCd, type ArgoCd, type ClusterAccess } from './argocd-launcher.js';
import { repoRoot } from './argocd-bin.js';
import { CONTROLLER_USER, impersonating } from '../cluster/helpers.js';
import { NODE_KUBECONFIG, isAlive } from '../cluster/launcher.js';

const ROOT = repoRoot();
const CLI = path.join(ROOT, 'dist', 'compiler', 'cli', 'main.js');
export const ENV = 'e2e';

export interface Member {
  /** member cluster name in the environment file (Argo CD cluster name too) */
  name: string;
  access: ClusterAccess;
  client: KubeClient;
  kubelet?: TestKubelet;
  controller?: RunningController;
}

export interface Application {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean } } };
  status?: {
    sync?: { status?: string; revision?: string };
    health?: { status?: string; message?: string };
    operationState?: {
      phase?: string;
      message?: string;
      retryCount?: number;
      startedAt?: string;
      finishedAt?: string;
      operation?: { sync?: { revision?: string } };
      syncResult?: { revision?: string; resources?: Array<{ kind: string; name: string; status?: string; message?: string; syncPhase?: string }> };
    };
    reconciledAt?: string;
    resources?: Array<{ group?: string; kind: string; namespace?: string; name: string; status?: string; health?: { status?: string; message?: string } }>;
  };
}

export interface GitopsWorld {
  argocd: ArgoCd;
  members: Member[];
  repoDir: string;
  repoUrl: string;
  home: KubeClient;
  /** git in the repository */
  git(...args: string[]): string;
  /** writes files (path relative to the repo → content), compiles, commits; returns the new HEAD */
  commit(message: string, files: Record<string, string | null>): string;
  /** the same without compiling: what a hand edit of rendered/ merged anyway looks like */
  commitRaw(message: string, files: Record<string, string | null>): string;
  applications(): Promise<Application[]>;
  application(name: string): Promise<Application>;
  stop(): Promise<void>;
}

/**
 * One small Redis replication topology per member cluster (pinned): a primary, a replica and one
 * Sentinel. (A standalone, replicas: 1, never gets its role label from the controller today: the
 * role plan's bootstrap branch promotes the lone pod on every round and never labels it, so its
 * Application would stay Progressing; see the issue 11 note.)
 */
export function topology(name: string, team: string, member: string, maxmemory = '32mb'): string {
  return stringify({
    name,
    team,
    engine: 'redis',
    mode: 'replication',
    version: '7.2.4',
    replicas: 2,
    sentinel: { replicas: 1, quorum: 1 },
    resources: { cpu: '100m', memory: '128Mi' },
    storage: { size: '1Gi' },
    parameters: { maxmemory, 'maxmemory-policy': 'allkeys-lru', appendonly: 'no' },
    placement: { memberClusters: [member] },
  });
}

/** A standalone Redis (one pod, no Sentinel), pinned like `topology`; `extra` parameters added. */
export function standalone(name: string, team: string, member: string, extra: Record<string, string> = {}): string {
  return stringify({
    name,
    team,
    engine: 'redis',
    mode: 'standalone',
    version: '7.2.4',
    replicas: 1,
    resources: { cpu: '100m', memory: '128Mi' },
    storage: { size: '1Gi' },
    parameters: { maxmemory: '32mb', 'maxmemory-policy': 'allkeys-lru', appendonly: 'no', ...extra },
    placement: { memberClusters: [member] },
  });
}

export function envFile(members: Array<{ name: string; server: string }>, repoUrl: string): string {
  return stringify({
    name: ENV,
    memberClusters: members.map((m, i) => ({ name: m.name, destination: { server: m.server }, zones: [`zone-${String.fromCharCode(97 + i)}`] })),
    namespace: 'db-{team}',
    defaults: {
      storageClass: 'standard',
      storageSize: '1Gi',
      resources: { cpu: '100m', memory: '128Mi' },
      sentinelResources: { cpu: '100m', memory: '64Mi' },
      proxyResources: { cpu: '100m', memory: '64Mi' },
      probePeriodSeconds: 2,
    },
    policy: { maxReplicas: 3, maxShards: 4, maxResources: { cpu: '2', memory: '4Gi' } },
    argocd: { repoURL: repoUrl, targetRevision: 'main', project: 'dbtopo-e2e' },
  });
}

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The rendered objects under a directory of the repository (all YAML files, recursively). */
export function renderedObjects(dir: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || !e.name.endsWith('.yaml')) continue;
    for (const d of parseAllDocuments(fs.readFileSync(path.join(e.parentPath, e.name), 'utf8'))) {
      const o = d.toJS() as KubeObject | null;
      if (o !== null) out.push(o);
    }
  }
  return out;
}

/** Work dirs of earlier runs whose process is gone (killed before its afterAll): removed. */
function sweepStaleWorlds(log: (m: string) => void): void {
  for (const e of fs.readdirSync(os.tmpdir())) {
    if (!e.startsWith('dbtopo-gitops-')) continue;
    const dir = path.join(os.tmpdir(), e);
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner'), 'utf8'));
    } catch {
      continue;
    }
    if (!Number.isInteger(owner) || owner <= 1 || isAlive(owner)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    log(`[gitops] removed ${dir} (its test process ${owner} is gone)`);
  }
}

export async function startGitopsWorld(opts: {
  kubeconfigs: Record<string, string>;
  binDir: string;
  /** member cluster names in the environment, in order, mapped onto the control planes */
  memberNames: readonly string[];
  topologies: Record<string, string>;
  log?: (m: string) => void;
}): Promise<GitopsWorld> {
  const log = opts.log ?? ((): void => {});
  const planes = Object.entries(opts.kubeconfigs).sort(([a], [b]) => a.localeCompare(b));
  if (planes.length < opts.memberNames.length) throw new Error(`need ${opts.memberNames.length} control planes, have ${planes.length}`);
  const stops: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => log(`stop: ${String(err)}`));
  };
  try {
    const members: Member[] = opts.memberNames.map((name, i) => {
      const [, file] = planes[i] as [string, string];
      const access = { ...clusterAccessFromKubeconfig(name, file) };
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(file);
      const client = new KubeClient(kc);
      stops.push(async () => client.close());
      return { name, access, client };
    });
    sweepStaleWorlds(log);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-gitops-'));
    fs.writeFileSync(path.join(work, 'owner'), String(process.pid));
    stops.push(async () => fs.rmSync(work, { recursive: true, force: true }));
    const repoDir = path.join(work, 'repo');
    const repoUrl = `file://${repoDir}`;
    fs.mkdirSync(path.join(repoDir, 'envs'), { recursive: true });
    fs.mkdirSync(path.join(repoDir, 'topologies'), { recursive: true });
    const git = (...args: string[]): string => sh('git', ['-c', 'user.name=dbtopo-test', '-c', 'user.email=test@dbtopo.invalid', ...args], repoDir).trim();
    git('init', '-q', '-b', 'main');
    const commitFiles = (message: string, files: Record<string, string | null>, compile: boolean): string => {
      for (const [rel, content] of Object.entries(files)) {
        const p = path.join(repoDir, rel);
        if (content === null) fs.rmSync(p, { force: true });
        else {
          fs.mkdirSync(path.dirname(p), { recursive: true });
          fs.writeFileSync(p, content);
        }
      }
      if (compile) sh(process.execPath, [CLI, 'compile', '--repo', repoDir], repoDir);
      git('add', '-A');
      git('commit', '-q', '-m', message);
      return git('rev-parse', 'HEAD');
    };
    const commit = (message: string, files: Record<string, string | null>): string => commitFiles(message, files, true);
    const files: Record<string, string> = { [`envs/${ENV}.yaml`]: envFile(members.map((m) => ({ name: m.name, server: m.access.server })), repoUrl) };
    for (const [name, text] of Object.entries(opts.topologies)) files[`topologies/${name}.yaml`] = text;
    const first = commit('the example, compiled', files);
    log(`[gitops] repository ${repoUrl} at ${first.slice(0, 8)}`);

    const home = members[0] as Member;
    const argocd = await startArgoCd({ home: home.access, members: members.map((m) => m.access), binDir: opts.binDir, log, appResyncSeconds: 10 });
    stops.push(async () => argocd.stop());

    // the test kubelet and the controller in every member cluster
    for (const m of members) {
      const workDir = fs.mkdtempSync(path.join(work, `kubelet-${m.name}-`));
      // as a node: the admission guard lets a kubelet finish deleting a terminating pod
      m.kubelet = await startTestKubelet({ kubeconfigPath: path.join(path.dirname(m.access.kubeconfigPath), NODE_KUBECONFIG), nodeName: `node-${m.name}`, workDir, log: () => {} });
      const kubelet = m.kubelet;
      stops.push(async () => kubelet.stop());
    }

    const world: GitopsWorld = {
      argocd,
      members,
      repoDir,
      repoUrl,
      home: home.client,
      git,
      commit,
      commitRaw: (message, files) => commitFiles(message, files, false),
      applications: async () =>
        (await argocdApi<{ items: Application[] | null }>(argocd, 'GET', `/api/v1/applications?selector=${encodeURIComponent(`dbtopo.dev/environment=${ENV}`)}`)).items ?? [],
      application: async (name) => await argocdApi<Application>(argocd, 'GET', `/api/v1/applications/${encodeURIComponent(name)}`),
      stop,
    };
    return world;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Starts the dbtopo controller in the given member clusters (once the dbtopo CRDs are there). */
export async function startControllers(world: GitopsWorld, debug = false, members: readonly Member[] = world.members): Promise<void> {
  for (const m of members) {
    if (m.controller !== undefined) continue;
    const admin = new k8s.KubeConfig();
    admin.loadFromFile(m.access.kubeconfigPath);
    // as its ServiceAccount: the rendered admission guard lets only it relabel and delete pods
    const kc = await impersonating(admin, CONTROLLER_USER);
    m.controller = await startController({ kubeconfig: kc, metricsPort: 0, healthPort: 0, bindAddress: '127.0.0.1', log: makeLogger(debug ? 'info' : 'warn') });
  }
}

export { sleep, until };

/** One line of an Application's state, for figures and error messages. */
export const summary = (a: Application): string =>
  `${a.metadata.name}: sync=${a.status?.sync?.status ?? '-'}@${(a.status?.sync?.revision ?? '-').slice(0, 8)} health=${a.status?.health?.status ?? '-'} op=${a.status?.operationState?.phase ?? '-'}@${(a.status?.operationState?.syncResult?.revision ?? a.status?.operationState?.operation?.sync?.revision ?? '-').slice(0, 8)} ${a.status?.operationState?.message ?? ''}`.trim();

/**
 * Stops an Application's running sync operation (`argocd app terminate-op`), if one runs: a
 * failed sync is retried on the revision it started with, so after a revert the retries of the
 * bad revision would keep going for minutes. Only an operation on `revision`. Returns whether there was one.
 */
export async function terminateOperation(world: GitopsWorld, app: string, revision: string): Promise<boolean> {
  const a = await world.application(app);
  const op = a.status?.operationState;
  if (op?.phase !== 'Running' || (op.syncResult?.revision ?? op.operation?.sync?.revision) !== revision) return false;
  // argocd-server's TerminateOperation updates the Application with a resourceVersion and gives up
  // after 10 conflicts, which the ApplicationSet controller's repeated writes under RollingSync
  // cause; then it does what the server does, as a merge patch (no resourceVersion to conflict on).
  const viaApi = await argocdApi(world.argocd, 'DELETE', `/api/v1/applications/${encodeURIComponent(app)}/operation`).then(
    () => '',
    (err: unknown) => String(err),
  );
  if (viaApi !== '') {
    await world.home.mergePatch(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications/${encodeURIComponent(app)}`, { status: { operationState: { phase: 'Terminating' } } }, 'dbtopo-e2e');
  }
  return true;
}

/** Pods of a namespace as name:uid:restart counts, sorted: equal lists mean nothing was replaced or restarted. */
export async function podIdentities(m: Member, namespace: string): Promise<string[]> {
  return (await m.client.list<KubeObject & { status?: { containerStatuses?: Array<{ restartCount?: number }> } }>(`/api/v1/namespaces/${namespace}/pods`)).items
    .map((p) => `${p.metadata.name}:${p.metadata.uid}:${p.status?.containerStatuses?.map((c) => c.restartCount ?? 0).join(',') ?? ''}`)
    .sort();
}

/** The dbtopo CRDs are established in a member cluster (its Application's first sync made them). */
export async function crdsEstablished(m: Member): Promise<true | undefined> {
  const crd = await m.client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/instancesets.dbtopo.dev');
  return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
}

/**
 * Member cluster by member cluster, in rollout order: waits for the dbtopo CRDs (created by that
 * member's first sync), then starts its controller, as an install would after the CRDs. With the
 * RollingSync strategy the second member cluster's first sync waits for the canary to be Healthy,
 * which needs the canary's controller: hence one member cluster at a time. `onWait` runs on every
 * poll (the test clears stale PDBs there: a Degraded canary holds the second member cluster).
 * Returns the seconds from `t0` at which each member cluster had its CRDs.
 */
export async function startControllersAsCrdsArrive(world: GitopsWorld, t0: number, opts: { timeoutMs?: number; onWait?: () => Promise<void> } = {}): Promise<Record<string, number>> {
  const at: Record<string, number> = {};
  for (const m of world.members) {
    await until(`dbtopo CRDs in ${m.name}`, opts.timeoutMs ?? 240_000, async () => {
      await opts.onWait?.();
      return await crdsEstablished(m);
    });
    at[m.name] = (performance.now() - t0) / 1000;
    await startControllers(world, false, [m]);
  }
  return at;
}

export async function stopControllers(world: GitopsWorld): Promise<void> {
  for (const m of world.members) {
    await m.controller?.stop();
    delete m.controller;
  }
}

/** Applies the environment's generated AppProject and ApplicationSet (rendered/<env>/_argocd/) to Argo CD's home. */
export async function applyArgoObjects(world: GitopsWorld): Promise<KubeObject[]> {
  const objs = renderedObjects(path.join(world.repoDir, 'rendered', ENV, '_argocd'));
  for (const o of objs) {
    const plural = o.kind === 'AppProject' ? 'appprojects' : o.kind === 'ApplicationSet' ? 'applicationsets' : undefined;
    if (plural === undefined) throw new Error(`unexpected ${o.kind} in _argocd/`);
    await world.home.apply(`/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/${plural}/${o.metadata.name}`, o, 'dbtopo-e2e');
  }
  return objs;
}
