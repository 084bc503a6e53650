// The admission guard (compiler/emit/guards.ts) on a real API server: the rendered
// ValidatingAdmissionPolicies, bindings and CRDs of the example's dev member cluster applied as
// they are, then every rule tried by every identity through impersonation (Impersonate-User /
// Impersonate-Group, what `kubectl --as --as-group` sends). Every identity is bound to
// cluster-admin here, so each denial below is the guard's, never RBAC's. The matrix (rules ×
// identities) is printed and must equal the expected one cell for cell; docs/guard.md shows it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { GUARD_ANNOTATIONS, GUARD_NAMESPACE_LABEL, GUARD_PARAMS_LABEL } from '../../schemas/types/guard.js';
import { ANNOTATIONS, LABELS } from '../../schemas/types/labels.js';
import { createTestNamespace, deleteTestNamespace, eventually, installGuard, kubeConfigFor, rawRequest, statusMessage, testKubeconfigs } from './helpers.js';
import { AUDIT_LOG } from './launcher.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const rendered = path.join(root, 'environments', 'rendered', 'dev', 'dev-main');
const MEMBER = 'member-a';
const REASON = 'INC-4711 primary stuck on a dead node';

interface Identity {
  user: string;
  groups: string[];
}
const IDENTITIES = {
  gitops: { user: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] },
  controller: { user: 'system:serviceaccount:dbtopo-system:dbtopo-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:dbtopo-system'] },
  // the federation manager, as its cluster Secret's ServiceAccount token authenticates it in a member cluster
  federation: { user: 'system:serviceaccount:dbtopo-system:dbtopo-federation', groups: ['system:serviceaccounts', 'system:serviceaccounts:dbtopo-system'] },
  'break-glass': { user: 'oncall-bob', groups: ['dbtopo:break-glass'] },
  human: { user: 'alice', groups: ['sre'] },
  'other SA': { user: 'system:serviceaccount:default:batch-job', groups: ['system:serviceaccounts', 'system:serviceaccounts:default'] },
  kubelet: { user: 'system:node:node-1', groups: ['system:nodes'] },
} satisfies Record<string, Identity>;
type Who = keyof typeof IDENTITIES;
const WHO = Object.keys(IDENTITIES) as Who[];

let kc: k8s.KubeConfig;
let ns = '';
let template: Record<string, unknown>;
const namespaces: string[] = [];

interface Reply {
  status: number;
  message: string;
  body: string;
}

async function call(who: Who | 'admin', method: string, urlPath: string, body?: unknown, contentType = 'application/merge-patch+json'): Promise<Reply> {
  const headers: Record<string, string | string[]> = {};
  if (who !== 'admin') {
    headers['Impersonate-User'] = IDENTITIES[who].user;
    headers['Impersonate-Group'] = IDENTITIES[who].groups;
  }
  const text = body === undefined ? undefined : JSON.stringify(body);
  const res = await rawRequest(kc, method, urlPath, text, method === 'POST' ? 'application/json' : contentType, 30_000, headers);
  return { status: res.status, message: statusMessage(res.body), body: res.body };
}

async function must(who: Who | 'admin', method: string, urlPath: string, body?: unknown, contentType?: string): Promise<Record<string, unknown>> {
  const r = await call(who, method, urlPath, body, contentType);
  if (r.status >= 300) throw new Error(`${who} ${method} ${urlPath}: ${r.status} ${r.message}`);
  return JSON.parse(r.body) as Record<string, unknown>;
}

const isPath = (name: string, sub = ''): string => `/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets/${name}${sub}`;
const podPath = (name = ''): string => `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}`;
const pvcPath = (name = ''): string => `/api/v1/namespaces/${ns}/persistentvolumeclaims${name ? `/${name}` : ''}`;

function instanceSet(name: string, annotations: Record<string, string> = {}): Record<string, unknown> {
  const o = structuredClone(template) as { metadata: Record<string, unknown> };
  o.metadata = { name, namespace: ns, labels: (o.metadata['labels'] as Record<string, string>) ?? {}, annotations };
  return o;
}

function pod(name: string, o: { role?: string; marker?: boolean; nodeName?: string; ownerUid?: string; owner?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { [LABELS.instanceSet]: 'orders-db-server', [LABELS.managedBy]: 'dbtopo', ...(o.role ? { [LABELS.role]: o.role } : {}) },
      annotations: o.marker ? { [GUARD_ANNOTATIONS.preventDelete]: 'true' } : {},
      ...(o.ownerUid ? { ownerReferences: [{ apiVersion: 'dbtopo.dev/v1alpha1', kind: 'InstanceSet', name: o.owner, uid: o.ownerUid, controller: true }] } : {}),
    },
    spec: {
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
    },
  };
}

function pvc(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, labels: { [LABELS.instanceSet]: 'orders-db-server', [LABELS.managedBy]: 'dbtopo' } },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  };
}

/** Break glass annotates what it is about to change or delete with the reason, in its own write. */
const withReason = { metadata: { annotations: { [GUARD_ANNOTATIONS.breakGlassReason]: REASON } } };

// ── the matrix ───────────────────────────────────────────────────────────────────────────────

type Verdict = 'allow' | `deny ${string}`;
interface Row {
  rule: string;
  /** Expected verdict per identity: 'allow', or 'deny <rule>' with the guard rule named in the message. */
  expect: Record<Who, Verdict>;
  /** Sets up what the action needs (as the identities entitled to) and returns the action. */
  cell(who: Who, name: string): Promise<() => Promise<Reply>>;
}

const only = (allowed: Who[], rule: string, overrides: Partial<Record<Who, Verdict>> = {}): Record<Who, Verdict> =>
  Object.fromEntries(WHO.map((w) => [w, overrides[w] ?? (allowed.includes(w) ? 'allow' : `deny ${rule}`)])) as Record<Who, Verdict>;
const everyone = (verdict: Verdict, overrides: Partial<Record<Who, Verdict>> = {}): Record<Who, Verdict> =>
  Object.fromEntries(WHO.map((w) => [w, overrides[w] ?? verdict])) as Record<Who, Verdict>;
/** GitOps and break glass meet the rule about the change itself; the others spec-writers too (either may be reported). */
const specRule = (rule: string): Record<Who, Verdict> => everyone(`deny spec-writers|${rule}`, { gitops: `deny ${rule}`, 'break-glass': `deny ${rule}` });

/** 'deny a|b' accepts a denial by either rule. */
function matches(expected: Verdict, got: string): boolean {
  if (expected === 'allow' || !got.startsWith('deny ')) return expected === got;
  return expected.slice(5).split('|').includes(got.slice(5));
}

async function newSet(name: string, annotations: Record<string, string> = {}): Promise<Record<string, unknown>> {
  return await must('gitops', 'POST', `/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets`, instanceSet(name, annotations));
}
async function annotateFirst(who: Who, urlPath: string): Promise<void> {
  if (who === 'break-glass') await must(who, 'PATCH', urlPath, withReason);
}
const jsonPatch = 'application/json-patch+json';
const applyPatch = 'application/apply-patch+yaml';
/** What the federation manager applies to an InstanceSet's status (its own fields only), with `extra` status fields. */
const federationStatus = (name: string, extra: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: 'dbtopo.dev/v1alpha1',
  kind: 'InstanceSet',
  metadata: { name },
  status: { ...extra, federation: { primary: { memberCluster: 'member-b', pod: `${name}-2` }, state: 'Healthy', message: `${name}-2 (member-b) is primary`, decidedAt: '2026-01-01T00:00:00Z' } },
});
const claimPath = '/spec/volumeClaimTemplates/0/spec';

const ROWS: Row[] = [
  {
    rule: 'create an InstanceSet',
    expect: only(['gitops', 'break-glass'], 'spec-writers'),
    cell: async (who, name) => async () => call(who, 'POST', `/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets`, instanceSet(name, who === 'break-glass' ? { [GUARD_ANNOTATIONS.breakGlassReason]: REASON } : {})),
  },
  {
    rule: 'change an InstanceSet spec',
    expect: only(['gitops', 'break-glass'], 'spec-writers'),
    cell: async (who, name) => {
      await newSet(name);
      return async () => call(who, 'PATCH', isPath(name), { ...(who === 'break-glass' ? withReason : {}), spec: { template: { metadata: { annotations: { touched: 'yes' } } } } });
    },
  },
  {
    rule: 'kubectl scale (the /scale subresource)',
    // break glass scales by patching spec.replicas: a Scale object carries no annotations
    expect: only(['gitops'], 'spec-writers'),
    cell: async (who, name) => {
      await newSet(name);
      return async () => call(who, 'PATCH', isPath(name, '/scale'), { spec: { replicas: 4 } });
    },
  },
  {
    rule: 'kubectl scale below the environment minimum',
    // two policies refuse it; the API server reports one of them
    expect: everyone('deny spec-writers|min-replicas', { gitops: 'deny min-replicas' }),
    cell: async (who, name) => {
      await newSet(name);
      return async () => call(who, 'PATCH', isPath(name, '/scale'), { spec: { replicas: 1 } });
    },
  },
  {
    rule: 'spec.replicas below the environment minimum',
    expect: everyone('deny spec-writers|min-replicas', { gitops: 'deny min-replicas', 'break-glass': 'deny min-replicas' }),
    cell: async (who, name) => {
      await newSet(name);
      return async () => call(who, 'PATCH', isPath(name), { ...(who === 'break-glass' ? withReason : {}), spec: { replicas: 1 } });
    },
  },
  {
    rule: 'write InstanceSet status',
    expect: only(['controller', 'break-glass'], 'status-writer'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', isPath(name, '/status'), { status: { primary: `${name}-0` } });
    },
  },
  {
    rule: 'server-side apply status.federation',
    // what the federation manager publishes: its decision of a spread shard's primary
    expect: only(['controller', 'federation', 'break-glass'], 'status-writer'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', `${isPath(name, '/status')}?fieldManager=dbtopo-federation&force=true`, federationStatus(name, {}), applyPatch);
    },
  },
  {
    rule: 'status.federation and status.primary at once',
    expect: only(['controller', 'break-glass'], 'status-writer'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', `${isPath(name, '/status')}?fieldManager=dbtopo-federation&force=true`, federationStatus(name, { primary: `${name}-1` }), applyPatch);
    },
  },
  {
    rule: 'status.federation of a reported set, the rest kept',
    // the controller has reported; the manager's apply owns status.federation only, the rest stays
    expect: only(['controller', 'federation', 'break-glass'], 'status-writer'),
    cell: async (who, name) => {
      await newSet(name);
      await must('controller', 'PATCH', isPath(name, '/status'), { status: { replicas: 2, readyReplicas: 2, primary: `${name}-0`, membersStatus: [{ podName: `${name}-0`, ready: true, role: 'primary' }] } });
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', `${isPath(name, '/status')}?fieldManager=dbtopo-federation&force=true`, federationStatus(name, {}), applyPatch);
    },
  },
  {
    rule: 'create an EndpointSlice (not guarded)',
    // the federation manager's <shard>-primary-federation slice where the primary is remote
    expect: everyone('allow'),
    cell: async (who, name) => async () =>
      call(who, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `${name}-primary-federation`, labels: { 'kubernetes.io/service-name': `${name}-primary` } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.1.2.3'] }],
        ports: [{ name: 'redis', port: 6379, protocol: 'TCP' }],
      }),
  },
  {
    rule: 'delete an InstanceSet',
    expect: only(['gitops', 'break-glass'], 'spec-writers'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'DELETE', isPath(name));
    },
  },
  {
    rule: 'delete a dbtopo pod (secondary)',
    expect: only(['controller', 'break-glass'], 'controller-deletes'),
    cell: async (who, name) => {
      await must('controller', 'POST', podPath(), pod(name, { role: 'secondary' }));
      await annotateFirst(who, podPath(name));
      return async () => call(who, 'DELETE', podPath(name));
    },
  },
  {
    rule: 'delete the primary pod (prevent-delete marker)',
    expect: only(['controller'], 'primary-protected'),
    cell: async (who, name) => {
      await must('controller', 'POST', podPath(), pod(name, { role: 'primary', marker: true }));
      await annotateFirst(who, podPath(name));
      return async () => call(who, 'DELETE', podPath(name));
    },
  },
  {
    rule: "the kubelet's final delete of a terminating pod",
    expect: only(['controller', 'kubelet', 'break-glass'], 'controller-deletes'),
    cell: async (who, name) => {
      await must('controller', 'POST', podPath(), pod(name, { role: 'secondary', nodeName: 'node-1' }));
      await annotateFirst(who, podPath(name));
      await must('controller', 'DELETE', `${podPath(name)}?gracePeriodSeconds=300`);
      return async () => call(who, 'DELETE', `${podPath(name)}?gracePeriodSeconds=0`);
    },
  },
  {
    rule: 'kubectl label pod dbtopo.dev/role=primary',
    expect: only(['controller', 'break-glass'], 'role-label'),
    cell: async (who, name) => {
      await must('controller', 'POST', podPath(), pod(name, { role: 'secondary' }));
      return async () => call(who, 'PATCH', podPath(name), { metadata: { labels: { [LABELS.role]: 'primary' }, ...(who === 'break-glass' ? withReason.metadata : {}) } });
    },
  },
  {
    rule: 'delete a dbtopo claim (PVC)',
    expect: only(['controller', 'break-glass'], 'controller-deletes'),
    cell: async (who, name) => {
      await must('controller', 'POST', pvcPath(), pvc(name));
      await annotateFirst(who, pvcPath(name));
      return async () => call(who, 'DELETE', pvcPath(name));
    },
  },
  {
    rule: 'change a claim template (storage class)',
    expect: specRule('claim-templates'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', isPath(name), [{ op: 'add', path: `${claimPath}/storageClassName`, value: 'other-class' }], jsonPatch);
    },
  },
  {
    rule: 'grow storage',
    expect: only(['gitops', 'break-glass'], 'spec-writers'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', isPath(name), [{ op: 'replace', path: `${claimPath}/resources/requests/storage`, value: '40Gi' }], jsonPatch);
    },
  },
  {
    rule: 'shrink storage',
    expect: specRule('storage-shrink'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', isPath(name), [{ op: 'replace', path: `${claimPath}/resources/requests/storage`, value: '1Gi' }], jsonPatch);
    },
  },
  {
    rule: 'change the pod selector',
    expect: everyone('deny spec.selector is immutable'),
    cell: async (who, name) => {
      await newSet(name);
      return async () => call(who, 'PATCH', isPath(name), { spec: { selector: { matchLabels: { extra: 'x' } }, template: { metadata: { labels: { extra: 'x' } } } } });
    },
  },
  {
    rule: 'change serviceName',
    expect: everyone('deny spec.serviceName is immutable'),
    cell: async (who, name) => {
      await newSet(name);
      return async () => call(who, 'PATCH', isPath(name), { spec: { serviceName: 'other-headless' } });
    },
  },
  {
    rule: 'change the engine without acknowledgement',
    expect: specRule('engine-change'),
    cell: async (who, name) => {
      await newSet(name);
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', isPath(name), { spec: { engine: { type: 'redis' } } });
    },
  },
  {
    rule: 'change the engine with dbtopo.dev/allow-migration',
    expect: only(['gitops', 'break-glass'], 'spec-writers'),
    cell: async (who, name) => {
      await newSet(name, { [ANNOTATIONS.allowMigration]: 'true' });
      await annotateFirst(who, isPath(name));
      return async () => call(who, 'PATCH', isPath(name), { spec: { engine: { type: 'redis' } } });
    },
  },
  {
    rule: 'remove the guard label from a namespace',
    expect: only(['gitops', 'break-glass'], 'guarded-namespace'),
    cell: async (who, name) => {
      const extra = `${ns}-${name}`.slice(0, 63);
      await createTestNamespace(kc, extra);
      namespaces.push(extra);
      await must('admin', 'PATCH', `/api/v1/namespaces/${extra}`, { metadata: { labels: { [GUARD_NAMESPACE_LABEL]: 'enforce' } } });
      return async () => call(who, 'PATCH', `/api/v1/namespaces/${extra}`, { metadata: { labels: { [GUARD_NAMESPACE_LABEL]: null }, ...(who === 'break-glass' ? withReason.metadata : {}) } });
    },
  },
];

function verdictOf(r: Reply): Verdict | string {
  if (r.status < 300) return 'allow';
  const rule = /dbtopo guard \[([a-z-]+)\]/.exec(r.message)?.[1];
  if (rule !== undefined) return `deny ${rule}`;
  const crd = /(spec\.[a-zA-Z]+ is immutable)/.exec(r.message)?.[1];
  if (crd !== undefined) return `deny ${crd}`;
  return `unexpected ${r.status}: ${r.message.slice(0, 200)}`;
}

function applyCrd(file: string): Promise<unknown> {
  const obj = parse(fs.readFileSync(path.join(rendered, '_cluster', file), 'utf8')) as { metadata: { name: string } };
  return must('admin', 'PATCH', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${obj.metadata.name}?fieldManager=guard-test&force=true`, obj, 'application/apply-patch+yaml');
}

let removeGuard: (() => Promise<void>) | undefined;

describe('admission guard on a real API server', () => {
  beforeAll(async () => {
    kc = kubeConfigFor(MEMBER);
    template = parseAllDocuments(fs.readFileSync(path.join(rendered, 'db-commerce-dev', 'orders-db.yaml'), 'utf8'))
      .map((d) => d.toJS() as Record<string, unknown>)
      .find((o) => o['kind'] === 'InstanceSet' && (o['metadata'] as { name?: string } | undefined)?.name === 'orders-db-server') as Record<string, unknown>;
    expect(template, 'InstanceSet orders-db-server in rendered dev orders-db.yaml').toBeDefined();
    for (const f of fs.readdirSync(path.join(rendered, '_cluster')).filter((x) => x.startsWith('customresourcedefinition'))) await applyCrd(f);
    await eventually('dbtopo CRDs established', async () => ((await call('admin', 'GET', '/apis/dbtopo.dev/v1alpha1')).status === 200 ? true : undefined), { timeoutMs: 30_000 });
    // every identity may do anything as far as RBAC goes: what is refused is refused by the guard
    await must('admin', 'PATCH', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/guard-test-everyone?fieldManager=guard-test&force=true', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'guard-test-everyone' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [...new Set(WHO.map((w) => IDENTITIES[w].user))].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
    }, 'application/apply-patch+yaml');
    ns = `guard-${Math.random().toString(36).slice(2, 8)}`;
    await createTestNamespace(kc, ns);
    namespaces.push(ns);
    // the guard's figures: every InstanceSet of this test needs at least 2 replicas
    await must('admin', 'POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'orders-db-guard', labels: { [GUARD_PARAMS_LABEL]: 'min-replicas' } },
      data: Object.fromEntries(ROWS.flatMap((_, r) => WHO.map((_w, c) => [`is-${r}-${c}`, '2']))),
    });
    // the rendered policies and bindings of dev/dev-main, the namespace labelled, enforced
    removeGuard = await installGuard(kc, ns);
  }, 120_000);

  afterAll(async () => {
    if (kc === undefined) return;
    await removeGuard?.();
    await call('admin', 'DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/guard-test-everyone').catch(() => undefined);
    for (const n of namespaces) await deleteTestNamespace(kc, n).catch(() => undefined);
  });

  it('renders the guard into every member cluster of every environment', () => {
    for (const env of ['dev', 'staging', 'prod']) {
      for (const member of fs.readdirSync(path.join(root, 'environments', 'rendered', env)).filter((m) => !m.startsWith('_'))) {
        const files = fs.readdirSync(path.join(root, 'environments', 'rendered', env, member, '_cluster')).filter((f) => f.startsWith('validatingadmissionpolicy'));
        expect(files.length, `${env}/${member}`).toBe(12);
      }
    }
  });

  it('refuses and allows each rule by identity, as the matrix says', async () => {
    const got: Record<string, Record<Who, string>> = {};
    const wrong: string[] = [];
    for (const [r, row] of ROWS.entries()) {
      got[row.rule] = {} as Record<Who, string>;
      for (const [c, who] of WHO.entries()) {
        const act = await row.cell(who, `is-${r}-${c}`);
        const reply = await act();
        const verdict = verdictOf(reply);
        got[row.rule]![who] = verdict;
        if (!matches(row.expect[who], verdict)) wrong.push(`${row.rule} × ${who}: expected ${row.expect[who]}, got ${verdict}`);
        // every denial says what to do instead
        if (verdict.startsWith('deny') && !/instead|Move it first|To move the primary|acknowledge it|break glass/.test(reply.message)) {
          wrong.push(`${row.rule} × ${who}: the denial does not say what to do: ${reply.message}`);
        }
      }
    }
    const width = Math.max(...ROWS.map((r) => r.rule.length));
    const lines = [`${'rule'.padEnd(width)} | ${WHO.map((w) => w.padEnd(11)).join(' | ')}`];
    for (const row of ROWS) lines.push(`${row.rule.padEnd(width)} | ${WHO.map((w) => (got[row.rule]![w].startsWith('allow') ? 'allowed' : 'denied').padEnd(11)).join(' | ')}`);
    console.log(`[guard] admission matrix (member cluster ${MEMBER}, rendered guard of dev/dev-main):\n${lines.join('\n')}`);
    expect(wrong).toEqual([]);
  }, 300_000);

  it('lets the namespace controller delete a guarded namespace with its primary pod, sets and claims', async () => {
    const extra = `${ns}-gone`;
    await createTestNamespace(kc, extra);
    await must('admin', 'PATCH', `/api/v1/namespaces/${extra}`, { metadata: { labels: { [GUARD_NAMESPACE_LABEL]: 'enforce' } } });
    const set = instanceSet('orders-db-server');
    (set['metadata'] as Record<string, unknown>)['namespace'] = extra;
    await must('gitops', 'POST', `/apis/dbtopo.dev/v1alpha1/namespaces/${extra}/instancesets`, set);
    await must('controller', 'POST', `/api/v1/namespaces/${extra}/pods`, pod('orders-db-server-0', { role: 'primary', marker: true }));
    await must('controller', 'POST', `/api/v1/namespaces/${extra}/persistentvolumeclaims`, pvc('data-orders-db-server-0'));
    // the guard holds inside it until the namespace goes
    expect(verdictOf(await call('human', 'DELETE', `/api/v1/namespaces/${extra}/pods/orders-db-server-0`))).toBe('deny primary-protected');
    await must('human', 'DELETE', `/api/v1/namespaces/${extra}`);
    await eventually(`namespace ${extra} deleted`, async () => ((await call('admin', 'GET', `/api/v1/namespaces/${extra}`)).status === 404 ? true : undefined), { timeoutMs: 90_000, intervalMs: 500 });
  }, 120_000);

  it("lets the garbage collector remove a deleted InstanceSet's pods, the primary included", async () => {
    const set = await newSet('gc-set');
    const uid = (set['metadata'] as { uid: string }).uid;
    await must('controller', 'POST', podPath(), pod('gc-set-0', { role: 'primary', marker: true, ownerUid: uid, owner: 'gc-set' }));
    await must('controller', 'POST', podPath(), pod('gc-set-1', { role: 'secondary', ownerUid: uid, owner: 'gc-set' }));
    await must('gitops', 'DELETE', `${isPath('gc-set')}?propagationPolicy=Background`);
    await eventually('the garbage collector to delete both pods', async () => {
      const a = await call('admin', 'GET', podPath('gc-set-0'));
      const b = await call('admin', 'GET', podPath('gc-set-1'));
      return a.status === 404 && b.status === 404 ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
  }, 90_000);

  it('records who broke glass, and why, in the audit log', async () => {
    await must('controller', 'POST', podPath(), pod('glass-0', { role: 'secondary' }));
    await must('break-glass', 'PATCH', podPath('glass-0'), withReason);
    await must('break-glass', 'DELETE', podPath('glass-0'));
    const log = path.join(path.dirname(testKubeconfigs()[MEMBER] ?? ''), 'logs', AUDIT_LOG);
    const event = await eventually('the audit event of the break-glass delete', async () => {
      if (!fs.existsSync(log)) return undefined;
      return fs
        .readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"glass-0"') && l.includes('"verb":"delete"'))
        .map((l) => JSON.parse(l) as { annotations?: Record<string, string>; impersonatedUser?: { username: string } })
        .find((e) => e.annotations?.['dbtopo-break-glass/who'] !== undefined);
    }, { timeoutMs: 15_000, intervalMs: 250 });
    expect(event.annotations?.['dbtopo-break-glass/who']).toBe(`oncall-bob: ${REASON}`);
    expect(event.impersonatedUser?.username).toBe('oncall-bob');
  });

  it('refuses InstanceSets the controller could not run (CRD validation rules)', async () => {
    const cases: Array<[string, (spec: Record<string, unknown>) => void, RegExp]> = [
      ['overlapping ordinals', (s) => { s['defaultTemplateOrdinals'] = { ranges: [{ start: 0, end: 2 }] }; }, /must not overlap defaultTemplateOrdinals/],
      ['a range that ends before it starts', (s) => { s['defaultTemplateOrdinals'] = { ranges: [{ start: 3, end: 1 }] }; }, /must not end before it starts/],
      ['two exclusive roles', (s) => { (s['roles'] as Array<Record<string, unknown>>).forEach((r) => { r['isExclusive'] = true; }); }, /exactly one exclusive role/],
      ['a template without the selector labels', (s) => { (s['template'] as { metadata: { labels: Record<string, string> } }).metadata.labels = {}; }, /must carry every label of spec.selector/],
      ['a template without containers', (s) => { (s['template'] as { spec: Record<string, unknown> }).spec['containers'] = []; }, /containers/],
    ];
    const refused: string[] = [];
    for (const [what, mutate, message] of cases) {
      const set = instanceSet(`bad-${refused.length}`);
      mutate(set['spec'] as Record<string, unknown>);
      const r = await call('gitops', 'POST', `/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets?dryRun=All`, set);
      expect(r.status, what).toBe(422);
      expect(r.message, what).toMatch(message);
      refused.push(what);
    }
    // and the rendered one is accepted, so the refusals above are the rules, not the fixture
    expect((await call('gitops', 'POST', `/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets?dryRun=All`, instanceSet('good'))).status).toBe(201);
  });
});
