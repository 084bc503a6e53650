// Helpers for tests that talk to the test control planes started by global-setup.ts.
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';

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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined; bounded by time and attempts. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / intervalMs) + 1;
  let lastError: unknown;
  for (let i = 0; i < maxAttempts && Date.now() <= deadline; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${detail}`);
}

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
): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) throw new Error('kubeconfig has no current cluster');
  const url = new URL(urlPath, server);
  const opts: https.RequestOptions = {
    method,
    hostname: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
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
