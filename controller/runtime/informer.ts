// An informer: a local cache of one kind kept current by list + watch (client-node's ListWatch,
// which relists on 410 Gone), restarted with exponential backoff whenever the watch fails (ListWatch
// stops on other errors). Handlers get add/update/delete; reconcilers read the cache, not the API.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeObject } from '../../schemas/types/index.js';
import type { KubeClient } from './kube.js';
import { backoffDelay } from './workqueue.js';

export type EventType = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (type: EventType, obj: T) => void;

export interface InformerOptions {
  labelSelector?: string;
  /** Keep an index by this label's value (per namespace), read with byLabel(). */
  indexLabel?: string;
  /** Restart backoff after watch/list errors. */
  backoff?: { baseMs: number; maxMs: number };
}

/** client-node's Watch, counting each watch request it opens. */
class CountingWatch extends k8s.Watch {
  constructor(
    kc: k8s.KubeConfig,
    private readonly client: KubeClient,
  ) {
    super(kc);
  }
  override watch(...args: Parameters<k8s.Watch['watch']>): ReturnType<k8s.Watch['watch']> {
    this.client.count('watch');
    return super.watch(...args);
  }
}

export class Informer<T extends Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>> {
  private readonly lw: k8s.ListWatch<k8s.KubernetesObject>;
  private readonly handlers: Array<InformerHandler<T>> = [];
  private synced = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** `namespace/labelValue` → `name` → object; and `namespace/name` → its index key. */
  private readonly index = new Map<string, Map<string, T>>();
  private readonly indexKeyOf = new Map<string, string>();

  constructor(
    readonly name: string,
    client: KubeClient,
    path: string,
    private readonly log: Logger,
    private readonly opts: InformerOptions = {},
  ) {
    const listFn = async (): Promise<k8s.KubernetesListObject<k8s.KubernetesObject>> => {
      const list = await client.list<T>(path, { labelSelector: opts.labelSelector });
      this.failures = 0;
      return list as unknown as k8s.KubernetesListObject<k8s.KubernetesObject>;
    };
    this.lw = new k8s.ListWatch(path, new CountingWatch(client.kc, client), listFn, false, opts.labelSelector);
    const dispatch = (type: EventType) => (obj: k8s.KubernetesObject) => {
      this.synced ||= this.lw.latestResourceVersion() !== '';
      if (opts.indexLabel !== undefined) this.reindex(type, obj as unknown as T, opts.indexLabel);
      for (const h of this.handlers) h(type, obj as unknown as T);
    };
    this.lw.on(k8s.ADD, dispatch('add'));
    this.lw.on(k8s.UPDATE, dispatch('update'));
    this.lw.on(k8s.DELETE, dispatch('delete'));
    this.lw.on(k8s.ERROR, (err: unknown) => this.restart(err));
  }

  private reindex(type: EventType, obj: T, label: string): void {
    const objKey = `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    const old = this.indexKeyOf.get(objKey);
    if (old !== undefined) {
      this.index.get(old)?.delete(obj.metadata.name);
      if (this.index.get(old)?.size === 0) this.index.delete(old);
      this.indexKeyOf.delete(objKey);
    }
    const value = obj.metadata.labels?.[label];
    if (type === 'delete' || value === undefined) return;
    const key = `${obj.metadata.namespace ?? ''}/${value}`;
    let bucket = this.index.get(key);
    if (bucket === undefined) this.index.set(key, (bucket = new Map()));
    bucket.set(obj.metadata.name, obj);
    this.indexKeyOf.set(objKey, key);
  }

  /** Objects of `namespace` whose index label equals `value` (needs options.indexLabel). */
  byLabel(namespace: string | undefined, value: string): T[] {
    if (this.opts.indexLabel === undefined) throw new Error(`informer ${this.name} has no index: set indexLabel`);
    return [...(this.index.get(`${namespace ?? ''}/${value}`)?.values() ?? [])];
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  private restart(err: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const delay = backoffDelay(this.failures, this.opts.backoff ?? { baseMs: 500, maxMs: 30_000 });
    this.log.warn({ informer: this.name, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'watch failed; restarting');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) this.lw.start().catch((e: unknown) => this.restart(e));
    }, delay);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.lw.start().catch((e: unknown) => this.restart(e));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.lw.stop();
  }

  /** True once the first list has been loaded into the cache. */
  get hasSynced(): boolean {
    return this.synced || this.lw.latestResourceVersion() !== '';
  }

  async waitForSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < timeoutMs / 20 + 1 && Date.now() < deadline; i++) {
      if (this.hasSynced) {
        this.synced = true;
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`informer ${this.name} did not sync within ${timeoutMs} ms: is the API server reachable and the CRD installed?`);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.lw.get(name, namespace) as T | undefined;
  }

  list(namespace?: string): T[] {
    return this.lw.list(namespace) as unknown as T[];
  }
}
