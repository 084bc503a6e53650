// startController: wires informers → work queues → reconcilers, the HTTP endpoints, metrics and
// (optionally) leader election. Used in-process by tests and by main.ts.
import * as os from 'node:os';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { LABELS, type Cluster, type InstanceSet, type KubeObject } from '../schemas/types/index.js';
import { reconcileCluster } from './reconcile/cluster/reconciler.js';
import { reconcileInstanceSet } from './reconcile/instanceset/reconciler.js';
import { RoleProbes } from './roles/loop.js';
import { keyOf, newControllerMemory, type Caches, type ControllerContext } from './runtime/context.js';
import { EventRecorder } from './runtime/events.js';
import { serve, type HttpEndpoint } from './runtime/http.js';
import { Informer } from './runtime/informer.js';
import { KubeClient, resourcePath, type ResourceKind } from './runtime/kube.js';
import { DEFAULT_LEASE, LeaderElector } from './runtime/leader.js';
import { makeLogger } from './runtime/log.js';
import type { RateLimit } from './runtime/rate-limit.js';
import { ControllerMetrics } from './runtime/metrics.js';
import { DEFAULT_BACKOFF, WorkQueue, type Handler } from './runtime/workqueue.js';

export interface ControllerOptions {
  /** Path of a kubeconfig, a loaded KubeConfig, or undefined for in-cluster / $KUBECONFIG. */
  kubeconfig?: string | k8s.KubeConfig;
  /** Watch only this namespace (default: all namespaces). */
  namespace?: string;
  /** 0 = any free port; negative = no endpoint. */
  metricsPort?: number;
  healthPort?: number;
  bindAddress?: string;
  leaderElect?: boolean;
  leaseNamespace?: string;
  leaseName?: string;
  identity?: string;
  lease?: Partial<typeof DEFAULT_LEASE>;
  /** Concurrent reconciles per queue (different keys; one key never runs twice at once). */
  workers?: number;
  /** Client-side limit of API requests (watches excepted); default none. main.ts defaults to 50/100. */
  rateLimit?: RateLimit;
  /** Probe engine roles and wire replication (needs reachable pod IPs). Default true. */
  roleProbes?: boolean;
  /** Role watch interval between probe rounds, ms (roles/role-watch.ts); 0 = off. */
  roleWatchMs?: number;
  log?: Logger;
  logLevel?: string;
  /** Called when leadership is lost (main.ts exits; tests may observe it). */
  onLostLeadership?: () => void;
}

export interface RunningController {
  stop(): Promise<void>;
  metricsPort: number | undefined;
  healthPort: number | undefined;
  client: KubeClient;
  metrics: ControllerMetrics;
  isLeader(): boolean;
  /** Resolves once informers have synced and workers run (never when this replica stays standby). */
  started: Promise<void>;
}

function loadKubeConfig(src: ControllerOptions['kubeconfig']): k8s.KubeConfig {
  if (src instanceof k8s.KubeConfig) return src;
  const kc = new k8s.KubeConfig();
  if (src !== undefined) kc.loadFromFile(src);
  else kc.loadFromDefault();
  return kc;
}

export async function startController(opts: ControllerOptions = {}): Promise<RunningController> {
  const log = opts.log ?? makeLogger(opts.logLevel);
  const kc = loadKubeConfig(opts.kubeconfig);
  const client = new KubeClient(kc, opts.rateLimit);
  const identity = opts.identity ?? `${os.hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  // The depth callback runs at scrape time, after the queues below exist.
  const metrics = new ControllerMetrics(() => ({ instanceset: isQueue.depth, cluster: clusterQueue.depth }));
  const hooks = (controller: string) => (key: string, outcome: 'success' | 'requeue' | 'error', seconds: number, err?: unknown) => {
    metrics.reconciles.inc({ controller, result: outcome });
    metrics.reconcileDuration.observe({ controller }, seconds);
    if (outcome === 'error') {
      metrics.reconcileErrors.inc({ controller });
      log.warn({ controller, key, err: err instanceof Error ? err.message : String(err) }, 'reconcile failed; retrying with backoff');
    }
  };
  const isQueue = new WorkQueue('instanceset', DEFAULT_BACKOFF, { onResult: hooks('instanceset') });
  const clusterQueue = new WorkQueue('cluster', DEFAULT_BACKOFF, { onResult: hooks('cluster') });
  client.onRequest = (verb) => metrics.apiRequests.inc({ verb });
  // Events go through a client of their own, with a token bucket of their own, as client-go's
  // event broadcaster does in kube-controller-manager: 3,000 SuccessfulCreate Events must not
  // queue in front of the pod creates they report (measured: with one shared bucket, 1,000
  // InstanceSets took 1.15× as long as kcm's StatefulSets at the same QPS). Counted alike.
  const eventClient = new KubeClient(kc, opts.rateLimit);
  eventClient.onRequest = (verb) => metrics.apiRequests.inc({ verb });
  const events = new EventRecorder(eventClient, identity, log);

  const path = (kind: ResourceKind): string => resourcePath(kind, opts.namespace);
  // Only the pods and claims the controller owns, indexed by their InstanceSet.
  const managed = { labelSelector: LABELS.instanceSet, indexLabel: LABELS.instanceSet };
  const caches: Caches = {
    instanceSets: new Informer<InstanceSet>('instancesets', client, path('InstanceSet'), log),
    clusters: new Informer<Cluster>('clusters', client, path('Cluster'), log),
    pods: new Informer<KubeObject>('pods', client, path('Pod'), log, managed),
    pvcs: new Informer<KubeObject>('pvcs', client, path('PersistentVolumeClaim'), log, managed),
  };
  const ctx: ControllerContext = { client, memory: newControllerMemory(), caches, events, log, metrics, now: () => Date.now(), roleLoop: opts.roleProbes !== false };
  const roleProbes = opts.roleProbes === false ? undefined : new RoleProbes(ctx, opts.roleWatchMs !== undefined ? { watchMs: opts.roleWatchMs } : {});

  // Event → key mapping: children enqueue their InstanceSet, InstanceSets their Cluster.
  const enqueueSetOf = (o: KubeObject): void => {
    const set = o.metadata.labels?.[LABELS.instanceSet];
    if (set !== undefined) isQueue.add(keyOf(o.metadata.namespace, set));
  };
  caches.pods.on((type, pod) => {
    enqueueSetOf(pod);
    roleProbes?.podChanged(type, pod);
  });
  caches.pvcs.on((_t, pvc) => enqueueSetOf(pvc));
  caches.instanceSets.on((type, is) => {
    isQueue.add(keyOf(is.metadata.namespace, is.metadata.name));
    const cluster = is.metadata.labels?.[LABELS.cluster];
    if (cluster !== undefined) clusterQueue.add(keyOf(is.metadata.namespace, cluster));
    // Also every Cluster that names this InstanceSet in its components (the label may be absent).
    for (const c of caches.clusters.list(is.metadata.namespace)) {
      if (c.spec.components.some((comp) => comp.instanceSets.includes(is.metadata.name))) clusterQueue.add(keyOf(c.metadata.namespace, c.metadata.name));
    }
    roleProbes?.instanceSetChanged(type, is);
  });
  caches.clusters.on((_t, c) => clusterQueue.add(keyOf(c.metadata.namespace, c.metadata.name)));

  const handler = (fn: (ctx: ControllerContext, key: string) => ReturnType<Handler>): Handler => async (key) => await fn(ctx, key);

  let running = false;
  let synced = false;
  let resolveStarted: () => void = () => {};
  const started = new Promise<void>((r) => (resolveStarted = r));
  const workers = opts.workers ?? 4;

  const run = async (): Promise<void> => {
    if (running) return;
    running = true;
    metrics.isLeader.set(1);
    await Promise.all(Object.values(caches).map((inf: Informer<KubeObject>) => inf.start()));
    await Promise.all(Object.values(caches).map((inf: Informer<KubeObject>) => inf.waitForSync(60_000)));
    synced = true;
    isQueue.run(workers, handler(reconcileInstanceSet));
    clusterQueue.run(Math.max(1, Math.floor(workers / 2)), handler(reconcileCluster));
    roleProbes?.start();
    log.info({ namespace: opts.namespace ?? '(all)', identity, kubeApiQps: opts.rateLimit?.qps ?? 'unlimited', kubeApiBurst: opts.rateLimit?.burst ?? 'unlimited' }, 'controller started');
    resolveStarted();
  };

  const endpoints: HttpEndpoint[] = [];
  const host = opts.bindAddress ?? '0.0.0.0';
  let metricsPort: number | undefined;
  let healthPort: number | undefined;
  let elector: LeaderElector | undefined;
  const health = {
    '/healthz': async () => ({ status: 200, body: 'ok\n' }),
    // Ready once caches are synced, or while standing by for the lease (a standby is healthy).
    '/readyz': async () => (synced || (elector !== undefined && !elector.isLeader) ? { status: 200, body: 'ok\n' } : { status: 503, body: 'informers not synced\n' }),
  };
  const metricsRoute = { '/metrics': async () => ({ status: 200, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType }) };
  if ((opts.healthPort ?? -1) >= 0 && opts.healthPort === opts.metricsPort) {
    const ep = await serve(opts.healthPort ?? 0, host, { ...health, ...metricsRoute });
    endpoints.push(ep);
    healthPort = metricsPort = ep.port;
  } else {
    if ((opts.healthPort ?? -1) >= 0) {
      const ep = await serve(opts.healthPort ?? 0, host, health);
      endpoints.push(ep);
      healthPort = ep.port;
    }
    if ((opts.metricsPort ?? -1) >= 0) {
      const ep = await serve(opts.metricsPort ?? 0, host, metricsRoute);
      endpoints.push(ep);
      metricsPort = ep.port;
    }
  }

  let stopping = false;
  const stopWork = async (): Promise<void> => {
    await Promise.all([isQueue.shutdown(), clusterQueue.shutdown()]);
    await roleProbes?.stop();
    await Promise.all(Object.values(caches).map((inf: Informer<KubeObject>) => inf.stop()));
    metrics.isLeader.set(0);
  };

  if (opts.leaderElect === true) {
    elector = new LeaderElector(
      client,
      {
        namespace: opts.leaseNamespace ?? opts.namespace ?? 'default',
        name: opts.leaseName ?? 'dbtopo-controller',
        identity,
        ...DEFAULT_LEASE,
        ...opts.lease,
      },
      log,
      {
        onStartedLeading: () => {
          run().catch((err: unknown) => log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not start controllers'));
        },
        onStoppedLeading: () => {
          // Another replica may lead now: stop writing at once.
          void stopWork();
          if (!stopping) opts.onLostLeadership?.();
        },
      },
    );
    elector.start();
  } else {
    await run();
  }

  return {
    metricsPort,
    healthPort,
    client,
    metrics,
    started,
    isLeader: () => (elector === undefined ? running : elector.isLeader),
    async stop() {
      if (stopping) return;
      stopping = true;
      await stopWork();
      await elector?.stop();
      await Promise.all(endpoints.map((e) => e.close()));
      client.close();
      eventClient.close();
      log.info('controller stopped');
    },
  };
}
