// The install manifests against a real API server: install.yaml is what render.ts generates; every
// object passes a server-side-apply dry run (the Deployment's pod also passes Pod Security
// `restricted`); and the controller, running with nothing but the ServiceAccount's token and the
// ClusterRole/Role, reconciles an InstanceSet and elects a leader — so the RBAC is sufficient.
// Two replicas with --leader-elect: one leads, the other takes over when the leader stops. It is
// installed into dbtopo-system, the default, so its ServiceAccount is the one the rendered admission
// guard names, and the guard is in force in the namespaces it works in (specs come as the GitOps sync).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTALL, installManifests } from '../../controller/install/manifests.js';
import { renderInstallYaml } from '../../controller/install/render.js';
import { startController, type RunningController } from '../../controller/manager.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import { makeLogger } from '../../controller/runtime/log.js';
import type { KubeObject } from '../../schemas/types/index.js';
import { CONTROLLER_USER, deleteTestNamespace, eventually, kubeConfigFor, sleep } from '../cluster/helpers.js';
import { createInstanceSet, fakeKubelet, getInstanceSet, installCrds, live, names, podsOf, testInstanceSet } from './controller-helpers.js';
import { guardedNamespace } from './guarded-namespace.js';

const suffix = Date.now().toString(36);
const INSTALL_NS = DEFAULT_INSTALL.namespace;
const WORK_NS = `ctl-rbac-${suffix}`;
const kc = kubeConfigFor('member-a');
let admin: KubeClient;
const running: RunningController[] = [];

const PLURALS: Record<string, string> = {
  CustomResourceDefinition: 'customresourcedefinitions',
  Namespace: 'namespaces',
  ServiceAccount: 'serviceaccounts',
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  Deployment: 'deployments',
  Service: 'services',
};

function objectPath(o: KubeObject): string {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
  const ns = o.metadata.namespace !== undefined ? `/namespaces/${o.metadata.namespace}` : '';
  return `${base}${ns}/${PLURALS[o.kind] ?? `${o.kind.toLowerCase()}s`}/${o.metadata.name}`;
}

async function apply(o: KubeObject, dryRun: boolean): Promise<KubeObject> {
  return await admin.request<KubeObject>('apply', 'PATCH', objectPath(o), {
    body: o,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: 'dbtopo-install-test', force: true, ...(dryRun ? { dryRun: 'All' } : {}) },
  });
}

/** A kubeconfig that authenticates as the controller's ServiceAccount (TokenRequest API). */
async function serviceAccountConfig(): Promise<k8s.KubeConfig> {
  const res = await admin.request<{ status: { token: string } }>('create', 'POST', `/api/v1/namespaces/${INSTALL_NS}/serviceaccounts/dbtopo-controller/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('admin kubeconfig has no cluster');
  const caData = cluster.caData ?? (cluster.caFile !== undefined ? fs.readFileSync(cluster.caFile).toString('base64') : undefined);
  const sa = new k8s.KubeConfig();
  sa.loadFromOptions({
    clusters: [{ name: 'c', server: cluster.server, ...(caData !== undefined ? { caData } : {}), skipTLSVerify: false }],
    users: [{ name: 'sa', token: res.status.token }],
    contexts: [{ name: 'sa', cluster: 'c', user: 'sa' }],
    currentContext: 'sa',
  });
  return sa;
}

beforeAll(async () => {
  admin = new KubeClient(kc);
  await installCrds(admin);
});

afterAll(async () => {
  for (const c of running.splice(0)) await c.stop();
  await deleteTestNamespace(kc, INSTALL_NS);
  for (const o of installManifests({ namespace: INSTALL_NS, image: 'x', replicas: 2 })) {
    if (o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding') await admin.delete(objectPath(o)).catch(() => undefined);
  }
  admin?.close();
});

describe('install manifests', () => {
  it('install.yaml is what render.ts generates', () => {
    const file = path.resolve(import.meta.dirname, '../../controller/install/install.yaml');
    expect(fs.readFileSync(file, 'utf8')).toBe(renderInstallYaml());
  });

  it('every object passes a server-side apply dry run; the pod template passes Pod Security restricted', async () => {
    const objs = installManifests({ namespace: INSTALL_NS, image: 'registry.example/dbtopo:test', replicas: 2 });
    const ns = objs.find((o) => o.kind === 'Namespace');
    if (ns === undefined) throw new Error('no Namespace in the manifests');
    await apply(ns, false); // namespaced dry runs need the namespace to exist
    for (const o of objs) {
      const out = await apply(o, true);
      expect(out.kind).toBe(o.kind);
    }
    const deployment = objs.find((o) => o.kind === 'Deployment') as KubeObject & { spec: { template: { metadata: KubeObject['metadata']; spec: unknown } } };
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pss-check', namespace: INSTALL_NS, labels: deployment.spec.template.metadata.labels }, spec: { ...(deployment.spec.template.spec as Record<string, unknown>), serviceAccountName: undefined } };
    // The namespace enforces restricted: a violating pod would be rejected with 403. (The
    // ServiceAccount is left out: the dry run above did not create it, and PSS does not look at it.)
    const created = await admin.request<KubeObject>('create', 'POST', resourcePath('Pod', INSTALL_NS), { body: pod, query: { dryRun: 'All' } });
    expect(created.metadata.name).toBe('pss-check');
  });

  it('the ServiceAccount with the ClusterRole and Role is enough to reconcile and to lead; a standby takes over', async () => {
    for (const o of installManifests({ namespace: INSTALL_NS, image: 'x', replicas: 2 })) {
      if (['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(o.kind)) await apply(o, false);
    }
    const work = await guardedNamespace(WORK_NS);
    const gitops = new KubeClient(work.gitops);
    expect(`system:serviceaccount:${INSTALL_NS}:dbtopo-controller`).toBe(CONTROLLER_USER);
    const saConfig = await eventually('token for the ServiceAccount', async () => await serviceAccountConfig());
    const lease = { leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 };
    const common = { kubeconfig: saConfig, namespace: WORK_NS, leaderElect: true, leaseNamespace: INSTALL_NS, lease, metricsPort: -1, healthPort: -1, roleProbes: false, log: makeLogger('warn') };
    const a = await startController({ ...common, identity: 'replica-a' });
    running.push(a);
    await a.started;
    const b = await startController({ ...common, identity: 'replica-b' });
    running.push(b);
    await sleep(1500);
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);

    const kubelet = fakeKubelet(admin, WORK_NS);
    try {
      await createInstanceSet(gitops, testInstanceSet(WORK_NS, 'rb', { replicas: 2 }));
      await eventually('pods created under the ServiceAccount', async () => (names(live(await podsOf(admin, WORK_NS, 'rb'))).join(',') === 'rb-0,rb-1' ? true : undefined));
      await eventually('status written under the ServiceAccount', async () => ((await getInstanceSet(admin, WORK_NS, 'rb'))?.status?.readyReplicas === 2 ? true : undefined));
      const leaseObj = await admin.get<KubeObject & { spec: { holderIdentity: string } }>(resourcePath('Lease', INSTALL_NS, 'dbtopo-controller'));
      expect(leaseObj?.spec.holderIdentity).toBe('replica-a');
      expect(a.client.counts.get('create') ?? 0).toBeGreaterThan(0);
      expect(b.client.counts.get('create') ?? 0).toBe(0); // the standby writes nothing but lease reads

      // Graceful stop releases the lease: b leads well before the 4 s lease would expire.
      const t0 = performance.now();
      await a.stop();
      running.splice(running.indexOf(a), 1);
      await b.started;
      const takeover = performance.now() - t0;
      console.log(`[controller-install] standby took over ${takeover.toFixed(0)} ms after the leader stopped (lease ${lease.leaseDurationMs} ms)`);
      expect(takeover).toBeLessThan(lease.leaseDurationMs);
      expect(b.isLeader()).toBe(true);
      // The new leader reconciles: scale out.
      await gitops.mergePatch(resourcePath('InstanceSet', WORK_NS, 'rb'), { spec: { replicas: 3 } }, 'dbtopo-test');
      await eventually('new leader scales out', async () => (names(live(await podsOf(admin, WORK_NS, 'rb'))).length === 3 ? true : undefined));
    } finally {
      await kubelet.stop();
      for (const c of running.splice(0)) await c.stop();
      gitops.close();
      await work.stop();
    }
  });

  it('a leader whose Lease is taken over steps down within the renew deadline and stops writing', async () => {
    const ns = `ctl-lease-${suffix}`;
    const ids = await guardedNamespace(ns);
    const gitops = new KubeClient(ids.gitops);
    try {
      let lost = 0;
      const lease = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
      const c = await startController({
        kubeconfig: ids.controller,
        namespace: ns,
        leaderElect: true,
        lease,
        identity: 'victim',
        metricsPort: -1,
        healthPort: -1,
        roleProbes: false,
        log: makeLogger('silent'),
        onLostLeadership: () => {
          lost = performance.now();
        },
      });
      running.push(c);
      await c.started;
      // Another party holds the Lease and keeps renewing it (as a partitioned-away leader would see).
      const path = resourcePath('Lease', ns, 'dbtopo-controller');
      const t0 = performance.now();
      let stealing = true;
      const thief = (async () => {
        for (let i = 0; stealing && i < 200; i++) {
          const cur = await admin.get<KubeObject & { spec: Record<string, unknown> }>(path);
          if (cur !== undefined) {
            await admin
              .replace(path, { ...cur, spec: { ...cur.spec, holderIdentity: 'thief', renewTime: new Date().toISOString().replace('Z', '000Z'), leaseDurationSeconds: 3 } }, 'thief')
              .catch(() => undefined);
          }
          await sleep(200);
        }
      })();
      await eventually('victim steps down', async () => (lost > 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });
      stealing = false;
      await thief;
      console.log(`[controller-install] leader stepped down ${(lost - t0).toFixed(0)} ms after its Lease was taken (renew deadline ${lease.renewDeadlineMs} ms)`);
      expect(c.isLeader()).toBe(false);
      expect(lost - t0).toBeLessThan(lease.renewDeadlineMs + 2 * lease.retryPeriodMs + 1000);
      // Stopped acting: a new InstanceSet gets no pods from it.
      await createInstanceSet(gitops, testInstanceSet(ns, 'idle', { replicas: 1 }));
      await sleep(1500);
      expect(await podsOf(admin, ns, 'idle')).toEqual([]);
      await c.stop();
      running.splice(running.indexOf(c), 1);
    } finally {
      gitops.close();
      await ids.stop();
    }
  });
});
