// The controller benchmark's stand-in for the scheduler + kubelet of a node, used identically for
// both sides (dbtopo's pods and kube-controller-manager's StatefulSet pods): it binds each new pod
// of one namespace to one Node and writes a Running, Ready status with a pod address, as a kubelet
// would once the containers answer their readiness probes. No process runs: 3,000 engines per side
// do not fit this 2-core machine (the prober benchmark, prober.bench.ts, runs real engines).
// The addresses are 127.77.x.y, unique per pod: a role probe against one is refused at once, the
// same cost a prober pays for an engine that is not listening yet.
//
// It is not rate-limited and keeps at most CONCURRENCY requests in flight, for both sides alike.
import * as k8s from '@kubernetes/client-node';
import { KubeClient, isConflict, isNotFound } from '../../controller/runtime/kube.js';
import type { KubeObject } from '../../schemas/types/index.js';

const CONCURRENCY = 16;

export interface ReadyWriter {
  /** Pods bound and marked Ready so far. */
  readonly ready: number;
  /** Requests this writer made (so a reader can subtract them from the API server's totals). */
  readonly requests: number;
  stop(): Promise<void>;
}

interface PodLike {
  metadata: { name: string; namespace: string; uid: string };
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

const isReady = (p: PodLike): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export async function startReadyWriter(kc: k8s.KubeConfig, namespace: string, nodeName: string): Promise<ReadyWriter> {
  const client = new KubeClient(kc);
  await registerNode(client, nodeName);
  const done = new Set<string>();
  const queued = new Set<string>();
  const queue: PodLike[] = [];
  let inFlight = 0;
  let next = 0;
  let stopped = false;
  const addresses = new Map<string, string>();
  const addressOf = (uid: string): string => {
    let ip = addresses.get(uid);
    if (ip === undefined) {
      const n = next++;
      ip = `127.77.${Math.floor(n / 250)}.${(n % 250) + 2}`;
      addresses.set(uid, ip);
    }
    return ip;
  };
  let idle: (() => void) | undefined;

  const pump = (): void => {
    while (!stopped && inFlight < CONCURRENCY && queue.length > 0) {
      const pod = queue.shift() as PodLike;
      inFlight++;
      void handle(pod)
        .catch((err: unknown) => {
          // A conflict or a vanished pod is the next watch event's business; anything else retries.
          if (!isConflict(err) && !isNotFound(err) && !stopped) setTimeout(() => offer(pod, true), 500).unref();
        })
        .finally(() => {
          inFlight--;
          queued.delete(pod.metadata.uid);
          pump();
          if (inFlight === 0 && queue.length === 0) idle?.();
        });
    }
  };
  const offer = (pod: PodLike, retry = false): void => {
    if (stopped || done.has(pod.metadata.uid) || (queued.has(pod.metadata.uid) && !retry)) return;
    if (isReady(pod) && pod.spec?.nodeName === nodeName) return;
    queued.add(pod.metadata.uid);
    queue.push(pod);
    pump();
  };

  async function handle(pod: PodLike): Promise<void> {
    const { name, uid } = pod.metadata;
    const base = `/api/v1/namespaces/${namespace}/pods/${name}`;
    if (pod.spec?.nodeName === undefined || pod.spec.nodeName === '') {
      await client.create(`/api/v1/namespaces/${namespace}/pods/${name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace, uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      } as unknown as KubeObject);
    }
    const now = new Date().toISOString();
    const ip = addressOf(uid);
    const container = pod.spec?.containers?.[0];
    await client.request('patch', 'PATCH', `${base}/status`, {
      contentType: 'application/merge-patch+json',
      body: {
        metadata: { uid },
        status: {
          phase: 'Running',
          hostIP: '127.0.0.1',
          podIP: ip,
          podIPs: [{ ip }],
          startTime: now,
          conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({ type, status: 'True', lastTransitionTime: now })),
          containerStatuses: [{ name: container?.name ?? 'main', image: container?.image ?? '', imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: now } } }],
        },
      },
    });
    done.add(uid);
  }

  const path = `/api/v1/namespaces/${namespace}/pods`;
  const informer = k8s.makeInformer(kc, path, () => kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace }));
  informer.on('add', (p) => offer(p as unknown as PodLike));
  informer.on('update', (p) => offer(p as unknown as PodLike));
  informer.on('error', () => {
    if (!stopped) setTimeout(() => void informer.start().catch(() => undefined), 1_000).unref();
  });
  await informer.start();

  return {
    get ready() {
      return done.size;
    },
    get requests() {
      return client.totalRequests();
    },
    async stop(): Promise<void> {
      stopped = true;
      await informer.stop().catch(() => undefined);
      if (inFlight > 0) await new Promise<void>((r) => ((idle = r), setTimeout(r, 10_000).unref()));
      client.close();
    },
  };
}

async function registerNode(client: KubeClient, name: string): Promise<void> {
  const now = new Date().toISOString();
  const node = await client
    .create<KubeObject>('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } } as KubeObject)
    .catch(async (err: unknown) => {
      if (!isConflict(err)) throw err;
      return (await client.get<KubeObject>(`/api/v1/nodes/${name}`)) as KubeObject;
    });
  await client.request('patch', 'PATCH', `/api/v1/nodes/${node.metadata.name}/status`, {
    contentType: 'application/merge-patch+json',
    body: {
      status: {
        capacity: { cpu: '2', memory: '24Gi', pods: '10000' },
        allocatable: { cpu: '2', memory: '24Gi', pods: '10000' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'dbtopo benchmark ready writer', lastHeartbeatTime: now, lastTransitionTime: now }],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
      },
    },
  });
}
