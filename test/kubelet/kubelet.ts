// The test kubelet: stands in for the scheduler, the kubelet, the container runtime and CNI of a
// one-node cluster, so a real kube-apiserver + kube-controller-manager can run dbtopo pods with
// real engine processes. See docs/test-kubelet.md for what it does and does not do.
//
//   watch pods → bind pending ones to our Node → render config (ConfigMap + placeholders + DNS
//   names) → run the engine on the pod's own address → write pod status (Ready when the port
//   answers, restartCount) → restart crashed processes → on deletion stop and confirm with a
//   0-grace delete.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ensureMariadbTemplate, prepareEngine, type EngineKind } from './engines.js';
import type { FlatNetwork } from './flat-network.js';
import { PodNetwork } from './network.js';
import { portOpen } from './net.js';
import { configFileOf, dnsNamesIn, engineKindOf, fillPlaceholders, keptServerId, rendersFromUid, resolveDnsNames, serverIdOf, type DnsName } from './render.js';
import { podStatus } from './status.js';
import { Supervisor } from './supervisor.js';

export interface TestKubeletOptions {
  kubeconfigPath: string;
  nodeName: string;
  /** Pod directories (config, data, logs) live under here; removed by stop(). */
  workDir: string;
  /** Watch only this namespace (default: all). */
  namespace?: string;
  log?: (message: string) => void;
  /** How often each pod's port is checked for readiness; default READINESS_PERIOD_MS. */
  readinessPeriodMs?: number;
  /**
   * Join this kubelet's pod network to a flat network shared with other kubelets (member clusters,
   * flat-network.ts): their pods reach each other; this kubelet keeps its own pod subnet.
   */
  flatNetwork?: FlatNetwork;
}

export interface TestKubelet {
  stop(): Promise<void>;
  /**
   * Signals the engine process of a pod (`name` or `namespace/name`); if it exits it is restarted
   * like a crashed container, not before `holdMs`.
   */
  killProcess(podName: string, signal: NodeJS.Signals, opts?: { holdMs?: number; untilReleased?: boolean }): void;
  /** Lets a process killed with `untilReleased` start again (at once). */
  releaseProcess(podName: string): void;
  /**
   * Sends `signal` (default SIGKILL) to every engine process of this kubelet and keeps them all
   * down until releaseEngines(), pods that start meanwhile included: a lost node. Returns the
   * pods whose process was signalled.
   */
  killEngines(signal?: NodeJS.Signals): string[];
  /** Ends killEngines(): every engine starts again. */
  releaseEngines(): void;
  /** This kubelet's pod subnet (`10.244.<b>.0/24`; empty in the 127.x fallback) and its block <b>. */
  readonly podCidr: string;
  readonly block: number;
  /** The network namespace its engines run in. */
  readonly netns: string;
  /** The pod's address (`name` or `namespace/name`). */
  addressOf(podName: string): string;
  /** The last `lines` lines of the pod's engine log (for a test's failure message). */
  engineLog(podName: string, lines?: number): string;
}

const HOST_IP = '127.0.0.1';
const READINESS_PERIOD_MS = 200;
const INIT_RETRY_MS = 500;
const INIT_MAX_ATTEMPTS = 600;
const MAX_DELETE_GRACE_MS = 10_000;
const ENDPOINT_REFRESH_MS = 500;

interface PodRuntime {
  key: string;
  uid: string;
  namespace: string;
  name: string;
  ip: string;
  dir: string;
  kind?: EngineKind;
  port?: number;
  containerName: string;
  initContainerName?: string;
  image: string;
  supervisor?: Supervisor;
  initialized: boolean;
  initMessage?: string;
  initAttempts: number;
  ready: boolean;
  startTime: Date;
  transitions: Map<string, { ok: boolean; at: Date }>;
  lastWritten?: string;
  timer?: NodeJS.Timeout;
  refreshTimer?: NodeJS.Timeout;
  stopping: boolean;
}

export async function startTestKubelet(opts: TestKubeletOptions): Promise<TestKubelet> {
  const log = opts.log ?? ((): void => undefined);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(opts.kubeconfigPath);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const network = new PodNetwork(process.pid + hash(opts.nodeName), log, opts.flatNetwork !== undefined ? { flat: opts.flatNetwork } : {});
  fs.mkdirSync(opts.workDir, { recursive: true });

  const runtimes = new Map<string, PodRuntime>();
  const syncing = new Map<string, Promise<void>>();
  const dirty = new Set<string>();
  let stopped = false;
  /** killEngines() in force: every supervisor is held, new ones too. */
  let enginesHeld = false;

  const exitHook = (): void => network.downAll();
  process.on('exit', exitHook);

  await registerNode(core, opts.nodeName);

  const listFn = (): Promise<k8s.KubernetesListObject<k8s.V1Pod>> =>
    opts.namespace !== undefined ? core.listNamespacedPod({ namespace: opts.namespace }) : core.listPodForAllNamespaces();
  const watchPath = opts.namespace !== undefined ? `/api/v1/namespaces/${opts.namespace}/pods` : '/api/v1/pods';
  const informer = k8s.makeInformer(kc, watchPath, listFn);
  const keyOf = (p: k8s.V1Pod): string => `${p.metadata?.namespace ?? 'default'}/${p.metadata?.name ?? ''}`;
  const enqueue = (key: string): void => {
    if (stopped) return;
    if (syncing.has(key)) {
      dirty.add(key);
      return;
    }
    const run = (async (): Promise<void> => {
      try {
        await syncPod(key);
      } catch (err) {
        log(`sync ${key}: ${err instanceof Error ? err.message : String(err)}`);
        setTimeout(() => enqueue(key), 1_000).unref();
      } finally {
        syncing.delete(key);
        if (dirty.delete(key)) enqueue(key);
      }
    })();
    syncing.set(key, run);
  };
  informer.on('add', (p) => enqueue(keyOf(p)));
  informer.on('update', (p) => enqueue(keyOf(p)));
  informer.on('delete', (p) => enqueue(keyOf(p)));
  informer.on('error', (err) => {
    if (stopped) return;
    log(`pod watch error, restarting in 1s: ${String(err)}`);
    setTimeout(() => {
      if (!stopped) void informer.start().catch(() => undefined);
    }, 1_000).unref();
  });
  await informer.start();

  async function syncPod(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const pod = informer.get(name, namespace);
    let rt = runtimes.get(key);
    if (pod === undefined) {
      if (rt !== undefined) await teardown(rt, MAX_DELETE_GRACE_MS);
      return;
    }
    if (pod.spec?.nodeName === undefined || pod.spec.nodeName === '') {
      if (pod.metadata?.deletionTimestamp === undefined) await bind(pod);
      return;
    }
    if (pod.spec.nodeName !== opts.nodeName) return;
    if (rt !== undefined && rt.uid !== pod.metadata?.uid) {
      await teardown(rt, 0); // a new pod with the old name
      rt = undefined;
    }
    if (pod.metadata?.deletionTimestamp !== undefined) {
      const grace = Math.min((pod.metadata.deletionGracePeriodSeconds ?? 30) * 1_000, MAX_DELETE_GRACE_MS);
      if (rt !== undefined) await teardown(rt, grace);
      await confirmDeletion(pod);
      return;
    }
    if (rt === undefined) {
      rt = newRuntime(pod);
      runtimes.set(key, rt);
    }
    if (!rt.initialized) await initialize(rt, pod);
  }

  async function bind(pod: k8s.V1Pod): Promise<void> {
    try {
      await core.createNamespacedBinding({
        namespace: pod.metadata?.namespace ?? 'default',
        body: { metadata: { name: pod.metadata?.name ?? '', ...(pod.metadata?.uid !== undefined ? { uid: pod.metadata.uid } : {}) }, target: { apiVersion: 'v1', kind: 'Node', name: opts.nodeName } },
      });
    } catch (err) {
      if (!isCode(err, 409) && !isCode(err, 404)) throw err;
    }
  }

  function newRuntime(pod: k8s.V1Pod): PodRuntime {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const container = pod.spec?.containers[0];
    const dir = path.join(opts.workDir, namespace, name);
    // Without a PersistentVolumeClaim the data is an emptyDir: a new pod starts empty.
    const hasClaim = (pod.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim !== undefined);
    if (!hasClaim) fs.rmSync(dir, { recursive: true, force: true });
    const kind = container === undefined ? undefined : engineKindOf(container);
    const port = container?.ports?.[0]?.containerPort;
    return {
      key: `${namespace}/${name}`,
      uid: pod.metadata?.uid ?? '',
      namespace,
      name,
      ip: network.addressOf(namespace, name),
      dir,
      ...(kind !== undefined ? { kind } : {}),
      ...(port !== undefined ? { port } : {}),
      containerName: container?.name ?? 'main',
      ...(pod.spec?.initContainers?.[0]?.name !== undefined ? { initContainerName: pod.spec.initContainers[0].name } : {}),
      image: container?.image ?? '',
      initialized: false,
      initAttempts: 0,
      ready: false,
      startTime: new Date(),
      transitions: new Map(),
      stopping: false,
    };
  }

  /** The render-config init container's job, then the engine start. Retries while DNS names do not resolve. */
  async function initialize(rt: PodRuntime, pod: k8s.V1Pod): Promise<void> {
    rt.initAttempts++;
    network.up(rt.ip);
    if (rt.kind === undefined || rt.port === undefined) {
      // Not an engine we know (e.g. a pause container in another test): a pod with no process, Ready at once.
      rt.initialized = true;
      rt.ready = true;
      await writeStatus(rt);
      return;
    }
    const container = pod.spec?.containers[0];
    const password = await envSecret(pod, 'PASSWORD');
    const username = await envSecret(pod, 'USERNAME');
    // As render-config: a pod whose render-config has POD_UID (MySQL servers) keeps its server id
    // on its volume (the pod's directory, kept with a claim), made from the UID of the pod that
    // first starts there; other pods take the ordinal's.
    const podUid = rendersFromUid(pod) ? pod.metadata?.uid : undefined;
    const vars = {
      podIP: rt.ip,
      podName: rt.name,
      ...(podUid !== undefined ? { podUid, serverId: keptServerId(rt.dir, podUid) } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(username !== undefined ? { username } : {}),
    };
    let initSql: string | undefined;
    let config: string | undefined;
    let filled: string | undefined;
    const file = container === undefined ? undefined : configFileOf(container);
    const cmName = (pod.spec?.volumes ?? []).find((v) => v.configMap !== undefined)?.configMap?.name;
    if (file !== undefined && cmName !== undefined) {
      const cm = await core.readNamespacedConfigMap({ name: cmName, namespace: rt.namespace });
      const raw = cm.data?.[file];
      if (raw === undefined) throw new Error(`ConfigMap ${rt.namespace}/${cmName} has no key ${file}, which pod ${rt.name} runs with`);
      filled = fillPlaceholders(raw, vars);
      // The server's own init file (the admin account from the Secrets, compiler/expand/
      // configmaps.ts mysqlInitSql), run as the rendered my.cnf has it run: at every start.
      const sql = rt.kind === 'mariadb' ? cm.data?.['init.sql'] : undefined;
      if (sql !== undefined) initSql = fillPlaceholders(sql, vars);
      const resolved = await resolveDnsNames(filled, (n) => resolveName(n));
      if (resolved.unresolved.length > 0) {
        rt.initMessage = `waiting for DNS names: ${resolved.unresolved.join(', ')}`;
        await writeStatus(rt);
        if (rt.initAttempts < INIT_MAX_ATTEMPTS) setTimeout(() => enqueue(rt.key), INIT_RETRY_MS).unref();
        else log(`${rt.key}: giving up: ${rt.initMessage}`);
        return;
      }
      config = resolved.text;
    }
    const template = rt.kind === 'mariadb' ? await ensureMariadbTemplate(path.join(opts.workDir, '.mariadb-template')) : undefined;
    const kind = rt.kind;
    const port = rt.port;
    // Every engine runs inside the pod network namespace (network.ts), as a container would.
    const specFor = (cfg: string | undefined): ReturnType<typeof prepareEngine> => {
      const base = prepareEngine(
        {
          kind,
          ip: rt.ip,
          port,
          dir: rt.dir,
          ...(cfg !== undefined ? { config: cfg } : {}),
          serverId: serverIdOf(vars),
          ...(initSql !== undefined ? { initSql } : {}),
        },
        template,
      );
      return { ...base, ...network.wrap(base.command, base.args) };
    };
    const spec = specFor(config);
    if (rt.stopping) return;
    rt.supervisor = new Supervisor(spec, { onStateChange: () => void writeStatus(rt).catch(() => undefined) });
    if (enginesHeld) rt.supervisor.hold();
    rt.supervisor.start();
    rt.initialized = true;
    delete rt.initMessage;
    // Not fatal: the readiness tick below writes the status again until one write succeeds. Thrown
    // here, it left the pod Pending for good (initialized, so never initialized again, and no
    // tick) — 34 of 369 pods when the API server was busy (test/bench/prober.bench.ts).
    await writeStatus(rt).catch((err: unknown) => log(`${rt.key}: status: ${String(err)}`));
    log(`${rt.key}: ${rt.kind} on ${rt.ip}:${rt.port} (pid ${rt.supervisor.pid ?? '?'})`);
    const tick = async (): Promise<void> => {
      if (rt.stopping) return;
      const ready = rt.supervisor?.running === true && (await portOpen(rt.ip, rt.port ?? 0, 150));
      if (ready !== rt.ready) {
        rt.ready = ready;
      }
      await writeStatus(rt).catch((err: unknown) => log(`${rt.key}: status: ${String(err)}`));
      if (!rt.stopping) rt.timer = setTimeout(() => void tick(), opts.readinessPeriodMs ?? READINESS_PERIOD_MS);
    };
    rt.timer = setTimeout(() => void tick(), 0);
    // kube-proxy stand-in for proxies: a Service name was resolved to an endpoint address; when
    // the endpoint changes (failover), re-render and restart the proxy on the new address.
    const template0 = filled;
    if ((kind === 'twemproxy' || kind === 'haproxy') && template0 !== undefined && dnsNamesIn(template0).some((d) => d.name.kind === 'service')) {
      let current = config;
      const refresh = async (): Promise<void> => {
        if (rt.stopping) return;
        try {
          const r = await resolveDnsNames(template0, (n) => resolveName(n));
          if (r.unresolved.length === 0 && r.text !== current && !rt.stopping) {
            current = r.text;
            rt.supervisor?.replace(specFor(r.text));
            log(`${rt.key}: endpoints changed, ${kind} restarted with the new addresses`);
          }
        } catch (err) {
          log(`${rt.key}: endpoint refresh: ${String(err)}`);
        }
        if (!rt.stopping) rt.refreshTimer = setTimeout(() => void refresh(), ENDPOINT_REFRESH_MS);
      };
      rt.refreshTimer = setTimeout(() => void refresh(), ENDPOINT_REFRESH_MS);
    }
  }

  async function resolveName(n: DnsName): Promise<string | undefined> {
    if (n.kind === 'pod') return network.addressOf(n.namespace, n.pod);
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: n.namespace,
      labelSelector: `kubernetes.io/service-name=${n.service}`,
    });
    // The lowest ready address: stable while the endpoints are, so a refresh does not flap.
    const ready = slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses));
    return ready.sort()[0];
  }

  async function envSecret(pod: k8s.V1Pod, envName: string): Promise<string | undefined> {
    const e = pod.spec?.containers[0]?.env?.find((x) => x.name === envName);
    if (e?.value !== undefined) return e.value;
    const ref = e?.valueFrom?.secretKeyRef;
    if (ref?.name === undefined) return undefined;
    return await secretValue(pod.metadata?.namespace ?? 'default', ref.name, ref.key);
  }

  async function secretValue(namespace: string, name: string, key: string): Promise<string | undefined> {
    const s = await core.readNamespacedSecret({ namespace, name });
    const b64 = s.data?.[key];
    return b64 === undefined ? s.stringData?.[key] : Buffer.from(b64, 'base64').toString('utf8');
  }

  async function writeStatus(rt: PodRuntime): Promise<void> {
    if (stopped) return;
    const sup = rt.supervisor;
    const noProcess = rt.kind === undefined;
    const status = podStatus(
      {
        phase: rt.initialized ? 'Running' : 'Pending',
        ...(rt.initialized ? { podIP: rt.ip } : {}),
        hostIP: HOST_IP,
        startTime: rt.startTime,
        initialized: rt.initialized,
        ...(rt.initMessage !== undefined ? { initMessage: rt.initMessage } : {}),
        containerName: rt.containerName,
        ...(rt.initContainerName !== undefined ? { initContainerName: rt.initContainerName } : {}),
        image: rt.image,
        running: noProcess ? rt.initialized : sup?.running === true,
        ready: rt.ready,
        restartCount: sup?.restartCount ?? 0,
        ...(sup?.pid !== undefined ? { pid: sup.pid } : {}),
        ...(sup?.startedAtDate !== undefined ? { startedAt: sup.startedAtDate } : {}),
        ...(sup?.lastExit !== undefined ? { lastExit: sup.lastExit } : {}),
      },
      rt.transitions,
    );
    const json = JSON.stringify(status);
    if (json === rt.lastWritten) return;
    for (let attempt = 0; attempt < 5; attempt++) {
      let pod: k8s.V1Pod;
      try {
        pod = await core.readNamespacedPod({ namespace: rt.namespace, name: rt.name });
      } catch (err) {
        if (isCode(err, 404)) return;
        throw err;
      }
      if (pod.metadata?.uid !== rt.uid) return;
      pod.status = status;
      try {
        await core.replaceNamespacedPodStatus({ namespace: rt.namespace, name: rt.name, body: pod });
        rt.lastWritten = json;
        return;
      } catch (err) {
        if (isCode(err, 404)) return;
        if (!isCode(err, 409)) throw err;
      }
    }
  }

  async function teardown(rt: PodRuntime, graceMs: number): Promise<void> {
    rt.stopping = true;
    if (rt.timer !== undefined) clearTimeout(rt.timer);
    if (rt.refreshTimer !== undefined) clearTimeout(rt.refreshTimer);
    await rt.supervisor?.stop(Math.max(graceMs, 500));
    if (runtimes.get(rt.key) === rt) runtimes.delete(rt.key);
    log(`${rt.key}: stopped`);
    if (process.env['DBTOPO_KUBELET_DEBUG']) log(tailOf(path.join(rt.dir, 'engine.log')));
  }

  async function confirmDeletion(pod: k8s.V1Pod): Promise<void> {
    try {
      await core.deleteNamespacedPod({
        namespace: pod.metadata?.namespace ?? 'default',
        name: pod.metadata?.name ?? '',
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, ...(pod.metadata?.uid !== undefined ? { preconditions: { uid: pod.metadata.uid } } : {}) },
      });
    } catch (err) {
      if (!isCode(err, 404) && !isCode(err, 409)) throw err;
    }
  }

  const find = (podName: string): PodRuntime | undefined => {
    if (podName.includes('/')) return runtimes.get(podName);
    return [...runtimes.values()].find((r) => r.name === podName);
  };

  return {
    killProcess(podName: string, signal: NodeJS.Signals, o: { holdMs?: number; untilReleased?: boolean } = {}): void {
      const rt = find(podName);
      if (rt?.supervisor === undefined) throw new Error(`no running process for pod ${podName}`);
      if (o.untilReleased === true) rt.supervisor.hold();
      rt.supervisor.signal(signal, o.holdMs ?? 0);
    },
    releaseProcess(podName: string): void {
      const rt = find(podName);
      if (rt?.supervisor === undefined) throw new Error(`no process for pod ${podName}`);
      rt.supervisor.release();
    },
    killEngines(signal: NodeJS.Signals = 'SIGKILL'): string[] {
      enginesHeld = true;
      const hit: string[] = [];
      for (const rt of runtimes.values()) {
        if (rt.supervisor === undefined) continue;
        rt.supervisor.hold();
        if (rt.supervisor.running) hit.push(rt.key);
        rt.supervisor.signal(signal);
      }
      return hit.sort();
    },
    releaseEngines(): void {
      enginesHeld = false;
      for (const rt of runtimes.values()) rt.supervisor?.release();
    },
    podCidr: network.loopbackFallback ? '' : network.cidr,
    block: network.block,
    netns: network.netns,
    addressOf(podName: string): string {
      const rt = find(podName);
      if (rt !== undefined) return rt.ip;
      if (podName.includes('/')) {
        const [ns, name] = podName.split('/') as [string, string];
        return network.addressOf(ns, name);
      }
      throw new Error(`pod ${podName} is not known to this kubelet; pass namespace/name`);
    },
    engineLog(podName: string, lines = 20): string {
      const rt = find(podName);
      return rt === undefined ? `(pod ${podName} is not known to this kubelet)` : tailOf(path.join(rt.dir, 'engine.log'), lines);
    },
    async stop(): Promise<void> {
      stopped = true;
      await informer.stop().catch(() => undefined);
      await Promise.allSettled([...syncing.values()]);
      await Promise.all([...runtimes.values()].map((rt) => teardown(rt, 2_000)));
      network.downAll();
      process.off('exit', exitHook);
      fs.rmSync(opts.workDir, { recursive: true, force: true });
    },
  };
}

async function registerNode(core: k8s.CoreV1Api, name: string): Promise<void> {
  const status: k8s.V1NodeStatus = {
    capacity: { cpu: '64', memory: '256Gi', pods: '500', 'ephemeral-storage': '1Ti' },
    allocatable: { cpu: '64', memory: '256Gi', pods: '500', 'ephemeral-storage': '1Ti' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'dbtopo test kubelet', lastHeartbeatTime: new Date(), lastTransitionTime: new Date() }],
    addresses: [
      { type: 'InternalIP', address: HOST_IP },
      { type: 'Hostname', address: name },
    ],
    nodeInfo: {
      architecture: 'amd64',
      bootID: '',
      containerRuntimeVersion: 'dbtopo-test://0',
      kernelVersion: '',
      kubeProxyVersion: '',
      kubeletVersion: 'v0.0.0-dbtopo-test',
      machineID: '',
      operatingSystem: 'linux',
      osImage: 'dbtopo test kubelet',
      systemUUID: '',
    },
  };
  let node: k8s.V1Node;
  try {
    node = await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } } } });
  } catch (err) {
    if (!isCode(err, 409)) throw err;
    node = await core.readNode({ name });
  }
  node.status = status;
  await core.replaceNodeStatus({ name, body: node });
}

function tailOf(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

function isCode(err: unknown, code: number): boolean {
  return err instanceof k8s.ApiException && err.code === code;
}

function hash(s: string): number {
  let h = 0;
  for (const ch of s) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h;
}
