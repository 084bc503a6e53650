// A real Kubernetes node for a test control plane: containerd + runc (Debian's packages) serving
// CRI, the CNI bridge + host-local plugins, and kubelet, kube-proxy and kube-scheduler built from
// the same k8s.io/kubernetes version as the API server (test/cluster/build-k8s.sh node). Pods run
// unmodified from images imported into the node's containerd (test/node/build-images.sh); nothing
// is pulled. The test kubelet (test/kubelet/) stands in for all of this in the fast suites;
// docs/test-kubelet.md says which suite proves what.
//
// What it changes on the machine, and undoes on stop() and on the next start after a killed run
// (cleanupNode): one bridge `dbtnode<n>` holding 10.88.<n>.1/24 (the node's address, reachable by
// the API server for exec and logs; pods get 10.88.<n>.2-254 from host-local); the `cni-*` network
// namespaces of its pods; the iptables chains the kubelet and kube-proxy create (KUBE-*) and this
// harness's DBTOPO-NODE-FWD in FORWARD, which accepts only pod-to-pod traffic on the bridge and
// drops every other forwarded packet (ip_forward is on while the node runs, for Services: a pod
// reaching a ClusterIP is DNATed to another pod and routed back out of the bridge); the sysctls
// the kubelet insists on (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops, ...), restored
// from a file written before the first change; the cgroups /sys/fs/cgroup/<controller>/dbtopo-node-<n>;
// mounts under the node directory /tmp/dbtopo-node-<n>; containerd shims and container processes.
// Pods have no default route: only the pod network and the Service range 10.0.0.0/24 are routed.
// Only one real node per machine (the KUBE-* chains are global): <n> is a machine-wide claim.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePorts, get, isAlive, killGroup, spawnLogged, tail, waitFor, type ControlPlane } from '../cluster/launcher.js';
import { alive, claimNumber, releaseNumber } from '../kubelet/claims.js';
import { nodeScript } from './parts.js';

/** The images test/node/build-images.sh builds; the sandbox image is containerd's `sandbox_image`. */
export const PAUSE_IMAGE = 'dbtopo.local/pause:1';
export const BUSYBOX_IMAGE = 'dbtopo.local/busybox:1';
/** The engine images (Redis + Sentinel, MariaDB, twemproxy, HAProxy), relative to the image dir. */
export const ENGINE_IMAGE_ARCHIVE = 'engines/engines.tar';
/** Every test control plane's Service range (launcher.ts), routed from pods via the bridge. */
const SERVICE_CIDR = '10.0.0.0/24';
const FORWARD_CHAIN = 'DBTOPO-NODE-FWD';
const CNI_BIN_DIR = '/usr/lib/cni';

/** Sysctls the kubelet sets when they differ (setupKernelTunables) and ip_forward (Services). */
const SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
  'net/ipv4/ip_forward',
] as const;

export interface RealNodeOptions {
  controlPlane: ControlPlane;
  /** Directory with kubelet, kube-proxy, kube-scheduler (build-k8s.sh node). */
  binDir: string;
  /** Directory with pause.tar and busybox.tar (build-images.sh); every *.tar in it is imported. */
  imageDir: string;
  /** Extra OCI archives to import. */
  images?: readonly string[];
  /** Upper bound for the whole start; default 120 s. */
  startTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface RealNode {
  name: string;
  /** The node's address (the bridge's): kubelet, exec and logs are reached here. */
  ip: string;
  podCidr: string;
  dir: string;
  logDir: string;
  startSeconds: number;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sh(cmd: string, args: readonly string[], timeoutMs = 30_000): string {
  return execFileSync(cmd, [...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

function trySh(cmd: string, args: readonly string[], timeoutMs = 30_000): string | undefined {
  try {
    return sh(cmd, args, timeoutMs);
  } catch {
    return undefined;
  }
}

interface Layout {
  n: number;
  name: string;
  dir: string;
  bridge: string;
  ip: string;
  podCidr: string;
  cgroup: string;
  sysctlFile: string;
  socket: string;
}

function layout(n: number): Layout {
  return {
    n,
    name: `dbtopo-node-${n}`,
    dir: `/tmp/dbtopo-node-${n}`,
    bridge: `dbtnode${n}`,
    ip: `10.88.${n}.1`,
    podCidr: `10.88.${n}.0/24`,
    cgroup: `dbtopo-node-${n}`,
    sysctlFile: `/tmp/dbtopo-node-${n}.sysctl`,
    socket: `/tmp/dbtopo-node-${n}/containerd.sock`,
  };
}

function cgroupControllers(): string[] {
  // v1 hierarchies (real directories; `cpu` may be a symlink to `cpu,cpuacct`), not the v2 `unified`
  return fs
    .readdirSync('/sys/fs/cgroup')
    .filter((c) => c !== 'unified' && fs.lstatSync(path.join('/sys/fs/cgroup', c)).isDirectory());
}

/** Processes whose command line mentions `needle` (containerd shims name their containerd's socket). */
function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) out.push(Number(p));
    } catch {
      // exited
    }
  }
  return out;
}

function mountsUnder(dir: string): string[] {
  const mounts = fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .map((m) => m.replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
  return [...new Set(mounts)].sort((a, b) => b.length - a.length);
}

const CLEANUP_SCRIPT = nodeScript('cleanup-node.sh');

/**
 * Removes everything a node with claim <n> left on the machine (test/node/cleanup-node.sh, which
 * the watchdog also runs when the owner dies): called before start (a killed run) and by stop().
 */
export function cleanupNode(n: number): void {
  sh('bash', [CLEANUP_SCRIPT, String(n)], 120_000);
}

function saveSysctls(l: Layout): void {
  if (fs.existsSync(l.sysctlFile)) return; // a killed run's file holds the values from before it
  // key=value lines, which cleanup-node.sh writes back
  fs.writeFileSync(l.sysctlFile, SYSCTLS.map((k) => `${k}=${fs.readFileSync(`/proc/sys/${k}`, 'utf8').trim()}\n`).join(''));
}

function issueNodeCert(cp: ControlPlane, dir: string, user: string): { cert: string; key: string } {
  const ca = cp.caCertPath;
  const caKey = path.join(path.dirname(ca), 'ca.key');
  const key = path.join(dir, 'kubelet-client.key');
  const csr = path.join(dir, 'kubelet-client.csr');
  const cert = path.join(dir, 'kubelet-client.crt');
  const ext = path.join(dir, 'client.ext');
  fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  sh('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/O=system:nodes/CN=${user}`]);
  sh('openssl', ['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-CAserial', path.join(dir, 'ca.srl'), '-days', '2', '-sha256', '-extfile', ext, '-out', cert]);
  return { cert, key };
}

function kubeconfig(cp: ControlPlane, cert: string, key: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cp.name}`,
    `  cluster: {server: "${cp.server}", certificate-authority: "${cp.caCertPath}"}`,
    'users:',
    `- name: node`,
    `  user: {client-certificate: "${cert}", client-key: "${key}"}`,
    'contexts:',
    `- name: ${cp.name}`,
    `  context: {cluster: ${cp.name}, user: node}`,
    `current-context: ${cp.name}`,
    '',
  ].join('\n');
}

/** The port on the node's address that relays to the API server (the `kubernetes` Service's endpoint). */
const API_RELAY_PORT = 6443;

/** The relay, run as `node -e <this> <listen ip> <listen port> <API server port on 127.0.0.1>`. */
const API_RELAY_SOURCE = `
const net = require('node:net');
const [host, port, target] = process.argv.slice(1);
net.createServer((down) => {
  const up = net.connect(Number(target), '127.0.0.1');
  const close = () => { down.destroy(); up.destroy(); };
  down.on('error', close);
  up.on('error', close);
  down.pipe(up).pipe(down);
}).listen(Number(port), host, () => console.log('relaying ' + host + ':' + port + ' to 127.0.0.1:' + target));
`;

async function publishApiEndpoint(cp: ControlPlane, tls: { ca: Buffer; cert: Buffer; key: Buffer }, ip: string): Promise<void> {
  const send = async (method: 'PUT' | 'POST', url: string, body: unknown): Promise<number> => {
    const https = await import('node:https');
    return await new Promise<number>((resolve, reject) => {
      const req = https.request(`${cp.server}${url}`, { method, ...tls, headers: { 'content-type': 'application/json' }, timeout: 5_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  };
  const endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' }, subsets: [{ addresses: [{ ip }], ports: [{ name: 'https', port: API_RELAY_PORT, protocol: 'TCP' }] }] };
  const slice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'dbtopo-test-node' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ip], conditions: { ready: true } }],
    ports: [{ name: 'https', port: API_RELAY_PORT, protocol: 'TCP' }],
  };
  for (const [url, list, body] of [
    ['/api/v1/namespaces/default/endpoints', '/api/v1/namespaces/default/endpoints/kubernetes', endpoints],
    ['/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes', slice],
  ] as const) {
    const created = await send('POST', url, body);
    if (created === 409) {
      const replaced = await send('PUT', list, body);
      if (replaced >= 300) throw new Error(`could not publish the kubernetes endpoint at ${list}: HTTP ${replaced}`);
    } else if (created >= 300) throw new Error(`could not publish the kubernetes endpoint at ${url}: HTTP ${created}`);
  }
}

export async function startRealNode(opts: RealNodeOptions): Promise<RealNode> {
  const t0 = performance.now();
  const log = opts.log ?? ((): void => {});
  const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
  // One per machine: the KUBE-* iptables chains the kubelet and kube-proxy make are global.
  const n = claimNumber('realnode', 1, 1);
  const l = layout(n);
  cleanupNode(n); // what a killed run left
  // The watchdog: when this process dies without stop() (SIGKILL, a crashed worker), it cleans up.
  const watchdog = spawn('bash', [CLEANUP_SCRIPT, String(n), '--after-pid', String(process.pid)], { detached: true, stdio: 'ignore' });
  watchdog.on('error', () => {});
  watchdog.unref();
  const pids: number[] = [];
  const children: ChildProcess[] = [];
  const cp = opts.controlPlane;
  const logDir = path.join(l.dir, 'logs');
  const started = (c: ChildProcess, what: string): number => {
    if (c.pid === undefined) throw new Error(`could not start ${what}`);
    children.push(c);
    pids.push(c.pid);
    fs.appendFileSync(path.join(l.dir, 'pids'), `${c.pid}\n`);
    return c.pid;
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (watchdog.pid !== undefined) killGroup(watchdog.pid, 'SIGKILL');
      for (const pid of [...pids].reverse()) killGroup(pid, 'SIGTERM');
      for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(50);
      cleanupNode(n);
      releaseNumber('realnode', n);
    })();
    return stopped;
  };
  try {
    fs.mkdirSync(logDir, { recursive: true });
    // --- machine state: sysctls (saved first), bridge, forwarding rules, cgroups
    saveSysctls(l);
    fs.writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    sh('ip', ['link', 'add', l.bridge, 'type', 'bridge']);
    sh('ip', ['addr', 'add', `${l.ip}/24`, 'dev', l.bridge]);
    sh('ip', ['link', 'set', l.bridge, 'up']);
    sh('iptables', ['-N', FORWARD_CHAIN]);
    sh('iptables', ['-A', FORWARD_CHAIN, '-i', l.bridge, '-o', l.bridge, '-s', l.podCidr, '-d', l.podCidr, '-j', 'ACCEPT']);
    sh('iptables', ['-A', FORWARD_CHAIN, '-j', 'DROP']);
    sh('iptables', ['-I', 'FORWARD', '1', '-j', FORWARD_CHAIN]);
    for (const c of cgroupControllers()) fs.mkdirSync(path.join('/sys/fs/cgroup', c, l.cgroup), { recursive: true });

    // --- containerd
    const cniConf = path.join(l.dir, 'cni', 'net.d');
    fs.mkdirSync(cniConf, { recursive: true });
    fs.writeFileSync(
      path.join(cniConf, '10-dbtopo-node.conflist'),
      JSON.stringify(
        {
          cniVersion: '1.0.0',
          name: l.name,
          plugins: [
            {
              type: 'bridge',
              bridge: l.bridge,
              isGateway: true, // the bridge holds the gateway address; no default route (below)
              ipMasq: false,
              hairpinMode: true,
              ipam: {
                type: 'host-local',
                ranges: [[{ subnet: l.podCidr, gateway: l.ip }]],
                routes: [{ dst: SERVICE_CIDR }],
                dataDir: path.join(l.dir, 'cni', 'ipam'),
              },
            },
            { type: 'portmap', capabilities: { portMappings: true } },
          ],
        },
        null,
        2,
      ),
    );
    const ctrdConfig = path.join(l.dir, 'containerd.toml');
    fs.writeFileSync(
      ctrdConfig,
      [
        'version = 2',
        `root = "${l.dir}/containerd/root"`,
        `state = "${l.dir}/containerd/state"`,
        'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
        '[grpc]',
        `  address = "${l.socket}"`,
        '[ttrpc]',
        `  address = "${l.socket}.ttrpc"`,
        '[debug]',
        `  address = "${l.dir}/containerd-debug.sock"`,
        '[plugins."io.containerd.internal.v1.opt"]',
        `  path = "${l.dir}/containerd/opt"`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        // The sandbox has no CAP_SYS_RESOURCE: runc cannot lower oom_score_adj, and without this
        // every pod sandbox fails with "can't get final child's PID from pipe".
        '  restrict_oom_score_adj = true',
        '  disable_apparmor = true',
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        `        Root = "${l.dir}/runc"`,
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        `    bin_dir = "${CNI_BIN_DIR}"`,
        `    conf_dir = "${cniConf}"`,
        '    max_conf_num = 1',
        '',
      ].join('\n'),
    );
    const ctrdLog = path.join(logDir, 'containerd.log');
    const ctrd = started(spawnLogged('containerd', ['--config', ctrdConfig, '--log-level', 'warn'], ctrdLog), 'containerd');
    await waitFor('containerd', deadline, ctrd, ctrdLog, async () => trySh('ctr', ['--address', l.socket, 'version'], 5_000) !== undefined);
    const archives = [
      ...fs.readdirSync(opts.imageDir).filter((f) => f.endsWith('.tar')).map((f) => path.join(opts.imageDir, f)),
      ...(opts.images ?? []),
    ];
    for (const a of archives) sh('ctr', ['--address', l.socket, '-n', 'k8s.io', 'images', 'import', '--no-unpack', a], 60_000);
    log(`[${l.name}] containerd up, ${archives.length} images imported (${((performance.now() - t0) / 1000).toFixed(1)}s)`);

    // --- kubelet
    const kubeletDir = path.join(l.dir, 'kubelet');
    fs.mkdirSync(kubeletDir, { recursive: true });
    const identity = issueNodeCert(cp, l.dir, `system:node:${l.name}`);
    const nodeKubeconfig = path.join(l.dir, 'kubeconfig-kubelet');
    fs.writeFileSync(nodeKubeconfig, kubeconfig(cp, identity.cert, identity.key), { mode: 0o600 });
    const [kubeletPort, healthzPort, schedPort, proxyHealthz, proxyMetrics] = (await freePorts(5)) as [number, number, number, number, number];
    const kubeletConfig = path.join(l.dir, 'kubelet.yaml');
    fs.writeFileSync(
      kubeletConfig,
      [
        'apiVersion: kubelet.config.k8s.io/v1beta1',
        'kind: KubeletConfiguration',
        'failCgroupV1: false', // this machine has cgroup v1 only
        'cgroupDriver: cgroupfs',
        `cgroupRoot: /${l.cgroup}`,
        `address: ${l.ip}`,
        `port: ${kubeletPort}`,
        'readOnlyPort: 0',
        'healthzBindAddress: 127.0.0.1',
        `healthzPort: ${healthzPort}`,
        'authentication:',
        '  anonymous: {enabled: false}',
        '  webhook: {enabled: false}',
        `  x509: {clientCAFile: "${cp.caCertPath}"}`,
        'authorization: {mode: AlwaysAllow}',
        `containerRuntimeEndpoint: unix://${l.socket}`,
        'failSwapOn: false',
        'resolvConf: ""', // pods never get this machine's resolver
        'clusterDomain: cluster.local',
        'clusterDNS: [10.0.0.10]',
        `podLogsDir: ${l.dir}/pod-logs`,
        `volumePluginDir: ${l.dir}/volume-plugins`,
        'evictionHard: {memory.available: "200Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}',
        'imageGCHighThresholdPercent: 100',
        'imageGCLowThresholdPercent: 99',
        'serializeImagePulls: false',
        'nodeStatusUpdateFrequency: 4s',
        'syncFrequency: 10s',
        'fileCheckFrequency: 10s',
        'registerNode: true',
        '',
      ].join('\n'),
    );
    const kubeletLog = path.join(logDir, 'kubelet.log');
    const kubelet = started(
      spawnLogged(
        path.join(opts.binDir, 'kubelet'),
        [
          `--config=${kubeletConfig}`,
          `--kubeconfig=${nodeKubeconfig}`,
          `--root-dir=${kubeletDir}`,
          `--cert-dir=${path.join(kubeletDir, 'pki')}`,
          `--hostname-override=${l.name}`,
          `--node-ip=${l.ip}`,
          '--v=1',
        ],
        kubeletLog,
      ),
      'kubelet',
    );
    // --- kube-scheduler and kube-proxy (the admin identity; their RBAC roles are not the point here)
    const schedLog = path.join(logDir, 'kube-scheduler.log');
    started(
      spawnLogged(
        path.join(opts.binDir, 'kube-scheduler'),
        [
          `--kubeconfig=${cp.kubeconfigPath}`,
          `--authentication-kubeconfig=${cp.kubeconfigPath}`,
          `--authorization-kubeconfig=${cp.kubeconfigPath}`,
          '--leader-elect=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${schedPort}`,
          `--cert-dir=${path.join(l.dir, 'scheduler-pki')}`,
          '--v=1',
        ],
        schedLog,
      ),
      'kube-scheduler',
    );
    const proxyConfig = path.join(l.dir, 'kube-proxy.yaml');
    fs.writeFileSync(
      proxyConfig,
      [
        'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
        'kind: KubeProxyConfiguration',
        `clientConnection: {kubeconfig: "${cp.kubeconfigPath}"}`,
        'mode: iptables',
        `clusterCIDR: ${l.podCidr}`,
        `hostnameOverride: ${l.name}`,
        `healthzBindAddress: 127.0.0.1:${proxyHealthz}`,
        `metricsBindAddress: 127.0.0.1:${proxyMetrics}`,
        `nodePortAddresses: ["${l.ip}/32"]`,
        // localhostNodePorts would set net.ipv4.conf.all.route_localnet; conntrack 0s leave the
        // machine's conntrack sysctls alone.
        'iptables: {localhostNodePorts: false, masqueradeAll: false, syncPeriod: 5s, minSyncPeriod: 0s}',
        'conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}',
        '',
      ].join('\n'),
    );
    const proxyLog = path.join(logDir, 'kube-proxy.log');
    started(spawnLogged(path.join(opts.binDir, 'kube-proxy'), [`--config=${proxyConfig}`, '--v=1'], proxyLog), 'kube-proxy');

    const tls = { ca: fs.readFileSync(cp.caCertPath), cert: fs.readFileSync(cp.adminCertPath), key: fs.readFileSync(cp.adminKeyPath) };
    await waitFor(`kubelet (node ${l.name} Ready)`, deadline, kubelet, kubeletLog, async () => {
      const r = await get(`${cp.server}/api/v1/nodes/${l.name}`, tls);
      if (r.status !== 200) return false;
      const node = JSON.parse(r.body) as { status?: { conditions?: { type: string; status: string }[] } };
      return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
    });
    // --- the `kubernetes` Service for pods: the API server listens on 127.0.0.1 only, so the node
    // relays its address's port 6443 there and publishes that as the Service's endpoint (the
    // control plane runs with --endpoint-reconciler-type=none). The serving certificate names
    // 10.0.0.1, the ClusterIP pods dial. The relay is a process of its own: in the test's
    // process, a test's execFileSync (`dbtopo switchover` waiting for its result) stopped it, the
    // controller pods' Lease renewals stalled, and leadership went back and forth.
    const relayLog = path.join(logDir, 'api-relay.log');
    const relay = started(spawnLogged(process.execPath, ['-e', API_RELAY_SOURCE, l.ip, String(API_RELAY_PORT), String(cp.ports.apiserver)], relayLog), 'the API relay');
    await waitFor('the API relay', deadline, relay, relayLog, async () =>
      new Promise<boolean>((resolve) => {
        const c = net.connect(API_RELAY_PORT, l.ip, () => {
          c.destroy();
          resolve(true);
        });
        c.on('error', () => resolve(false));
      }),
    );
    await publishApiEndpoint(cp, tls, l.ip);
    const startSeconds = (performance.now() - t0) / 1000;
    log(`[${l.name}] node Ready at ${l.ip} (${startSeconds.toFixed(1)}s)`);
    return { name: l.name, ip: l.ip, podCidr: l.podCidr, dir: l.dir, logDir, startSeconds, stop };
  } catch (err) {
    const logs = fs.existsSync(logDir) ? fs.readdirSync(logDir).map((f) => `--- ${f}\n${tail(path.join(logDir, f), 15)}`).join('\n') : '';
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }
}

/** Whether a process from a previous node run is still alive (for tests of the cleanup). */
export function nodeLeftovers(n = 1): string[] {
  const l = layout(n);
  const found: string[] = [];
  if (pidsMentioning(l.socket).some((p) => alive(p))) found.push('containerd shims');
  if (trySh('ip', ['link', 'show', l.bridge]) !== undefined) found.push(`bridge ${l.bridge}`);
  if (/KUBE-|DBTOPO-NODE-/.test(trySh('iptables-save', []) ?? '')) found.push('iptables chains');
  if (fs.existsSync(l.dir)) found.push(l.dir);
  if (mountsUnder(l.dir).length > 0) found.push('mounts');
  if (cgroupControllers().some((c) => fs.existsSync(path.join('/sys/fs/cgroup', c, l.cgroup)))) found.push('cgroups');
  if (fs.existsSync(l.sysctlFile)) found.push('saved sysctls');
  if ((trySh('ip', ['netns', 'list']) ?? '').split('\n').some((x) => x.startsWith('cni-'))) found.push('cni netns');
  return found;
}
