// The controller's one door to the API server: typed JSON requests over a keep-alive HTTPS agent,
// every request counted (metrics, "API requests per reconcile" in the benchmark). Credentials and
// TLS come from @kubernetes/client-node's KubeConfig; watches use its Watch (see informer.ts).
import * as http from 'node:http';
import * as https from 'node:https';
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '../../schemas/types/index.js';
import { TokenBucket, type RateLimit } from './rate-limit.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'apply' | 'patch' | 'update' | 'delete';

export const WRITE_VERBS: ReadonlySet<Verb> = new Set(['create', 'apply', 'patch', 'update', 'delete']);

export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeError';
  }
}

export const isNotFound = (err: unknown): boolean => err instanceof KubeError && err.code === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeError && err.code === 409;

export interface ObjectList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** Kinds the controller touches, with their REST coordinates. */
export const RESOURCES = {
  Pod: { group: '', version: 'v1', plural: 'pods' },
  PersistentVolumeClaim: { group: '', version: 'v1', plural: 'persistentvolumeclaims' },
  Secret: { group: '', version: 'v1', plural: 'secrets' },
  InstanceSet: { group: 'dbtopo.dev', version: 'v1alpha1', plural: 'instancesets' },
  Cluster: { group: 'dbtopo.dev', version: 'v1alpha1', plural: 'clusters' },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' },
  Event: { group: 'events.k8s.io', version: 'v1', plural: 'events' },
} as const;
export type ResourceKind = keyof typeof RESOURCES;

/** /api/v1/namespaces/ns/pods/name/status and friends; namespace undefined = all namespaces. */
export function resourcePath(kind: ResourceKind, namespace?: string, name?: string, subresource?: string): string {
  const r = RESOURCES[kind];
  let p = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource !== undefined) p += `/${subresource}`;
  return p;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export class KubeClient {
  private agent: https.Agent | http.Agent | undefined;
  private readonly server: URL;
  /** Requests made so far, by verb. */
  readonly counts = new Map<Verb, number>();
  onRequest: ((verb: Verb) => void) | undefined;
  private readonly bucket: TokenBucket | undefined;

  /** `rateLimit`: client-side QPS/burst for every request but watches (rate-limit.ts); default none. */
  constructor(
    readonly kc: k8s.KubeConfig,
    rateLimit?: RateLimit,
  ) {
    this.bucket = rateLimit !== undefined ? new TokenBucket(rateLimit) : undefined;
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster: pass --kubeconfig with a current-context');
    this.server = new URL(cluster.server);
  }

  count(verb: Verb): void {
    this.counts.set(verb, (this.counts.get(verb) ?? 0) + 1);
    this.onRequest?.(verb);
  }

  totalRequests(filter?: (v: Verb) => boolean): number {
    let n = 0;
    for (const [v, c] of this.counts) if (filter === undefined || filter(v)) n += c;
    return n;
  }

  async request<T>(verb: Verb, method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (this.bucket !== undefined && verb !== 'watch') await this.bucket.take();
    this.count(verb);
    const reqOpts: https.RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(reqOpts);
    if (this.agent === undefined) {
      this.agent =
        this.server.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, maxSockets: 32, ca: reqOpts.ca, cert: reqOpts.cert, key: reqOpts.key, rejectUnauthorized: reqOpts.rejectUnauthorized ?? true })
          : new http.Agent({ keepAlive: true, maxSockets: 32 });
    }
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const headers: http.OutgoingHttpHeaders = { ...(reqOpts.headers as http.OutgoingHttpHeaders), accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const mod = url.protocol === 'https:' ? https : http;
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return await new Promise<T>((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) {
            resolve(parsed as T);
            return;
          }
          const st = (parsed ?? {}) as { reason?: string; message?: string };
          reject(new KubeError(status, st.reason ?? 'Unknown', `${method} ${url.pathname}: ${status} ${st.message ?? text.slice(0, 300)}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  async get<T extends KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>('get', 'GET', path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Lists every page of a collection. */
  async list<T>(path: string, query: Record<string, string | undefined> = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const res = await this.request<ObjectList<T>>('list', 'GET', path, { query: { ...query, limit: 500, continue: cont } });
      items.push(...res.items);
      resourceVersion = res.metadata.resourceVersion;
      cont = res.metadata.continue;
      if (cont === undefined || cont === '') break;
    }
    return { metadata: { ...(resourceVersion !== undefined ? { resourceVersion } : {}) }, items };
  }

  async create<T extends KubeObject>(path: string, body: KubeObject, fieldManager?: string): Promise<T> {
    return await this.request<T>('create', 'POST', path, { body, query: { fieldManager } });
  }

  /** Server-side apply (`force` takes fields over from other managers: the controller is their owner). */
  async apply<T extends KubeObject>(path: string, body: unknown, fieldManager: string): Promise<T> {
    return await this.request<T>('apply', 'PATCH', path, {
      body,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager, force: true },
    });
  }

  async mergePatch<T extends KubeObject>(path: string, patch: unknown, fieldManager: string): Promise<T> {
    return await this.request<T>('patch', 'PATCH', path, { body: patch, contentType: 'application/merge-patch+json', query: { fieldManager } });
  }

  async replace<T extends KubeObject>(path: string, body: KubeObject, fieldManager: string): Promise<T> {
    return await this.request<T>('update', 'PUT', path, { body, query: { fieldManager } });
  }

  /** Deletes; `uid` as a precondition so a newer object of the same name is never hit. Gone already = fine. */
  async delete(path: string, uid?: string): Promise<boolean> {
    try {
      await this.request('delete', 'DELETE', path, {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', ...(uid !== undefined ? { preconditions: { uid } } : {}) },
      });
      return true;
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return false;
      throw err;
    }
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}
