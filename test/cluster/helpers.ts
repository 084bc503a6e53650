// Helpers for tests that talk to the test control planes started by global-setup.ts.
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { eventually, sleep } from '../support/eventually.js';

/** member cluster name → kubeconfig path, from vitest's provide/inject or DBTOPO_TEST_KUBECONFIGS. */
export function testKubeconfigs(): Record<string, string> {
  const injected = inject('kubeconfigs');
  if (injected !== undefined && Object.keys(injected).length > 0) return injected;
  const file = process.env['DBTOPO_TEST_KUBECONFIGS'];
  if (file) {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (parsed !== null && typeof parsed === 'object') {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
      return out;
    }
  }
  throw new Error('no test control plane: run inside the vitest `cluster` project or set DBTOPO_TEST_KUBECONFIGS');
}

export function kubeConfigFor(member: string): k8s.KubeConfig {
  const file = testKubeconfigs()[member];
  if (file === undefined) throw new Error(`no control plane named ${member}`);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export { eventually, sleep };

/**
 * Runs `round` every `intervalMs` in the background until stop() (bounded by it): a round that
 * throws (the API server away, e.g. restarted on purpose) is simply tried again next time.
 */
export function pollUntilStopped(round: () => Promise<void>, intervalMs: number): { stop(): Promise<void> } {
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped && i < 1_000_000; i++) {
      await round().catch(() => undefined);
      await sleep(intervalMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

export function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

/**
 * Creates a namespace that enforces Pod Security `restricted` (latest) and waits until its
 * `default` ServiceAccount exists (the ServiceAccount admission plugin needs it for pods).
 */
export async function createTestNamespace(kc: k8s.KubeConfig, name: string): Promise<k8s.V1Namespace> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'dbtopo.dev/test': 'true',
        },
      },
    },
  });
  await eventually(`serviceaccount ${name}/default`, async () => {
    await core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
    return true;
  });
  return ns;
}

/** Deletes a namespace without waiting for its finalization. */
export async function deleteTestNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  try {
    await core.deleteNamespace({ name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** A pod that passes Pod Security `restricted`. */
export function restrictedPod(name: string, image = 'registry.k8s.io/pause:3.10'): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'main',
          image,
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
          },
        },
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A raw JSON client. @kubernetes/client-node's typed (de)serializer silently drops fields it does
// not model (and renames `x-kubernetes-*` keys of CRD schemas), so tests that must see exactly
// what the server says about *our* bytes send them raw, with `fieldValidation=Strict`.

export interface RawResponse {
  status: number;
  body: string;
}

/** One HTTPS request to the kubeconfig's current cluster with its credentials; bounded by a timeout. */
export async function rawRequest(
  kc: k8s.KubeConfig,
  method: string,
  urlPath: string,
  body?: string,
  contentType = 'application/json',
  timeoutMs = 30_000,
  headers: Record<string, string | string[]> = {},
): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('kubeconfig has no current cluster');
  const url = new URL(urlPath, server);
  const opts: https.RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    // Content-Length, not chunked: the API server ignores a chunked DELETE body (DeleteOptions)
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } : {}), ...headers },
    timeout: timeoutMs,
    agent: false,
  };
  await kc.applyToHTTPSOptions(opts);
  return await new Promise<RawResponse>((resolve, reject) => {
    const req = https.request(opts, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout after ${timeoutMs}ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The `message` of a Kubernetes Status body, else the body itself. */
export function statusMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object' && 'message' in parsed && typeof parsed.message === 'string') {
      return parsed.message;
    }
  } catch {
    // not JSON
  }
  return body.trim();
}

export class KubeRequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(`HTTP ${status}: ${message}`);
    this.status = status;
  }
}

interface ObjectRef {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
}

/** Discovery-backed URL paths of objects; a cache miss asks the server again (new CRDs). */
export class ResourcePaths {
  private readonly cache = new Map<string, { plural: string; namespaced: boolean }>();
  private readonly kc: k8s.KubeConfig;
  constructor(kc: k8s.KubeConfig) {
    this.kc = kc;
  }

  async collection(obj: ObjectRef): Promise<string> {
    const apiVersion = obj.apiVersion ?? '';
    const kind = obj.kind ?? '';
    const key = `${apiVersion}/${kind}`;
    let info = this.cache.get(key);
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    if (info === undefined) {
      const res = await rawRequest(this.kc, 'GET', base);
      if (res.status !== 200) throw new KubeRequestError(res.status, `discovery of ${apiVersion}: ${statusMessage(res.body)}`);
      const list = JSON.parse(res.body) as { resources?: Array<{ name: string; kind: string; namespaced: boolean }> };
      const found = (list.resources ?? []).find((r) => r.kind === kind && !r.name.includes('/'));
      if (found === undefined) throw new Error(`the server has no resource for ${apiVersion} ${kind}`);
      info = { plural: found.name, namespaced: found.namespaced };
      this.cache.set(key, info);
    }
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(obj.metadata?.namespace ?? 'default')}` : '';
    return `${base}${ns}/${info.plural}`;
  }

  async item(obj: ObjectRef): Promise<string> {
    return `${await this.collection(obj)}/${encodeURIComponent(obj.metadata?.name ?? '')}`;
  }
}

/** Server-side apply of a raw object (strict field validation); throws KubeRequestError on rejection. */
export async function serverSideApply(
  kc: k8s.KubeConfig,
  paths: ResourcePaths,
  obj: ObjectRef,
  { dryRun = false, fieldManager, force = true }: { dryRun?: boolean; fieldManager: string; force?: boolean },
): Promise<unknown> {
  const query = new URLSearchParams({ fieldManager, fieldValidation: 'Strict', force: String(force) });
  if (dryRun) query.set('dryRun', 'All');
  const res = await rawRequest(kc, 'PATCH', `${await paths.item(obj)}?${query}`, JSON.stringify(obj), 'application/apply-patch+yaml');
  if (res.status < 200 || res.status > 299) throw new KubeRequestError(res.status, statusMessage(res.body));
  return JSON.parse(res.body);
}

/** POST of a raw object (strict field validation); throws KubeRequestError on rejection. */
export async function createRaw(
  kc: k8s.KubeConfig,
  paths: ResourcePaths,
  obj: ObjectRef,
  { dryRun = false, fieldManager }: { dryRun?: boolean; fieldManager: string },
): Promise<unknown> {
  const query = new URLSearchParams({ fieldManager, fieldValidation: 'Strict' });
  if (dryRun) query.set('dryRun', 'All');
  const res = await rawRequest(kc, 'POST', `${await paths.collection(obj)}?${query}`, JSON.stringify(obj));
  if (res.status < 200 || res.status > 299) throw new KubeRequestError(res.status, statusMessage(res.body));
  return JSON.parse(res.body);
}

/** GET of a raw object; undefined when it does not exist. */
export async function getRaw(kc: k8s.KubeConfig, paths: ResourcePaths, obj: ObjectRef): Promise<unknown> {
  const res = await rawRequest(kc, 'GET', await paths.item(obj));
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new KubeRequestError(res.status, statusMessage(res.body));
  return JSON.parse(res.body);
}

/** Argo CD's application controller: the identity the rendered admission guard lets write Cluster and InstanceSet specs. */
export const GITOPS_USER = 'system:serviceaccount:argocd:argocd-application-controller';
/** The dbtopo controller's ServiceAccount, as the rendered admission guard names it. */
export const CONTROLLER_USER = 'system:serviceaccount:dbtopo-system:dbtopo-controller';

/**
 * A KubeConfig that acts as `user` (Impersonate-User with the admin credentials of `kc`), bound to
 * cluster-admin: for tests where the admission guard is in force, the guard (not RBAC) decides.
 */
export async function impersonating(kc: k8s.KubeConfig, user: string): Promise<k8s.KubeConfig> {
  const name = `dbtopo-test-${user.replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 253);
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  };
  const res = await rawRequest(kc, 'PATCH', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}?fieldManager=dbtopo-test&force=true`, JSON.stringify(binding), 'application/apply-patch+yaml');
  if (res.status >= 300) throw new KubeRequestError(res.status, statusMessage(res.body));
  // The RBAC authorizer learns of a new binding through its informer: on a fresh control plane the
  // first request as `user` right after the binding was created can still be refused (seen: 403
  // creating a Secret as the GitOps identity, the first test file of a run). Wait, bounded, until
  // the binding is in force.
  for (const deadline = Date.now() + 15_000; ; ) {
    const probe = await rawRequest(kc, 'GET', '/api/v1/namespaces?limit=1', undefined, 'application/json', 10_000, { 'Impersonate-User': user });
    if (probe.status === 200) break;
    if (probe.status !== 403 || Date.now() > deadline) throw new KubeRequestError(probe.status, `as ${user} after binding it to cluster-admin: ${statusMessage(probe.body)}`);
    await sleep(100);
  }
  const out = new k8s.KubeConfig();
  out.loadFromString(kc.exportConfig());
  const current = out.getCurrentUser();
  if (current === null) throw new Error('kubeconfig has no current user');
  out.users = out.users.map((u) => (u.name === current.name ? { ...u, impersonateUser: user } : u));
  return out;
}

/** As Argo CD syncs: for tests that apply rendered manifests where the admission guard is in force. */
export async function asGitops(kc: k8s.KubeConfig): Promise<k8s.KubeConfig> {
  return await impersonating(kc, GITOPS_USER);
}

const GUARD_DIR = new URL('../../environments/rendered/dev/dev-main/_cluster/', import.meta.url).pathname;
const GUARD_KINDS: Record<string, string> = {
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
};

/**
 * Applies the rendered admission guard (the example's dev member cluster) to the control plane of
 * `kc` with its admin credentials and waits until the API server enforces it in `namespace`,
 * which it labels as the compiler labels the namespaces it renders. Returns its removal.
 */
export async function installGuard(kc: k8s.KubeConfig, namespace: string): Promise<() => Promise<void>> {
  const files = fs.readdirSync(GUARD_DIR).filter((f) => f.startsWith('validatingadmissionpolicy')).sort();
  const applied: string[] = [];
  for (const f of files) {
    const obj = parseYaml(fs.readFileSync(GUARD_DIR + f, 'utf8')) as { kind: string; metadata: { name: string } };
    const url = `/apis/admissionregistration.k8s.io/v1/${GUARD_KINDS[obj.kind] ?? ''}/${obj.metadata.name}`;
    const res = await rawRequest(kc, 'PATCH', `${url}?fieldManager=dbtopo-test&force=true`, JSON.stringify(obj), 'application/apply-patch+yaml');
    if (res.status >= 300) throw new KubeRequestError(res.status, `${f}: ${statusMessage(res.body)}`);
    applied.push(url);
  }
  const label = await rawRequest(kc, 'PATCH', `/api/v1/namespaces/${namespace}`, JSON.stringify({ metadata: { labels: { 'dbtopo.dev/guard': 'enforce' } } }), 'application/merge-patch+json');
  if (label.status >= 300) throw new KubeRequestError(label.status, statusMessage(label.body));
  // enforced once the API server's policy informer has it: no one but the controller labels a pod primary
  const probe = restrictedPod('guard-probe');
  probe.metadata = { name: 'guard-probe', labels: { 'dbtopo.dev/role': 'primary' } };
  let last = '';
  await eventually('the admission guard in force', async () => {
    const r = await rawRequest(kc, 'POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All`, JSON.stringify(probe), 'application/json');
    last = `${r.status} ${statusMessage(r.body)}`;
    return /dbtopo guard \[role-label\]/.test(r.body) ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 250 }).catch((err: unknown) => {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; last answer: ${last}`);
  });
  return async () => {
    for (const url of applied.reverse()) await rawRequest(kc, 'DELETE', url).catch(() => undefined);
  };
}

/**
 * A merge patch by an on-call engineer breaking glass (docs/guard.md): a member of the
 * break-glass group, the reason annotation in the same write. Binds the group to cluster-admin.
 */
export async function breakGlassPatch(kc: k8s.KubeConfig, urlPath: string, patch: Record<string, unknown>, reason: string): Promise<RawResponse> {
  const group = 'dbtopo:break-glass';
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'dbtopo-test-break-glass' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
  };
  const b = await rawRequest(kc, 'PATCH', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/dbtopo-test-break-glass?fieldManager=dbtopo-test&force=true', JSON.stringify(binding), 'application/apply-patch+yaml');
  if (b.status >= 300) throw new KubeRequestError(b.status, statusMessage(b.body));
  const meta = (patch['metadata'] as Record<string, unknown> | undefined) ?? {};
  const annotations = (meta['annotations'] as Record<string, string> | undefined) ?? {};
  const body = { ...patch, metadata: { ...meta, annotations: { ...annotations, 'dbtopo.dev/break-glass-reason': reason } } };
  return await rawRequest(kc, 'PATCH', urlPath, JSON.stringify(body), 'application/merge-patch+json', 30_000, { 'Impersonate-User': 'oncall', 'Impersonate-Group': group });
}
