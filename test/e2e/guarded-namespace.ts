// A test namespace with the rendered admission guard in force (compiler/emit/guards.ts), and the
// identities the guard tells apart, so that every end-to-end test runs as production does: the
// GitOps sync writes Cluster and InstanceSet specs, the dbtopo controller acts as its
// ServiceAccount, the test kubelet as a node, and only set-up and tear-down use admin rights.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { KubeClient } from '../../controller/runtime/kube.js';
import {
  CONTROLLER_USER,
  KubeRequestError,
  asGitops,
  createTestNamespace,
  deleteTestNamespace,
  impersonating,
  installGuard,
  rawRequest,
  sleep,
  statusMessage,
  testKubeconfigs,
} from '../cluster/helpers.js';
import { NODE_KUBECONFIG } from '../cluster/launcher.js';
import { installCrds } from './controller-helpers.js';

export interface GuardedNamespace {
  namespace: string;
  /** The control plane's admin: set-up, tear-down, and reads. */
  admin: k8s.KubeConfig;
  /** As Argo CD's application controller syncs: the one identity (bar break glass) that writes specs. */
  gitops: k8s.KubeConfig;
  /** As the dbtopo controller's ServiceAccount. */
  controller: k8s.KubeConfig;
  /** `controller` as a file, for controllers the test runs as child processes. */
  controllerKubeconfig: string;
  /** For the test kubelet: a node's credentials (it also binds pods, as the scheduler would). */
  nodeKubeconfig: string;
  stop(): Promise<void>;
}

/**
 * Installs the CRDs, creates `namespace` on member cluster `member` and puts the rendered guard in
 * force there: every e2e test runs under it, none opts out. `stop()` removes the guard, the
 * namespace and the kubeconfig file.
 */
export async function guardedNamespace(namespace: string, opts: { member?: string } = {}): Promise<GuardedNamespace> {
  const file = testKubeconfigs()[opts.member ?? 'member-a'];
  if (file === undefined) throw new Error(`no ${opts.member ?? 'member-a'} control plane`);
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(file);
  const adminClient = new KubeClient(admin);
  await installCrds(adminClient).finally(() => adminClient.close());
  await createTestNamespace(admin, namespace);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-e2e-ids-'));
  const stops: Array<() => Promise<void>> = [
    async () => fs.rmSync(dir, { recursive: true, force: true }),
    async () => deleteTestNamespace(admin, namespace),
  ];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    stops.push(await installGuard(admin, namespace));
    const controller = await impersonating(admin, CONTROLLER_USER);
    const controllerKubeconfig = path.join(dir, 'controller.kubeconfig');
    fs.writeFileSync(controllerKubeconfig, controller.exportConfig(), { mode: 0o600 });
    return {
      namespace,
      admin,
      gitops: await asGitops(admin),
      controller,
      controllerKubeconfig,
      nodeKubeconfig: path.join(path.dirname(file), NODE_KUBECONFIG),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Evicts a pod as `kubectl drain` does: through the eviction API, which honours the
 * PodDisruptionBudgets (not the guard's delete rules), retried while a budget holds it (429) until
 * `timeoutMs`. This is how a pod that holds the primary leaves under the guard other than by the
 * controller: a plain delete of it is refused to everyone else.
 *
 * A budget can hold it for a reason that is not the pods': kube-controller-manager's disruption
 * controller resolves the pods' owner (an InstanceSet) through a RESTMapper it refreshes every
 * 30 s; a PDB synced before that fails with 'no matches for kind "InstanceSet"', is written
 * SyncFailed with 0 disruptions allowed, and is not retried until it or one of its pods changes
 * (failSafe, then Forget). Seen with every pod Ready for 60 s. Such a PDB is touched (an
 * annotation), at most every 31 s so that a mapper refresh lies in between, as any pod event
 * would; test/gitops/sync.test.ts meets the same on a fresh member cluster.
 */
export async function evictPod(kc: k8s.KubeConfig, namespace: string, name: string, timeoutMs = 90_000): Promise<void> {
  const body = JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } });
  const deadline = Date.now() + timeoutMs;
  let touched = 0;
  for (;;) {
    const r = await rawRequest(kc, 'POST', `/api/v1/namespaces/${namespace}/pods/${name}/eviction`, body, 'application/json');
    if (r.status === 201 || r.status === 200) return;
    const answer = `${r.status} ${statusMessage(r.body)}`;
    // 429: a PodDisruptionBudget holds it for now; drain retries, and so does this, bounded
    if (r.status !== 429) throw new KubeRequestError(r.status, `eviction of ${namespace}/${name}: ${answer}`);
    if (Date.now() > deadline) throw new Error(`eviction of ${namespace}/${name} still refused after ${timeoutMs} ms: ${answer}; ${await budgets(kc, namespace)}`);
    if (Date.now() - touched > 31_000 && (await touchStaleBudgets(kc, namespace)) > 0) touched = Date.now();
    await sleep(500);
  }
}

interface Budget {
  metadata: { name: string };
  status?: { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } & Record<string, unknown>;
}

async function listBudgets(kc: k8s.KubeConfig, namespace: string): Promise<Budget[]> {
  const res = await rawRequest(kc, 'GET', `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets`);
  return (JSON.parse(res.body) as { items?: Budget[] }).items ?? [];
}

/** Touches each PDB of `namespace` that failed to sync for want of the InstanceSet kind; how many. */
async function touchStaleBudgets(kc: k8s.KubeConfig, namespace: string): Promise<number> {
  let n = 0;
  for (const b of await listBudgets(kc, namespace)) {
    if (b.status?.conditions?.some((c) => c.reason === 'SyncFailed' && /no matches for kind "InstanceSet"/.test(c.message ?? '')) !== true) continue;
    const patch = JSON.stringify({ metadata: { annotations: { 'dbtopo.test/resync': String(Date.now()) } } });
    await rawRequest(kc, 'PATCH', `/apis/policy/v1/namespaces/${namespace}/poddisruptionbudgets/${b.metadata.name}`, patch, 'application/merge-patch+json');
    process.stderr.write(`[evict] PDB ${namespace}/${b.metadata.name} SyncFailed (kube-controller-manager's RESTMapper did not know InstanceSet yet): touched\n`);
    n++;
  }
  return n;
}

/** What the PodDisruptionBudgets of `namespace` and its pods' readiness say, for a failure message. */
async function budgets(kc: k8s.KubeConfig, namespace: string): Promise<string> {
  const pods = await rawRequest(kc, 'GET', `/api/v1/namespaces/${namespace}/pods`);
  type Cond = { type: string; status: string };
  const p = (JSON.parse(pods.body) as { items?: Array<{ metadata: { name: string; deletionTimestamp?: string }; status?: { conditions?: Cond[] } }> }).items ?? [];
  const budget = (await listBudgets(kc, namespace)).map((x) => `${x.metadata.name} ${JSON.stringify(x.status)}`).join('; ');
  const ready = p.map((x) => `${x.metadata.name}${x.metadata.deletionTimestamp !== undefined ? '(terminating)' : ''}=${x.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? '?'}`).join(' ');
  return `budgets: ${budget || 'none'}; pods Ready: ${ready}`;
}
