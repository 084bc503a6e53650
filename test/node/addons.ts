// The real node's cluster add-ons, run as host processes next to the node (node.ts), from the
// binaries test/node/build-addons.sh builds:
//   startDns        CoreDNS (a minimal build: no forward plugin) serving cluster.local from the API
//                   server, plus clusterset.local (NXDOMAIN for now, the zone federation will fill),
//                   on the node's address and a free port; a selector-less Service kube-system/kube-dns
//                   at 10.0.0.10 (the kubelet's clusterDNS) with a hand-written EndpointSlice pointing
//                   at that address, so kube-proxy DNATs pods' 10.0.0.10:53 to the host process.
//                   Names outside those zones get REFUSED at once: pods resolve nothing outside.
//   startLocalPath  rancher's local-path provisioner (provisioner dbtopo.dev/local-path) and the
//                   default StorageClass `local-path` (WaitForFirstConsumer, Delete): a claim becomes
//                   a directory under <node dir>/local-path, made and removed by helper pods
//                   (dbtopo.local/busybox:1, root, hostPath) in the privileged namespace
//                   local-path-storage.
// Both append their pid to <node dir>/pids, so cleanup-node.sh (stop(), the watchdog, the next
// start) kills them with the node when a run is killed. Their API objects live and die with the
// control plane; stop() stops only the process.
import { execFileSync } from 'node:child_process';
import * as dns from 'node:dns';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePorts, isAlive, killGroup, spawnLogged, waitFor, type ControlPlane } from '../cluster/launcher.js';
import { BUSYBOX_IMAGE, type RealNode } from './node.js';

/** The kubelet's clusterDNS (node.ts) and clusterDomain. */
export const CLUSTER_DNS_IP = '10.0.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';
/** The multi-cluster Services zone (KEP-1645); answered NXDOMAIN until federation serves it. */
export const CLUSTERSET_DOMAIN = 'clusterset.local';
export const LOCAL_PATH_PROVISIONER = 'dbtopo.dev/local-path';
export const LOCAL_PATH_STORAGE_CLASS = 'local-path';
export const LOCAL_PATH_NAMESPACE = 'local-path-storage';

export interface AddonOptions {
  controlPlane: ControlPlane;
  node: RealNode;
  /** Directory with coredns and local-path-provisioner (build-addons.sh; NodeParts.addonDir). */
  addonDir: string;
  /** Upper bound for the start; default 60 s. */
  startTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface Addon {
  pid: number;
  /** The process's log file (under the node's log directory). */
  logFile: string;
  stop(): Promise<void>;
}

export interface Dns extends Addon {
  /** Where CoreDNS itself listens (UDP and TCP): the node's address and this port. */
  ip: string;
  port: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function createOrKeep(what: string, create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 409) return; // a restart on the same control plane
    throw new Error(`creating ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function clients(cp: ControlPlane): { core: k8s.CoreV1Api; discovery: k8s.DiscoveryV1Api; storage: k8s.StorageV1Api } {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  return { core: kc.makeApiClient(k8s.CoreV1Api), discovery: kc.makeApiClient(k8s.DiscoveryV1Api), storage: kc.makeApiClient(k8s.StorageV1Api) };
}

/** Starts a host process in its own process group, recorded in <node dir>/pids for cleanup-node.sh. */
function startProcess(node: RealNode, bin: string, args: readonly string[], logName: string): Addon {
  const logFile = path.join(node.logDir, logName);
  const child = spawnLogged(bin, args, logFile);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${bin}`);
  fs.appendFileSync(path.join(node.dir, 'pids'), `${pid}\n`);
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      killGroup(pid, 'SIGTERM');
      for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
      if (isAlive(pid)) killGroup(pid, 'SIGKILL');
    })();
    return stopped;
  };
  return { pid, logFile, stop };
}

async function healthy(url: string): Promise<boolean> {
  const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return r.status === 200;
}

/** One A lookup against `server` (ip:port), bounded: one try, `timeoutMs`. */
export async function lookupA(server: string, name: string, timeoutMs = 1_000): Promise<string[]> {
  const resolver = new dns.promises.Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([server]);
  return resolver.resolve4(name);
}

export async function startDns(opts: AddonOptions): Promise<Dns> {
  const t0 = performance.now();
  const { controlPlane: cp, node } = opts;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  const [port, healthPort, readyPort] = (await freePorts(3)) as [number, number, number];
  const corefile = path.join(node.dir, 'Corefile');
  fs.writeFileSync(
    corefile,
    [
      `${CLUSTER_DOMAIN}:${port} {`,
      `  bind ${node.ip}`,
      '  errors',
      '  log . {',
      '    class denial error',
      '  }',
      `  health 127.0.0.1:${healthPort}`,
      `  ready 127.0.0.1:${readyPort}`,
      `  kubernetes ${CLUSTER_DOMAIN} {`,
      `    kubeconfig ${cp.kubeconfigPath}`,
      '    pods insecure',
      '    ttl 5',
      '  }',
      '  cache 5',
      '  loop',
      '}',
      `${CLUSTERSET_DOMAIN}:${port} {`,
      `  bind ${node.ip}`,
      '  errors',
      `  template ANY ANY ${CLUSTERSET_DOMAIN} {`,
      '    rcode NXDOMAIN',
      `    authority "${CLUSTERSET_DOMAIN}. 5 IN SOA ns.dns.${CLUSTERSET_DOMAIN}. hostmaster.${CLUSTERSET_DOMAIN}. 1 7200 1800 86400 5"`,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const proc = startProcess(node, path.join(opts.addonDir, 'coredns'), ['-conf', corefile], 'coredns.log');
  try {
    await waitFor('coredns (ready)', deadline, proc.pid, proc.logFile, () => healthy(`http://127.0.0.1:${readyPort}/ready`));
    const server = `${node.ip}:${port}`;
    await waitFor('coredns (answers kubernetes.default)', deadline, proc.pid, proc.logFile, async () =>
      (await lookupA(server, `kubernetes.default.svc.${CLUSTER_DOMAIN}`)).length > 0,
    );
    const { core, discovery } = clients(cp);
    await createOrKeep('Service kube-system/kube-dns', () =>
      core.createNamespacedService({
        namespace: 'kube-system',
        body: {
          metadata: { name: 'kube-dns', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
          spec: {
            clusterIP: CLUSTER_DNS_IP,
            ports: [
              { name: 'dns', port: 53, protocol: 'UDP', targetPort: port },
              { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: port },
            ],
          },
        },
      }),
    );
    // No selector: the EndpointSlice is ours (another managed-by than the endpointslice controller's).
    const slice: k8s.V1EndpointSlice = {
      metadata: {
        name: 'kube-dns-host',
        labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'dbtopo-node-addons' },
      },
      addressType: 'IPv4',
      ports: [
        { name: 'dns', port, protocol: 'UDP' },
        { name: 'dns-tcp', port, protocol: 'TCP' },
      ],
      endpoints: [{ addresses: [node.ip], conditions: { ready: true }, nodeName: node.name }],
    };
    try {
      await discovery.createNamespacedEndpointSlice({ namespace: 'kube-system', body: slice });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
      // a restarted CoreDNS listens on another port
      await discovery.replaceNamespacedEndpointSlice({ namespace: 'kube-system', name: 'kube-dns-host', body: slice });
    }
    // kube-proxy's DNAT for both ports: only then can a pod's first query reach CoreDNS. (Read
    // from iptables rather than by querying 10.0.0.10 from here, which needs a route out of the host.)
    await waitFor('kube-proxy rules for kube-dns', deadline, proc.pid, proc.logFile, async () => {
      const nat = execFileSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8', timeout: 10_000 });
      const lines = nat.split('\n');
      return ['dns', 'dns-tcp'].every((p) => lines.some((l) => l.includes(`"kube-system/kube-dns:${p} cluster IP"`) && l.includes('-j KUBE-SVC-')));
    });
    opts.log?.(`[${node.name}] CoreDNS at ${server}, Service ${CLUSTER_DNS_IP}:53 (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
    return { ...proc, ip: node.ip, port };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

const HELPER_POD = `apiVersion: v1
kind: Pod
metadata:
  name: helper-pod
spec:
  containers:
  - name: helper-pod
    image: ${BUSYBOX_IMAGE}
    imagePullPolicy: Never
`;

export async function startLocalPath(opts: AddonOptions): Promise<Addon> {
  const t0 = performance.now();
  const { controlPlane: cp, node } = opts;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  const { core, storage } = clients(cp);
  const ns = LOCAL_PATH_NAMESPACE;
  const serviceAccount = 'local-path-provisioner-service-account';
  const volumes = path.join(node.dir, 'local-path');
  fs.mkdirSync(volumes, { recursive: true });
  await createOrKeep(`Namespace ${ns}`, () =>
    core.createNamespace({
      // the helper pods run as root with a hostPath volume
      body: { metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } } },
    }),
  );
  await createOrKeep(`ServiceAccount ${ns}/${serviceAccount}`, () =>
    core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: serviceAccount } } }),
  );
  await createOrKeep(`ConfigMap ${ns}/local-path-config`, () =>
    core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: 'local-path-config' },
        data: {
          'config.json': JSON.stringify({ nodePathMap: [{ node: 'DEFAULT_PATH_FOR_NON_LISTED_NODES', paths: [volumes] }] }, null, 2),
          // busybox's sh, mkdir and rm (its wget segfaults; nothing here needs it)
          setup: '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n',
          teardown: '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n',
          'helperPod.yaml': HELPER_POD,
        },
      },
    }),
  );
  await createOrKeep(`StorageClass ${LOCAL_PATH_STORAGE_CLASS}`, () =>
    storage.createStorageClass({
      body: {
        metadata: { name: LOCAL_PATH_STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: LOCAL_PATH_PROVISIONER,
        volumeBindingMode: 'WaitForFirstConsumer',
        reclaimPolicy: 'Delete',
      },
    }),
  );
  const [healthPort] = (await freePorts(1)) as [number];
  const proc = startProcess(
    node,
    path.join(opts.addonDir, 'local-path-provisioner'),
    [
      '--debug',
      'start',
      `--kubeconfig=${cp.kubeconfigPath}`,
      `--namespace=${ns}`,
      '--configmap-name=local-path-config',
      `--provisioner-name=${LOCAL_PATH_PROVISIONER}`,
      `--helper-image=${BUSYBOX_IMAGE}`,
      `--service-account-name=${serviceAccount}`,
      `--health-port=${healthPort}`,
    ],
    'local-path-provisioner.log',
  );
  try {
    await waitFor('local-path-provisioner (ready)', deadline, proc.pid, proc.logFile, () => healthy(`http://127.0.0.1:${healthPort}/ready`));
    opts.log?.(`[${node.name}] local-path provisioner, default StorageClass ${LOCAL_PATH_STORAGE_CLASS} -> ${volumes} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
    return proc;
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
