// Argo CD in the loop, on real parts: a GitOps repository compiled by dbtopo and committed to a
// local Git repository; the generated AppProject and ApplicationSet applied to a real Argo CD
// (argocd-launcher.ts, built from its Go module); Argo CD syncing with server-side apply into two
// real control planes, where the test kubelet runs redis-server per pod and the dbtopo controller
// labels roles and writes status. Figures (commit → Healthy, OutOfSync transitions while the
// controller writes, self-heal time) are printed on stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../schemas/types/index.js';
import * as k8s from '@kubernetes/client-node';
import { breakGlassPatch, rawRequest, testKubeconfigs } from '../cluster/helpers.js';
import { argocdApi } from './argocd-launcher.js';
import { repoRoot } from './argocd-bin.js';
import { ENV, applyArgoObjects, podIdentities, sleep, standalone, startControllersAsCrdsArrive, startGitopsWorld, stopControllers, summary, terminateOperation, topology, until, type Application, type GitopsWorld } from './gitops-env.js';

const MEMBERS = ['gitops-a', 'gitops-b'] as const;
const APPS = MEMBERS.map((m) => `dbtopo-${ENV}-${m}`);
// "several minutes" (issue 11): 180 s by default; DBTOPO_GITOPS_WATCH_SECONDS changes it
const WATCH_SECONDS = Number(process.env['DBTOPO_GITOPS_WATCH_SECONDS'] ?? 180);
const figure = (m: string): void => {
  process.stderr.write(`[gitops figure] ${m}\n`);
};

describe('Argo CD syncs the rendered repository', () => {
  let world: GitopsWorld;
  let head = '';
  let committedAt = 0;
  const lastSeen = new Map<string, string>();

  // kube-controller-manager's disruption controller resolves the owner of a PDB's pods (an
  // InstanceSet) through a RESTMapper it resets every 30 s. A PDB synced before that mapper knows
  // the dbtopo CRDs (they are created by the same Argo CD sync, wave -2) fails with 'no matches for
  // kind "InstanceSet"'; failSafe() then writes SyncFailed and does not requeue, so the PDB stays
  // SyncFailed until the PDB or one of its pods changes, and Argo CD's built-in PDB health shows
  // the Application Degraded meanwhile. In a quiet cluster that is a long time. Seen in 2 of 4
  // runs. The test does what any pod event would do: it touches such a PDB (an annotation), at most
  // every 31 s so that a mapper reset lies in between, and prints each one.
  const stalePdbs = new Map<string, { since: number; touched: number }>();
  const touchStalePdbs = async (apps: Application[]): Promise<void> => {
    for (const [i, a] of apps.entries()) {
      const member = world.members[i];
      if (member === undefined) continue;
      for (const r of a.status?.resources ?? []) {
        if (r.kind !== 'PodDisruptionBudget' || r.health?.status !== 'Degraded') continue;
        const p = `/apis/policy/v1/namespaces/${r.namespace}/poddisruptionbudgets/${r.name}`;
        const pdb = await member.client.get<KubeObject & { status?: { conditions?: Array<{ reason?: string; message?: string }> } }>(p);
        if (pdb?.status?.conditions?.some((c) => c.reason === 'SyncFailed' && /no matches for kind "InstanceSet"/.test(c.message ?? '')) !== true) continue;
        const key = `${member.name}/${r.namespace}/${r.name}`;
        const seenAt = stalePdbs.get(key) ?? { since: performance.now(), touched: 0 };
        if (!stalePdbs.has(key)) figure(`PDB ${key}: SyncFailed, kube-controller-manager's RESTMapper did not know InstanceSet yet`);
        stalePdbs.set(key, seenAt);
        if (performance.now() - seenAt.touched < 31_000) continue;
        seenAt.touched = performance.now();
        await member.client.mergePatch(p, { metadata: { annotations: { 'dbtopo.test/resync': String(Date.now()) } } }, 'dbtopo-e2e');
      }
    }
  };

  const syncedHealthy = async (revision: string): Promise<Application[] | undefined> => {
    const apps = await Promise.all(APPS.map((n) => world.application(n)));
    for (const a of apps) lastSeen.set(a.metadata.name, summary(a));
    await touchStalePdbs(apps);
    return apps.every((a) => a.status?.sync?.status === 'Synced' && a.status.sync.revision === revision && a.status.health?.status === 'Healthy') ? apps : undefined;
  };
  const refresh = async (): Promise<void> => {
    for (const n of APPS) await argocdApi(world.argocd, 'GET', `/api/v1/applications/${n}?refresh=normal`).catch(() => undefined);
  };
  const seen = (): string => [...lastSeen.values()].join('\n');

  /**
   * Waits until Argo CD attempted revision `bad` of `app` and it failed (Failed/Error, or Running
   * "Retrying attempt #n" with the failed attempt's results: the ApplicationSet retries failed
   * syncs) with a message matching `why`; returns the Application and the refused resources.
   */
  const failedSync = async (app: string, bad: string, why: RegExp, timeoutMs: number): Promise<{ a: Application; rejected: string[] }> => {
    const a = await until(`the sync of ${bad.slice(0, 8)} to fail`, timeoutMs, async () => {
      const got = await world.application(app);
      lastSeen.set(app, summary(got));
      const op = got.status?.operationState;
      const attempted = op?.syncResult?.revision === bad || op?.operation?.sync?.revision === bad;
      const failedOnce = op?.phase === 'Failed' || op?.phase === 'Error' || (op?.retryCount ?? 0) >= 1;
      return attempted && failedOnce && why.test(JSON.stringify(op)) ? got : undefined;
    }, 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast seen:\n${seen()}`);
    });
    const rejected = (a.status?.operationState?.syncResult?.resources ?? []).filter((r) => r.status !== 'Synced').map((r) => `${r.kind}/${r.name} ${r.status ?? ''}: ${r.message ?? ''}`);
    return { a, rejected };
  };

  /** The fix is a revert: the running retries of `bad` are stopped, the revert syncs and heals. */
  const revertAndHeal = async (app: string, bad: string, timeoutMs = 180_000): Promise<void> => {
    world.git('revert', '--no-edit', 'HEAD');
    head = world.git('rev-parse', 'HEAD');
    await terminateOperation(world, app, bad);
    await refresh();
    await until('Synced + Healthy after the revert', timeoutMs, async () => {
      await terminateOperation(world, app, bad);
      return await syncedHealthy(head);
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast seen:\n${seen()}`);
    });
  };

  beforeAll(async () => {
    world = await startGitopsWorld({
      kubeconfigs: testKubeconfigs(),
      binDir: inject('argocdBinDir'),
      memberNames: MEMBERS,
      topologies: { 'flags-a': topology('flags-a', 'alpha', 'gitops-a'), 'flags-b': topology('flags-b', 'beta', 'gitops-b') },
      log: (m) => process.stderr.write(`${m}\n`),
    });
    head = world.git('rev-parse', 'HEAD');
    committedAt = performance.now();
    await applyArgoObjects(world);
  });
  afterAll(async () => {
    if (world === undefined) return;
    await stopControllers(world);
    await world.stop();
  });

  it('the generated ApplicationSet makes one Application per member cluster, pointed at its API server', async () => {
    const apps = await until('two Applications', 60_000, async () => {
      const got = await world.applications();
      return got.length === APPS.length ? got : undefined;
    });
    expect(apps.map((a) => a.metadata.name).sort()).toEqual([...APPS].sort());
    const raw = await Promise.all(APPS.map((n) => argocdApi<{ spec: { destination: { server: string }; source: { repoURL: string; path: string } } }>(world.argocd, 'GET', `/api/v1/applications/${n}`)));
    expect(raw.map((a) => a.spec.destination.server)).toEqual(world.members.map((m) => m.access.server));
    expect(raw.map((a) => a.spec.source.repoURL)).toEqual([world.repoUrl, world.repoUrl]);
  });

  it('syncs (server-side apply) and, with the dbtopo controller running, every Application goes Synced + Healthy on the commit', async () => {
    // Argo CD creates the dbtopo CRDs itself (wave -2, rendered/<env>/<member>/_cluster/); each
    // member cluster's controller starts once they are served, as it would be installed after
    // them. RollingSync: the second member cluster's first sync waits for the canary's Healthy.
    // A PDB the disruption controller failed on (below) keeps the canary Degraded, and so holds
    // the second member cluster's first sync: cleared while waiting, like in syncedHealthy().
    const crdsAt = await startControllersAsCrdsArrive(world, committedAt, {
      onWait: async () => {
        const apps = await Promise.all(APPS.map((n) => world.application(n)));
        for (const a of apps) lastSeen.set(a.metadata.name, summary(a));
        await touchStalePdbs(apps);
      },
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast seen:\n${seen()}`);
    });
    figure(`commit → dbtopo CRDs synced: ${Object.entries(crdsAt).map(([m, t]) => `${m} ${t.toFixed(1)} s`).join(', ')} (RollingSync order)`);
    const apps = await until('Synced + Healthy on the commit', 240_000, () => syncedHealthy(head), 500).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast seen:\n${seen()}`);
    });
    figure(`commit → both Applications Synced + Healthy: ${((performance.now() - committedAt) / 1000).toFixed(1)} s`);
    for (const a of apps) expect(a.status?.operationState?.syncResult?.revision).toBe(head);
    // RollingSync: the ApplicationSet controller turned automated sync off on every Application
    // (Argo CD v3.2 does so for every Application of a RollingSync ApplicationSet) and synced them itself
    const raw = await Promise.all(APPS.map((n) => argocdApi<Application>(world.argocd, 'GET', `/api/v1/applications/${n}`)));
    expect(raw.map((a) => a.spec?.syncPolicy?.automated)).toEqual([undefined, undefined]);
  });

  it("shows each Cluster and InstanceSet in the resource tree with the health dbtopo's Lua computes", async () => {
    const casesDir = fs.mkdtempSync(path.join(world.argocd.dir, 'tmp', 'live-health-'));
    const expected: Array<{ key: string; status: string; message: string }> = [];
    for (const [i, name] of APPS.entries()) {
      const tree = await argocdApi<{ nodes: Array<{ group?: string; kind: string; namespace?: string; name: string; health?: { status?: string; message?: string } }> }>(world.argocd, 'GET', `/api/v1/applications/${name}/resource-tree`);
      const ours = tree.nodes.filter((n) => n.group === 'dbtopo.dev');
      expect(ours.map((n) => n.kind).sort()).toEqual(['Cluster', 'InstanceSet', 'InstanceSet']);
      const member = world.members[i];
      if (member === undefined) throw new Error('member');
      for (const n of ours) {
        expect(n.health?.status).toBe('Healthy');
        const plural = n.kind === 'Cluster' ? 'clusters' : 'instancesets';
        const live = await member.client.get<KubeObject>(`/apis/dbtopo.dev/v1alpha1/namespaces/${n.namespace}/${plural}/${n.name}`);
        const dir = path.join(casesDir, 'dbtopo.dev', n.kind);
        fs.mkdirSync(path.join(dir, 'testdata'), { recursive: true });
        const file = `testdata/${member.name}-${n.name}.yaml`;
        fs.writeFileSync(path.join(dir, file), stringify(live));
        expected.push({ key: `${n.kind}/${file}`, status: n.health?.status ?? '', message: n.health?.message ?? '' });
      }
    }
    for (const kind of ['Cluster', 'InstanceSet']) {
      const tests = expected.filter((e) => e.key.startsWith(`${kind}/`)).map((e) => ({ healthStatus: { status: e.status, message: e.message }, inputPath: e.key.slice(kind.length + 1) }));
      fs.writeFileSync(path.join(casesDir, 'dbtopo.dev', kind, 'health_test.yaml'), stringify({ tests }));
    }
    const tool = spawnSync(path.join(inject('argocdBinDir'), 'dbtopo-argocd-health'), ['--argocd-cm', path.join(repoRoot(), 'ci/argocd/argocd-cm-health.yaml'), '--cases', casesDir], { encoding: 'utf8', timeout: 60_000 });
    expect(tool.status, tool.stderr).toBe(0);
    const report = JSON.parse(tool.stdout) as { results: Array<{ kind: string; inputPath: string; status: string; message: string; expectedStatus: string; expectedMessage: string }> };
    expect(report.results).toHaveLength(6);
    for (const r of report.results) expect({ what: `${r.kind} ${r.inputPath}`, status: r.status, message: r.message }).toEqual({ what: `${r.kind} ${r.inputPath}`, status: r.expectedStatus, message: r.expectedMessage });
    figure(`resource tree health: ${report.results.map((r) => `${r.kind} ${r.inputPath.replace('testdata/', '')}: ${r.status} "${r.message}"`).join('; ')}`);
  });

  it(`stays Synced while the dbtopo controller writes status and labels (${WATCH_SECONDS} s window, the primary's redis-server killed once)`, async () => {
    const member = world.members[0];
    if (member?.kubelet === undefined) throw new Error('no kubelet');
    const states = new Map<string, string>(APPS.map((n) => [n, 'Synced']));
    let outOfSync = 0;
    const transitions: string[] = [];
    const versions = new Map<string, string>();
    let writes = 0;
    const t0 = performance.now();
    let killed = false;
    for (let i = 0; i < WATCH_SECONDS * 4 && performance.now() - t0 < WATCH_SECONDS * 1000; i++) {
      if (!killed && performance.now() - t0 > 5_000) {
        member.kubelet.killProcess('db-alpha/flags-a-server-0', 'SIGKILL');
        killed = true;
      }
      for (const n of APPS) {
        const a = await world.application(n);
        const s = a.status?.sync?.status ?? 'Unknown';
        if (s !== states.get(n)) {
          transitions.push(`${((performance.now() - t0) / 1000).toFixed(1)}s ${n} ${states.get(n)} → ${s}`);
          if (s === 'OutOfSync') outOfSync++;
          states.set(n, s);
        }
      }
      // what the controller (and kubelet) write: resourceVersions of the dbtopo objects and pods
      for (const m of world.members) {
        for (const p of ['/apis/dbtopo.dev/v1alpha1/instancesets', '/apis/dbtopo.dev/v1alpha1/clusters', '/api/v1/pods']) {
          const list = await m.client.list<KubeObject>(p);
          for (const o of list.items) {
            const key = `${m.name}/${o.kind ?? p}/${o.metadata.namespace}/${o.metadata.name}`;
            const rv = o.metadata.resourceVersion ?? '';
            if (versions.has(key) && versions.get(key) !== rv) writes++;
            versions.set(key, rv);
          }
        }
      }
      await sleep(250);
    }
    figure(`watch ${WATCH_SECONDS} s: ${writes} writes to InstanceSets/Clusters/pods observed, ${outOfSync} OutOfSync transitions${transitions.length > 0 ? `: ${transitions.join('; ')}` : ''}`);
    expect(killed).toBe(true);
    expect(writes).toBeGreaterThan(0);
    expect(transitions).toEqual([]);
    expect(outOfSync).toBe(0);
    await until('Healthy again after the engine kill', 120_000, () => syncedHealthy(head));
  });

  // Argo CD's own self-heal is off under RollingSync (no `automated` on the Applications); drift
  // makes the Application OutOfSync, and the ApplicationSet controller syncs it again (its step's
  // turn: the canary at once, the others once the steps before them are Healthy).
  it('a hand edit of an InstanceSet is reverted (the ApplicationSet controller re-syncs the drifted Application)', async () => {
    const member = world.members[0];
    if (member === undefined) throw new Error('member');
    const p = '/apis/dbtopo.dev/v1alpha1/namespaces/db-alpha/instancesets/flags-a-server';
    const before = await member.client.get<KubeObject & { spec: { roleProbe: { periodSeconds: number } } }>(p);
    const period = before?.spec.roleProbe.periodSeconds;
    expect(period).toBe(2);
    // the admission guard refuses a plain hand edit; an on-call engineer breaks glass
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(member.access.kubeconfigPath);
    const refused = await rawRequest(kc, 'PATCH', p, JSON.stringify({ spec: { roleProbe: { periodSeconds: 7 } } }), 'application/merge-patch+json');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/dbtopo guard \[spec-writers\]/);
    const t0 = performance.now();
    const edited = await breakGlassPatch(kc, p, { spec: { roleProbe: { periodSeconds: 7 } } }, 'e2e: self-heal check');
    expect(edited.status, edited.body.slice(0, 300)).toBe(200);
    const reverted = await until('the hand edit reverted', 90_000, async () => {
      const got = await member.client.get<KubeObject & { spec: { roleProbe: { periodSeconds: number } } }>(p);
      return got?.spec.roleProbe.periodSeconds === period ? got : undefined;
    });
    figure(`self-heal: hand edit reverted after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(reverted.spec.roleProbe.periodSeconds).toBe(2);
    await until('Synced + Healthy after self-heal', 90_000, () => syncedHealthy(head));
  });

  it('a committed topology change is synced, rolled by the controller, Progressing → Healthy on the new revision', async () => {
    const before = head;
    head = world.commit('flags-a: maxmemory 48mb', { 'topologies/flags-a.yaml': topology('flags-a', 'alpha', 'gitops-a', '48mb') });
    expect(head).not.toBe(before);
    const t0 = performance.now();
    await refresh();
    // the health of flags-a's Application on the new revision, consecutive repeats dropped
    const healthSeen: string[] = [];
    type App = Awaited<ReturnType<typeof world.application>>;
    const note = (a: App): void => {
      const h = `${a.status?.health?.status ?? 'Unknown'}${a.status?.health?.status === 'Healthy' ? '' : ` (${(a.status?.resources ?? []).filter((r) => r.health?.status !== undefined && r.health.status !== 'Healthy').map((r) => `${r.kind} ${r.name}: ${r.health?.message ?? r.health?.status ?? ''}`).join(', ')})`}`;
      if (a.status?.sync?.revision === head && healthSeen.at(-1) !== h) healthSeen.push(h);
    };
    const apps = await until('Synced + Healthy on the new revision', 240_000, async () => {
      note(await world.application(APPS[0] as string));
      return await syncedHealthy(head);
    }, 250).catch((err: unknown) => {
      throw new Error(`${String(err)}\nlast seen:\n${seen()}`);
    });
    // The read that found everything Synced + Healthy is the last word: the one above it is a
    // separate, earlier read (CI once saw it Degraded a moment before the Healthy one).
    const settledApp = apps.find((a) => a.metadata.name === APPS[0]);
    if (settledApp !== undefined) note(settledApp);
    figure(`commit → Synced + Healthy on the change: ${((performance.now() - t0) / 1000).toFixed(1)} s; health of ${APPS[0]} on the new revision: ${healthSeen.join(' → ')}`);
    expect(apps.every((a) => a.status?.sync?.revision === head)).toBe(true);
    expect(healthSeen.some((h) => h.startsWith('Progressing'))).toBe(true);
    expect(healthSeen.at(-1)).toBe('Healthy');
    // every sync attempt of the change succeeded (no retried task)
    const ops = apps.map((a) => `${a.metadata.name}: ${a.status?.operationState?.phase ?? '-'} ${a.status?.operationState?.message ?? ''} ${(a.status?.operationState?.syncResult?.resources ?? []).filter((r) => r.status !== 'Synced').map((r) => `${r.kind}/${r.name}: ${r.message ?? ''}`).join('; ')}`);
    figure(`last operations: ${ops.join(' | ')}`);
    const client = world.members[0]?.client;
    const set = await client?.get<KubeObject & { spec: { template: { metadata: { annotations: Record<string, string> } } } }>('/apis/dbtopo.dev/v1alpha1/namespaces/db-alpha/instancesets/flags-a-server');
    const hash = set?.spec.template.metadata.annotations['dbtopo.dev/config-hash'];
    const pods = await client?.list<KubeObject>('/api/v1/namespaces/db-alpha/pods', { labelSelector: 'dbtopo.dev/instance-set=flags-a-server' });
    expect(pods?.items.length).toBe(2);
    for (const p of pods?.items ?? []) expect(p.metadata.annotations?.['dbtopo.dev/config-hash']).toBe(hash);
  });

  it("a sync Argo CD rejects (a kind outside the AppProject, merged by hand) fails with Argo CD's message; nothing running is touched", async () => {
    const member = world.members[1];
    if (member === undefined) throw new Error('member');
    const app = APPS[1] as string;
    const podsOf = async (): Promise<string[]> => await podIdentities(member, 'db-beta');
    const before = await podsOf();
    expect(before.length).toBe(3);
    const good = head;
    const intruder = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'intruder', namespace: 'db-beta' } };
    const bad = world.commitRaw('rendered/ edited by hand: a ServiceAccount', { [`rendered/${ENV}/gitops-b/db-beta/intruder.yaml`]: stringify(intruder) });
    const t0 = performance.now();
    await refresh();
    const { a: failed, rejected } = await failedSync(app, bad, /not permitted/, 90_000);
    const detail = JSON.stringify(failed.status?.operationState);
    figure(`rejected sync after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${failed.status?.operationState?.phase}: ${failed.status?.operationState?.message ?? ''}; ${rejected.join('; ')}`);
    expect(detail).toMatch(/ServiceAccount[^"]*not permitted in project dbtopo-e2e/);
    expect(await member.client.get('/api/v1/namespaces/db-beta/serviceaccounts/intruder')).toBeUndefined();
    expect(await podsOf()).toEqual(before);
    // the fix is a revert; Argo CD syncs it and the Application is whole again
    await revertAndHeal(app, bad);
    expect(head).not.toBe(good);
    expect(await podsOf()).toEqual(before);
  }, 420_000);

  it("a forbidden change merged without `dbtopo plan` (storage shrink) is refused by the admission guard: a failed sync with its message; nothing running is touched", async () => {
    const member = world.members[0];
    if (member === undefined) throw new Error('member');
    const app = APPS[0] as string;
    const setPath = '/apis/dbtopo.dev/v1alpha1/namespaces/db-alpha/instancesets/flags-a-server';
    const storageOf = async (): Promise<string | undefined> =>
      (await member.client.get<KubeObject & { spec: { volumeClaimTemplates?: Array<{ spec?: { resources?: { requests?: { storage?: string } } } }> } }>(setPath))?.spec.volumeClaimTemplates?.[0]?.spec?.resources?.requests?.storage;
    const before = await podIdentities(member, 'db-alpha');
    expect(before.length).toBe(3);
    expect(await storageOf()).toBe('1Gi');
    const good = head;
    const shrunk = parse(topology('flags-a', 'alpha', 'gitops-a', '48mb')) as { storage: { size: string } };
    shrunk.storage.size = '512Mi';
    // compiled and committed, as a merge that skipped (or ignored) the plan would be
    const bad = world.commit('flags-a: storage 1Gi → 512Mi, merged without the plan', { 'topologies/flags-a.yaml': stringify(shrunk) });
    // what the pull request's plan would have said: forbidden, exit code 4
    const plan = spawnSync(process.execPath, [path.join(repoRoot(), 'dist', 'compiler', 'cli', 'main.js'), 'plan', '--base', good, '--head', bad, '--repo', world.repoDir], { cwd: world.repoDir, encoding: 'utf8', timeout: 60_000 });
    expect(plan.status, plan.stderr).toBe(4);
    expect(plan.stdout).toMatch(/forbidden/);
    const t0 = performance.now();
    await refresh();
    const { a: failed, rejected } = await failedSync(app, bad, /storage-shrink/, 120_000);
    figure(`forbidden change refused after ${((performance.now() - t0) / 1000).toFixed(1)} s: ${failed.status?.operationState?.phase}: ${failed.status?.operationState?.message ?? ''}; ${rejected.join('; ')}`);
    expect(rejected.join('\n')).toMatch(/InstanceSet\/flags-a-server[^\n]*dbtopo guard \[storage-shrink\]/);
    expect(failed.status?.sync?.status).toBe('OutOfSync');
    expect(await storageOf()).toBe('1Gi');
    expect(await podIdentities(member, 'db-alpha')).toEqual(before);
    await revertAndHeal(app, bad);
    expect(await podIdentities(member, 'db-alpha')).toEqual(before);
  }, 420_000);

  // ---------------------------------------------------------------------------------------------
  // Member clusters in order (RollingSync, compiler/rollout/order.ts): gitops-a is the canary.

  interface Sighting {
    /** status.sync.revision is the commit (Argo CD compared against it) */
    seen?: number;
    /** a sync operation of the commit was seen (running or done), with Argo CD's startedAt */
    opSeen?: number;
    opStartedAt?: string;
    /** Synced + Healthy on the commit, last operation Succeeded on it */
    healthy?: number;
    degraded?: number;
  }
  const onRevision = (a: Application, rev: string): boolean => a.status?.sync?.revision === rev;
  const opOn = (a: Application, rev: string): boolean => {
    const op = a.status?.operationState;
    return op !== undefined && (op.syncResult?.revision === rev || op.operation?.sync?.revision === rev);
  };
  // the canary is done only when Argo CD reports Healthy *on the new commit*: compared against it,
  // Synced, and its last sync of that commit Succeeded; an older Healthy does not count (#29410)
  const healthyOn = (a: Application, rev: string): boolean =>
    onRevision(a, rev) && a.status?.sync?.status === 'Synced' && a.status.health?.status === 'Healthy' && opOn(a, rev) && a.status.operationState?.phase === 'Succeeded';
  const appSetSteps = async (): Promise<string> => {
    const set = await world.home.get<KubeObject & { status?: { applicationStatus?: Array<{ application: string; status: string; step: string }> } }>(`/apis/argoproj.io/v1alpha1/namespaces/argocd/applicationsets/dbtopo-${ENV}`);
    return (set?.status?.applicationStatus ?? []).map((s) => `${s.application} step ${s.step} ${s.status}`).join(', ');
  };
  /** Polls both Applications (canary first, in one snapshot) and records what each did with `rev`. */
  const track = (rev: string, t0: number) => {
    const seenBy = new Map<string, Sighting>(APPS.map((n) => [n, {}]));
    const violations: string[] = [];
    const steps: string[] = [];
    const at = (): number => (performance.now() - t0) / 1000;
    const poll = async (): Promise<Application[]> => {
      const apps: Application[] = [];
      for (const n of APPS) apps.push(await world.application(n));
      const now = at();
      for (const a of apps) {
        lastSeen.set(a.metadata.name, summary(a));
        const s = seenBy.get(a.metadata.name) as Sighting;
        if (s.seen === undefined && onRevision(a, rev)) s.seen = now;
        if (s.opSeen === undefined && opOn(a, rev)) {
          s.opSeen = now;
          s.opStartedAt = a.status?.operationState?.startedAt ?? '';
        }
        if (s.healthy === undefined && healthyOn(a, rev)) s.healthy = now;
        if (s.degraded === undefined && onRevision(a, rev) && a.status?.health?.status === 'Degraded') s.degraded = now;
      }
      const [canary, second] = apps as [Application, Application];
      if (opOn(second, rev) && seenBy.get(APPS[0] as string)?.healthy === undefined) {
        violations.push(`${now.toFixed(1)}s: ${summary(second)} while ${summary(canary)}`);
      }
      const st = await appSetSteps().catch(() => '');
      if (st !== '' && steps.at(-1)?.endsWith(` ${st}`) !== true) steps.push(`${now.toFixed(1)}s ${st}`);
      await touchStalePdbs(apps);
      return apps;
    };
    const report = (): string =>
      APPS.map((n) => {
        const s = seenBy.get(n) as Sighting;
        const f = (x?: number): string => (x === undefined ? '-' : `${x.toFixed(1)}s`);
        return `${n}: on ${rev.slice(0, 8)} ${f(s.seen)}, sync op seen ${f(s.opSeen)} (Argo CD startedAt ${s.opStartedAt ?? '-'}), Synced+Healthy ${f(s.healthy)}${s.degraded !== undefined ? `, Degraded ${f(s.degraded)}` : ''}`;
      }).join('; ');
    /** the ApplicationSet's record of its Applications: first and last changes, the count of all */
    const stepLog = (): string => (steps.length <= 8 ? steps.join(' | ') : `${steps.slice(0, 4).join(' | ')} | … ${steps.length - 8} more … | ${steps.slice(-4).join(' | ')}`) + ` (${steps.length} changes)`;
    return { seenBy, violations, steps, poll, report, stepLog };
  };

  it('a change reaches the second member cluster only after the canary is Healthy on the new revision', async () => {
    const before = head;
    const [canary, second] = APPS as unknown as [string, string];
    const hashOf = async (i: number, ns: string, set: string): Promise<string | undefined> =>
      (await world.members[i]?.client.get<KubeObject & { spec: { template: { metadata: { annotations?: Record<string, string> } } } }>(`/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets/${set}`))?.spec.template.metadata.annotations?.['dbtopo.dev/config-hash'];
    const hashesBefore = [await hashOf(0, 'db-alpha', 'flags-a-server'), await hashOf(1, 'db-beta', 'flags-b-server')];
    // (and a standalone Redis for the canary, which the next test breaks; in db-alpha: a new
    // namespace would need the regenerated AppProject applied first, docs/gitops.md step 5)
    head = world.commit('flags-a, flags-b: maxmemory 40mb; flags-s: a standalone Redis in gitops-a', {
      'topologies/flags-a.yaml': topology('flags-a', 'alpha', 'gitops-a', '40mb'),
      'topologies/flags-b.yaml': topology('flags-b', 'beta', 'gitops-b', '40mb'),
      'topologies/flags-s.yaml': standalone('flags-s', 'alpha', 'gitops-a'),
    });
    expect(head).not.toBe(before);
    const t0 = performance.now();
    const wallT0 = Date.now();
    const tr = track(head, t0);
    // what a Git webhook does: Argo CD refreshes every Application of the repository
    await refresh();
    await until('both Applications Synced + Healthy on the change, in order', 300_000, async () => {
      const apps = await tr.poll();
      return apps.every((a) => healthyOn(a, head)) ? apps : undefined;
    }, 250).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tr.report()}\nlast seen:\n${seen()}\nApplicationSet: ${tr.stepLog()}`);
    });
    const a = tr.seenBy.get(canary) as Required<Sighting>;
    const b = tr.seenBy.get(second) as Required<Sighting>;
    figure(`rollout order: ${canary} sync ${a.opSeen.toFixed(1)} s → Healthy ${a.healthy.toFixed(1)} s, then ${second} sync ${b.opSeen.toFixed(1)} s → Healthy ${b.healthy.toFixed(1)} s after the commit`);
    figure(`rollout detail: ${tr.report()}`);
    figure(`rollout: ApplicationSet steps ${tr.stepLog()}`);
    figure(`rollout: ${second} was compared against the commit ${b.seen < a.seen ? 'BEFORE' : 'after'} ${canary} (${b.seen.toFixed(1)}s vs ${a.seen.toFixed(1)}s: ${b.seen < a.seen ? 'the stale-status window of argo-cd #29410 was open' : 'no stale-status window'})`);
    expect(tr.violations, 'the second member cluster synced the commit before the canary was Healthy on it').toEqual([]);
    expect(b.opSeen).toBeGreaterThanOrEqual(a.healthy);
    // Argo CD's own clock (seconds): the second sync started no earlier than the second in which the canary was seen Healthy
    expect(Date.parse(b.opStartedAt)).toBeGreaterThanOrEqual(Math.floor((wallT0 + a.healthy * 1000) / 1000) * 1000 - 1000);
    expect(a.opSeen).toBeLessThan(b.opSeen);
    // the change reached both member clusters
    const hashesAfter = [await hashOf(0, 'db-alpha', 'flags-a-server'), await hashOf(1, 'db-beta', 'flags-b-server')];
    expect(hashesAfter[0]).not.toBe(hashesBefore[0]);
    expect(hashesAfter[1]).not.toBe(hashesBefore[1]);
  }, 420_000);

  it('a canary that goes Degraded stops the rollout: the second member cluster stays on the old revision', async () => {
    const good = head;
    const [canary, second] = APPS as unknown as [string, string];
    const member = world.members[1];
    if (member === undefined) throw new Error('member');
    const podsBefore = await podIdentities(member, 'db-beta');
    const specOf = async (): Promise<string> => JSON.stringify((await member.client.get<KubeObject & { spec: unknown }>('/apis/dbtopo.dev/v1alpha1/namespaces/db-beta/instancesets/flags-b-server'))?.spec);
    const specBefore = await specOf();
    // redis-server refuses to start on an unknown directive: the canary's standalone Redis is
    // replaced by a pod that never gets ready (1/1 updated, 0/1 ready), its Cluster goes Failed,
    // which dbtopo's Lua reports as Degraded. The same commit changes flags-b in gitops-b.
    const bad = world.commit('flags-s: a parameter redis-server does not know; flags-b: maxmemory 44mb', {
      'topologies/flags-s.yaml': standalone('flags-s', 'alpha', 'gitops-a', { 'dbtopo-e2e-no-such-directive': 'yes' }),
      'topologies/flags-b.yaml': topology('flags-b', 'beta', 'gitops-b', '44mb'),
    });
    const t0 = performance.now();
    const tr = track(bad, t0);
    await refresh();
    await until(`${canary} Degraded on the bad revision`, 240_000, async () => {
      await tr.poll();
      return tr.seenBy.get(canary)?.degraded;
    }, 250).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${tr.report()}\nlast seen:\n${seen()}\nApplicationSet: ${tr.stepLog()}`);
    });
    // a bounded window after the canary went Degraded: the second member cluster must not move
    const WINDOW_MS = 60_000;
    const w0 = performance.now();
    let secondState = '';
    for (let i = 0; i < WINDOW_MS / 500 && performance.now() - w0 < WINDOW_MS; i++) {
      const apps = await tr.poll();
      secondState = summary(apps[1] as Application);
      await sleep(500);
    }
    const canaryNow = await world.application(canary);
    figure(`degraded canary: ${tr.report()}; after a ${WINDOW_MS / 1000} s window: ${summary(canaryNow)} (${canaryNow.status?.health?.message ?? ''}); ${secondState}`);
    figure(`degraded canary: ApplicationSet steps ${tr.stepLog()}`);
    const s = tr.seenBy.get(second) as Sighting;
    expect(s.opSeen, `${second} started a sync of the bad revision`).toBeUndefined();
    expect(tr.violations).toEqual([]);
    const b = await world.application(second);
    expect(b.status?.sync?.status).toBe('OutOfSync');
    expect(b.status?.operationState?.syncResult?.revision).toBe(good);
    expect(await specOf()).toBe(specBefore);
    expect(await podIdentities(member, 'db-beta')).toEqual(podsBefore);
    expect(canaryNow.status?.health?.status).not.toBe('Healthy');

    // the fix is a revert: the canary heals, and the second member cluster has nothing to do
    const r0 = performance.now();
    await revertAndHeal(canary, bad, 240_000);
    figure(`degraded canary: revert → both Synced + Healthy in ${((performance.now() - r0) / 1000).toFixed(1)} s`);
    expect(await podIdentities(member, 'db-beta')).toEqual(podsBefore);
  }, 600_000);
});
