// Shared set-up of the engine e2e tests: the compiler's rendered manifests of one topology
// (moved into a test namespace), a real control plane, the test kubelet running the real
// engines, and the controller with role probes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { startController, type ControllerOptions, type RunningController } from '../../controller/manager.js';
import { KubeClient } from '../../controller/runtime/kube.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { LABELS } from '../../schemas/types/index.js';
import { eventually, pollUntilStopped } from '../cluster/helpers.js';
import type { FlatNetwork } from '../kubelet/flat-network.js';
import { startTestKubelet, type TestKubelet } from '../kubelet/kubelet.js';
import { evictPod, guardedNamespace } from './guarded-namespace.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const NOT_SERVED_HERE = new Set(['NetworkPolicy', 'ServiceExport']);

/**
 * The rendered objects of one topology in one member cluster (`<env>/<member>/<namespace>/<topology>`,
 * its file without `.yaml`), re-namespaced (also inside configs: DNS names carry the namespace).
 * Left out: NetworkPolicies (the test kubelet enforces none) and ServiceExports (spread shards,
 * multicluster.x-k8s.io: the test control planes serve no Multi-Cluster Services API and run no
 * MCS controller; the flat pod network reaches pods by address).
 */
export function loadRendered(rel: string, fromNamespace: string, toNamespace: string): k8s.KubernetesObject[] {
  const file = path.join(repoRoot, 'environments/rendered', `${rel}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`dbtopo compile\` on the example repo (environments/)`);
  const text = fs.readFileSync(file, 'utf8')
    .replaceAll(`namespace: ${fromNamespace}\n`, `namespace: ${toNamespace}\n`)
    .replaceAll(`.${fromNamespace}.svc`, `.${toNamespace}.svc`);
  const out: k8s.KubernetesObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    const obj = doc.toJS() as k8s.KubernetesObject | null;
    if (obj !== null && !NOT_SERVED_HERE.has(obj.kind ?? '')) out.push(obj);
  }
  return out;
}

export interface EngineEnv {
  /** As the GitOps sync, the one identity the guard lets write specs. */
  kc: k8s.KubeConfig;
  /** The control plane's admin, as an engineer at `kubectl` (draining a node, say). */
  admin: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  namespace: string;
  kubelet: TestKubelet;
  /** Undefined when the test runs the controller itself (e.g. as a child process). */
  controller: RunningController | undefined;
  /** A kubeconfig file with the controller's identity, for controllers run as child processes. */
  controllerKubeconfig: string;
  stop(): Promise<void>;
}

/** Namespace, Secrets, kubelet, controller, then the objects. Everything is stopped by stop(). */
export async function startEngineEnv(opts: {
  namespace: string;
  objects: k8s.KubernetesObject[];
  secrets?: Record<string, Record<string, string>>;
  /** false: start no controller here (the test runs its own); default true. */
  inProcessController?: boolean;
  /** The control plane (a name in `inject('kubeconfigs')`); default member-a. */
  member?: string;
  /** The test kubelet's Node name; default `node-<namespace>`. */
  nodeName?: string;
  /** Put the test kubelet's pod network on this flat network (test/federation/harness.ts). */
  flatNetwork?: FlatNetwork;
  /** More options of the in-process controller. */
  controllerOptions?: Partial<ControllerOptions>;
}): Promise<EngineEnv> {
  // The rendered admission guard is in force in the namespace: the objects are created and env.kc
  // acts as the GitOps sync (Argo CD's application controller), the controller as its own
  // ServiceAccount (env.controllerKubeconfig for child controllers), the test kubelet as a node.
  const ids = await guardedNamespace(opts.namespace, opts.member !== undefined ? { member: opts.member } : {});
  const kc = ids.gitops;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const client = new KubeClient(kc);
  const stops: Array<() => Promise<void>> = [async () => ids.stop()];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
  };
  try {
    for (const [name, data] of Object.entries(opts.secrets ?? {})) {
      await core.createNamespacedSecret({ namespace: opts.namespace, body: { metadata: { name }, stringData: data } });
    }
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-e2e-kubelet-'));
    const debug = process.env['DBTOPO_E2E_DEBUG'] !== undefined;
    const kubelet = await startTestKubelet({
      // under the guard, as a node: the guard lets a kubelet finish deleting a terminating pod
      kubeconfigPath: ids.nodeKubeconfig,
      nodeName: opts.nodeName ?? `node-${opts.namespace}`,
      workDir,
      namespace: opts.namespace,
      ...(opts.flatNetwork !== undefined ? { flatNetwork: opts.flatNetwork } : {}),
      log: (m) => {
        if (debug) process.stderr.write(`[kubelet] ${m}\n`);
      },
    });
    stops.push(async () => kubelet.stop());
    const controller =
      opts.inProcessController === false
        ? undefined
        : await startController({
            kubeconfig: ids.controller,
            namespace: opts.namespace,
            metricsPort: 0,
            healthPort: 0,
            bindAddress: '127.0.0.1',
            log: makeLogger(debug ? 'info' : 'warn'),
            ...opts.controllerOptions,
          });
    if (controller !== undefined) stops.push(async () => controller.stop());
    stops.push(async () => client.close());
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    for (const o of opts.objects) await objects.create(o);
    return { kc, admin: ids.admin, core, namespace: opts.namespace, kubelet, controller, controllerKubeconfig: ids.controllerKubeconfig, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const isReady = (p: k8s.V1Pod): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

export async function pods(core: k8s.CoreV1Api, namespace: string, instanceSet: string): Promise<k8s.V1Pod[]> {
  const l = await core.listNamespacedPod({ namespace, labelSelector: `${LABELS.instanceSet}=${instanceSet}` });
  return l.items.filter((p) => p.metadata?.deletionTimestamp === undefined).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', 'en', { numeric: true }));
}

export async function allReady(core: k8s.CoreV1Api, namespace: string, instanceSet: string, count: number, timeoutMs = 120_000): Promise<k8s.V1Pod[]> {
  return await eventually(`${count} Ready pods of ${instanceSet}`, async () => {
    const ps = await pods(core, namespace, instanceSet);
    return ps.length === count && ps.every(isReady) ? ps : undefined;
  }, { timeoutMs, intervalMs: 200 });
}

/** Exactly one primary and count-1 secondaries by label; returns the primary pod. */
export async function rolesSettled(core: k8s.CoreV1Api, namespace: string, instanceSet: string, count: number, timeoutMs = 60_000): Promise<{ primary: k8s.V1Pod; secondaries: k8s.V1Pod[] }> {
  return await eventually(`one primary and ${count - 1} secondaries in ${instanceSet}`, async () => {
    const ps = await pods(core, namespace, instanceSet);
    const prim = ps.filter((p) => p.metadata?.labels?.[LABELS.role] === 'primary');
    const sec = ps.filter((p) => p.metadata?.labels?.[LABELS.role] === 'secondary');
    return ps.length === count && prim.length === 1 && sec.length === count - 1 ? { primary: prim[0]!, secondaries: sec } : undefined;
  }, { timeoutMs, intervalMs: 200 });
}

/** Ready addresses of a Service's EndpointSlices. */
export async function serviceAddresses(kc: k8s.KubeConfig, namespace: string, service: string): Promise<string[]> {
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const l = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${service}` });
  return l.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready === true).flatMap((e) => e.addresses)).sort();
}

/**
 * Polls the pods of `instanceSet` every `intervalMs` until stopped and records the most pods
 * labelled primary at one observed instant, and the most pods (duplicates would show here).
 */
export function watchPrimaryLabels(core: k8s.CoreV1Api, namespace: string, instanceSet: string, intervalMs = 100): { stop(): Promise<{ maxPrimaries: number; maxPods: number; polls: number; firstDouble?: string }> } {
  const seen: { maxPrimaries: number; maxPods: number; polls: number; firstDouble?: string } = { maxPrimaries: 0, maxPods: 0, polls: 0 };
  const started = Date.now();
  const poll = pollUntilStopped(async () => {
    const ps = await pods(core, namespace, instanceSet);
    const primaries = ps.filter((p) => p.metadata?.labels?.[LABELS.role] === 'primary');
    seen.maxPrimaries = Math.max(seen.maxPrimaries, primaries.length);
    // For the failure message: who, and when (ms after the watch started).
    if (primaries.length > 1 && seen.firstDouble === undefined) seen.firstDouble = `${primaries.map((p) => p.metadata?.name).join(' and ')} labelled primary at +${Date.now() - started} ms`;
    seen.maxPods = Math.max(seen.maxPods, ps.length);
    seen.polls++;
  }, intervalMs);
  return {
    async stop() {
      await poll.stop();
      return seen;
    },
  };
}

/** Waits until every Sentinel names `primaryIp` and knows `replicas` replicas and the other Sentinels. */
export async function sentinelsReady(sentinelIps: string[], masterName: string, primaryIp: string, replicas: number, timeoutMs = 60_000): Promise<void> {
  for (const ip of sentinelIps) {
    await eventually(`sentinel ${ip} ready to fail over`, async () => {
      const c = new Redis({ host: ip, port: 26379, maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
      c.on('error', () => undefined);
      try {
        await c.connect();
        const addr = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as string[] | null;
        const reps = (await c.call('SENTINEL', 'REPLICAS', masterName)) as unknown[];
        const others = (await c.call('SENTINEL', 'SENTINELS', masterName)) as unknown[];
        return addr?.[0] === primaryIp && reps.length === replicas && others.length === sentinelIps.length - 1 ? true : undefined;
      } finally {
        c.disconnect();
      }
    }, { timeoutMs, intervalMs: 250 });
  }
}

/** Exactly one pod labelled primary and the `-primary` Service's EndpointSlice holding exactly its address. */
export async function onePrimaryServed(env: EngineEnv, instanceSet: string, count: number, timeoutMs = 90_000): Promise<k8s.V1Pod> {
  const { primary } = await rolesSettled(env.core, env.namespace, instanceSet, count, timeoutMs);
  const ip = primary.status?.podIP ?? '';
  await eventually(`${instanceSet}-primary endpoint = ${primary.metadata?.name}`, async () => {
    const a = await serviceAddresses(env.kc, env.namespace, `${instanceSet}-primary`);
    return a.length === 1 && a[0] === ip ? true : undefined;
  }, { timeoutMs: 30_000, intervalMs: 200 });
  // The label must still be there once the endpoint followed it.
  const again = await rolesSettled(env.core, env.namespace, instanceSet, count, 5_000);
  if (again.primary.metadata?.name !== primary.metadata?.name) throw new Error(`primary moved from ${primary.metadata?.name} to ${again.primary.metadata?.name} while checking its endpoint`);
  return primary;
}

/**
 * The primary's pod leaves as in a node drain. Under the guard a plain delete of it is refused to
 * anyone but the controller (checked here, as an engineer at kubectl), so it is evicted, retried
 * while the PodDisruptionBudget holds it. Returns when the eviction was accepted.
 */
export async function drainPrimary(env: EngineEnv, podName: string): Promise<number> {
  const adminCore = env.admin.makeApiClient(k8s.CoreV1Api);
  await expectRefused(adminCore.deleteNamespacedPod({ name: podName, namespace: env.namespace }), /dbtopo guard \[primary-protected\]/);
  await evictPod(env.admin, env.namespace, podName);
  return performance.now();
}

async function expectRefused(p: Promise<unknown>, message: RegExp): Promise<void> {
  const outcome = await p.then(() => 'accepted', (err: unknown) => (err instanceof Error ? `${err.message} ${JSON.stringify((err as { body?: unknown }).body ?? '')}` : String(err)));
  if (!message.test(outcome)) throw new Error(`expected the guard to refuse with ${message}, got: ${outcome}`);
}
