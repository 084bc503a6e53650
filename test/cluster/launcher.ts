// A real Kubernetes control plane for tests: etcd + kube-apiserver + kube-controller-manager,
// started as local processes on free 127.0.0.1 ports, with a throwaway PKI and a kubeconfig
// for an admin user in `system:masters`.
//
// Used by the vitest globalSetup (test/cluster/global-setup.ts) and, for humans, as a CLI:
//   node test/cluster/launcher.ts up [name...]   (npm run cluster:up)   start and detach
//   node test/cluster/launcher.ts down           (npm run cluster:down) stop what `up` started
//   node test/cluster/launcher.ts status
//
// This file only uses Node built-ins and erasable TypeScript so Node >= 22.18 runs it directly.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const;

/** The test kubelet's user name (its client certificate, in every control plane's PKI). */
export const TEST_NODE_USER = 'system:node:dbtopo-test-kubelet';
/** Next to a control plane's kubeconfig: the same cluster, as the test kubelet (TEST_NODE_USER). */
export const NODE_KUBECONFIG = 'kubeconfig-node';

/** The API server's audit log, in a control plane's log directory. */
export const AUDIT_LOG = 'audit.log';
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete]
    resources:
      - group: dbtopo.dev
      - group: ""
        resources: [pods, persistentvolumeclaims, namespaces]
  - level: None
`;

/** Controllers kube-controller-manager runs (1.34 names; no scheduler and no kubelet: pods stay Pending). */
export const DEFAULT_CONTROLLERS: readonly string[] = [
  'garbage-collector-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'service-cidr-controller',
  'statefulset-controller',
  'replicaset-controller',
  'deployment-controller',
  'disruption-controller',
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
];

/**
 * Added when real nodes join (ControlPlaneOptions.realNodes): the node lifecycle controller lifts
 * the `node.kubernetes.io/not-ready` taint a kubelet registers with (without it nothing schedules),
 * the PV binder binds claims, the pod GC removes pods of deleted nodes.
 */
export const REAL_NODE_CONTROLLERS: readonly string[] = [
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'persistentvolume-binder-controller',
  'pod-garbage-collector-controller',
];

export interface Versions {
  k8s: string;
  etcd: string;
}

/** Reads test/cluster/versions.env, the one place the pinned versions live. */
export function readVersions(): Versions {
  const text = fs.readFileSync(path.join(here, 'versions.env'), 'utf8');
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=([^\s#]*)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) values.set(m[1], m[2]);
  }
  const k8s = values.get('K8S_VERSION');
  const etcd = values.get('ETCD_VERSION');
  if (k8s === undefined || etcd === undefined) {
    throw new Error('test/cluster/versions.env must define K8S_VERSION and ETCD_VERSION');
  }
  return { k8s, etcd };
}

function cacheHome(): string {
  return process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
}

/** The directory build-k8s.sh fills: ${XDG_CACHE_HOME:-~/.cache}/dbtopo/k8s/<k8s>-etcd<etcd>. */
export function cachedBinDir(versions: Versions = readVersions()): string {
  return path.join(cacheHome(), 'dbtopo', 'k8s', `${versions.k8s}-etcd${versions.etcd}`);
}

function missingBinaries(dir: string): string[] {
  return BINARIES.filter((b) => {
    try {
      fs.accessSync(path.join(dir, b), fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
}

/** DBTOPO_K8S_BIN_DIR if set, else the build cache; throws with what to run when binaries are missing. */
export function resolveBinDir(): string {
  const fromEnv = process.env['DBTOPO_K8S_BIN_DIR'];
  const dir = fromEnv || cachedBinDir();
  const missing = missingBinaries(dir);
  if (missing.length > 0) {
    const origin = fromEnv ? 'DBTOPO_K8S_BIN_DIR' : 'the build cache';
    throw new Error(
      `missing ${missing.join(', ')} in ${dir} (${origin}); run \`npm run k8s:build\` ` +
        '(test/cluster/build-k8s.sh) or point DBTOPO_K8S_BIN_DIR at a directory holding ' +
        BINARIES.join(', '),
    );
  }
  return dir;
}

/** Runs ensure-k8s.sh (builds once if the cache is cold; progress on our stderr) and returns the bin dir. */
export async function ensureBinaries(): Promise<string> {
  const script = path.join(here, 'ensure-k8s.sh');
  return await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir !== '') resolve(dir);
      else reject(new Error(`${script} failed with exit code ${String(code)}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// small utilities

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const handedOutPorts = new Set<number>();

/** Free TCP ports on 127.0.0.1 (all held open together, so they are distinct). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempts = 0; ports.length < count && attempts < count * 20; attempts++) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(server);
      const addr = server.address();
      if (addr !== null && typeof addr === 'object' && !handedOutPorts.has(addr.port)) {
        ports.push(addr.port);
      }
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  if (ports.length < count) throw new Error(`could not find ${count} free ports on 127.0.0.1`);
  for (const p of ports) handedOutPorts.add(p);
  return ports;
}

async function run(cmd: string, args: readonly string[], cwd: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile(cmd, [...args], { cwd, timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err && 'code' in err && err.code === 'ENOENT') {
        reject(new Error(`\`${cmd}\` not found on PATH; install it (Debian/Ubuntu: apt-get install ${cmd})`));
      } else if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

/** Pid alive and not a zombie. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (!Number.isInteger(pid) || pid <= 1) return; // never signal our own group (0) or init
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function tail(file: string, lines = 40): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface HttpResult {
  status: number;
  body: string;
}

export interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
}

export function get(url: string, tls: TlsOptions | undefined, timeoutMs = 2_000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    const req = url.startsWith('https:')
      ? https.get(url, { ...tls, timeout: timeoutMs, agent: false }, onResponse)
      : http.get(url, { timeout: timeoutMs, agent: false }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs}ms`)));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------------------------------------
// PKI

interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  nodeCert: string;
  nodeKey: string;
  saKey: string;
  saPub: string;
}

async function makePki(dir: string, serviceIp: string): Promise<Pki> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const p = (f: string): string => path.join(dir, f);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(
    'openssl',
    [
      'req', '-x509', ...ecKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7',
      '-subj', '/CN=dbtopo-test-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
  fs.writeFileSync(
    p('serving.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      `subjectAltName=IP:127.0.0.1,IP:${serviceIp},DNS:localhost,DNS:kubernetes,` +
        'DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    p('client.ext'),
    ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth', ''].join('\n'),
  );
  const issue = async (name: string, subj: string, ext: string): Promise<void> => {
    await run('openssl', ['req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj], dir);
    await run(
      'openssl',
      [
        'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
        '-days', '7', '-sha256', '-extfile', ext, '-out', `${name}.crt`,
      ],
      dir,
    );
  };
  await issue('apiserver', '/CN=kube-apiserver', 'serving.ext');
  await issue('admin', '/O=system:masters/CN=dbtopo-admin', 'client.ext');
  // The test kubelet's identity: a node (system:node:*, group system:nodes), as the admission
  // guard recognises a kubelet, and system:masters for the scheduler's part it also plays (binding).
  await issue('node', `/O=system:nodes/O=system:masters/CN=${TEST_NODE_USER}`, 'client.ext');
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(p('sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  fs.writeFileSync(p('sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    nodeCert: p('node.crt'),
    nodeKey: p('node.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

function kubeconfigText(name: string, server: string, pki: Pki, as: 'admin' | 'node' = 'admin'): string {
  const b64 = (f: string): string => fs.readFileSync(f).toString('base64');
  const [cert, key] = as === 'admin' ? [pki.adminCert, pki.adminKey] : [pki.nodeCert, pki.nodeKey];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    `- name: ${name}-admin`,
    '  user:',
    `    client-certificate-data: ${b64(cert)}`,
    `    client-key-data: ${b64(key)}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    `current-context: ${name}`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// control plane

export interface ControlPlaneOptions {
  /** Name of the cluster (used in the kubeconfig and dir names), e.g. `member-a`. */
  name: string;
  /** Directory holding etcd, kube-apiserver, kube-controller-manager; default resolveBinDir(). */
  binDir?: string;
  /** Parent of the work directory; default os.tmpdir(). */
  baseDir?: string;
  /** Upper bound for the whole start; default 120 s. */
  startTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL on stop; default 10 s. */
  stopGraceMs?: number;
  controllers?: readonly string[];
  /** Extra kube-apiserver flags (`--flag=value`). */
  apiServerArgs?: readonly string[];
  /**
   * Let the API server reach real kubelets (test/node/): it presents the admin certificate to them
   * (they authorise x509 against this CA) and dials a node's InternalIP, not its name, which this
   * machine's resolver does not know. Exec, logs and port-forward need it.
   */
  realNodes?: boolean;
  /** Extra kube-controller-manager flags (`--flag=value`), e.g. `--kube-api-qps=50`. */
  controllerManagerArgs?: readonly string[];
  /**
   * Kill the control plane when this pid disappears (a detached bash watchdog, so nothing is left
   * behind even when the owner is SIGKILLed). Default: the current process. `null`: no watchdog
   * (cluster:up, which detaches on purpose).
   */
  ownerPid?: number | null;
  log?: (message: string) => void;
}

/** What is needed to find and stop a control plane again, also from another process. */
export interface ControlPlaneState {
  name: string;
  dir: string;
  kubeconfigPath: string;
  server: string;
  pids: { etcd: number; apiserver: number; controllerManager: number; watchdog?: number };
  ports: { etcdClient: number; etcdPeer: number; apiserver: number; controllerManager: number };
  startedAt: string;
  startSeconds: number;
}

export interface ControlPlane extends ControlPlaneState {
  caCertPath: string;
  adminCertPath: string;
  adminKeyPath: string;
  logDir: string;
  stop(): Promise<void>;
}

export function spawnLogged(bin: string, args: readonly string[], logFile: string): ChildProcess {
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(bin, [...args], {
      detached: true, // own process group: we kill(-pid) the whole group
      stdio: ['ignore', fd, fd],
      env: { ...process.env, GOTRACEBACK: 'all' },
    });
    child.unref();
    child.on('error', () => {
      // surfaced by the readiness loop via isAlive / log tail
    });
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

export async function waitFor(
  what: string,
  deadline: number,
  pid: number,
  logFile: string,
  probe: () => Promise<boolean>,
): Promise<void> {
  const maxAttempts = 2_000; // bounded by count as well as by time
  for (let attempt = 0; attempt < maxAttempts && Date.now() < deadline; attempt++) {
    if (!isAlive(pid)) {
      throw new Error(`${what}: process ${pid} exited during start; last log lines:\n${tail(logFile)}`);
    }
    try {
      if (await probe()) return;
    } catch {
      // not up yet
    }
    await sleep(Math.min(100 + attempt * 25, 500));
  }
  throw new Error(`${what}: not ready in time; last log lines of ${logFile}:\n${tail(logFile)}`);
}

// Watches the owner pid; when it is gone, stops the pids listed in $dir/pids and removes $dir.
// Bounded: gives up watching after 24 h.
export const WATCHDOG_SCRIPT = `
owner="$1"; dir="$2"
for ((i = 0; i < 172800; i++)); do kill -0 "$owner" 2>/dev/null || break; sleep 0.5; done
pids=(); [ -f "$dir/pids" ] && mapfile -t pids < "$dir/pids"
stop() {
  for p in "$@"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null; done
  for ((i = 0; i < 20; i++)); do
    alive=0; for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.5
  done
  for p in "$@"; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
}
# $dir/pids lists etcd first: stop the API server and controller manager before etcd
if (( \${#pids[@]} > 1 )); then stop "\${pids[@]:1}"; fi
if (( \${#pids[@]} > 0 )); then stop "\${pids[0]}"; fi
rm -rf -- "$dir"
`;

/**
 * Stops a control plane given its state: SIGTERM to the process groups of kube-controller-manager
 * and kube-apiserver, then etcd (the API server shuts down in ~1 s while etcd is still there, but
 * hangs in retries when etcd goes first); SIGKILL whatever outlives the grace; removes the dir.
 */
export async function stopControlPlaneState(state: ControlPlaneState, graceMs = 10_000): Promise<void> {
  if (state.pids.watchdog !== undefined) killGroup(state.pids.watchdog, 'SIGKILL');
  const apiservers = [...new Set([state.pids.apiserver, ...restartedApiServers(state.dir)])];
  const stage = async (pids: number[]): Promise<void> => {
    for (const pid of pids) killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    for (let i = 0; i < 1_000 && Date.now() < deadline && pids.some(isAlive); i++) await sleep(50);
    for (const pid of pids) if (isAlive(pid)) killGroup(pid, 'SIGKILL');
    for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(50);
  };
  await stage([state.pids.controllerManager, ...apiservers]);
  await stage([state.pids.etcd]);
  fs.rmSync(state.dir, { recursive: true, force: true });
}

/** Synchronous last resort for `process.on('exit')`: SIGKILL everything, remove the dir. */
export function killControlPlaneSync(state: ControlPlaneState): void {
  const { watchdog, ...rest } = state.pids;
  for (const pid of [...Object.values(rest), ...restartedApiServers(state.dir)]) killGroup(pid, 'SIGKILL');
  if (watchdog !== undefined) killGroup(watchdog, 'SIGKILL');
  try {
    fs.rmSync(state.dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

/** API server pids that restartApiServer() recorded in $dir/pids (line 2) in place of the first one. */
function restartedApiServers(dir: string): number[] {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'pids'), 'utf8').split('\n')[1]);
    return Number.isInteger(pid) && pid > 1 ? [pid] : [];
  } catch {
    return [];
  }
}

/**
 * Restarts the kube-apiserver of a running control plane, also from another process than the one
 * that started it (a test): SIGTERM to its process group, the same command line started again
 * (read from /proc), /readyz awaited. The new pid replaces the old one in $dir/pids, where the
 * watchdog and stopControlPlaneState() find it. `dir` is the control plane's directory (the one
 * holding its kubeconfig). Returns how long the API server did not answer.
 */
export async function restartApiServer(dir: string, timeoutMs = 90_000): Promise<{ downMs: number; pid: number }> {
  const pidsFile = path.join(dir, 'pids');
  const lines = fs.readFileSync(pidsFile, 'utf8').split('\n');
  const old = Number(lines[1]);
  if (!Number.isInteger(old) || !isAlive(old)) throw new Error(`no running kube-apiserver recorded in ${pidsFile}`);
  const argv = fs.readFileSync(`/proc/${old}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  const port = argv.find((a) => a.startsWith('--secure-port='))?.split('=')[1];
  if (argv[0] === undefined || port === undefined) throw new Error(`cannot read the command line of kube-apiserver ${old}`);
  const t0 = performance.now();
  // Graceful shutdown can wait ~20 s for long requests (watches); 5 s is enough for a restart.
  killGroup(old, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(old); i++) await sleep(50);
  if (isAlive(old)) killGroup(old, 'SIGKILL');
  for (let i = 0; i < 100 && isAlive(old); i++) await sleep(50);
  const apiLog = path.join(dir, 'logs', 'kube-apiserver.log');
  const child = spawnLogged(argv[0], argv.slice(1), apiLog);
  if (child.pid === undefined) throw new Error(`could not start ${argv[0]}`);
  lines[1] = String(child.pid);
  fs.writeFileSync(pidsFile, lines.join('\n'));
  const pki = (f: string): Buffer => fs.readFileSync(path.join(dir, 'pki', f));
  const tls: TlsOptions = { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') };
  await waitFor('kube-apiserver (restarted)', Date.now() + timeoutMs, child.pid, apiLog, async () => (await get(`https://127.0.0.1:${port}/readyz`, tls)).status === 200);
  return { downMs: performance.now() - t0, pid: child.pid };
}

/** The pid of the running kube-apiserver of the control plane in `dir` ($dir/pids line 2, kept current by restartApiServer). */
export function apiServerPid(dir: string): number {
  const pid = Number(fs.readFileSync(path.join(dir, 'pids'), 'utf8').split('\n')[1]);
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no kube-apiserver recorded in ${path.join(dir, 'pids')}`);
  return pid;
}

/**
 * Freezes the kube-apiserver of the control plane in `dir` (SIGSTOP to its process group): it
 * accepts no request until resumeApiServer() — connections hang, as to an API server that is
 * gone. Returns its pid. (A frozen API server is still stopped by stopControlPlaneState: SIGKILL
 * after the grace.)
 */
export function pauseApiServer(dir: string): number {
  const pid = apiServerPid(dir);
  if (!isAlive(pid)) throw new Error(`kube-apiserver ${pid} of ${dir} is not running`);
  killGroup(pid, 'SIGSTOP');
  return pid;
}

/** Ends pauseApiServer(): SIGCONT, then waits until /readyz answers 200. Returns the ms until it did. */
export async function resumeApiServer(dir: string, timeoutMs = 60_000): Promise<number> {
  const pid = apiServerPid(dir);
  const t0 = performance.now();
  killGroup(pid, 'SIGCONT');
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const port = argv.find((a) => a.startsWith('--secure-port='))?.split('=')[1];
  if (port === undefined) throw new Error(`cannot read the port of kube-apiserver ${pid}`);
  const pki = (f: string): Buffer => fs.readFileSync(path.join(dir, 'pki', f));
  const tls: TlsOptions = { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') };
  await waitFor('kube-apiserver (resumed)', Date.now() + timeoutMs, pid, path.join(dir, 'logs', 'kube-apiserver.log'), async () => (await get(`https://127.0.0.1:${port}/readyz`, tls)).status === 200);
  return performance.now() - t0;
}

/**
 * A client certificate from the throwaway CA of the control plane in `dir`, for `user` in
 * `groups` (x509: CN = user name, O = groups), written to $dir/pki/<file>.crt / .key (removed
 * with the control plane). For identities a kubeconfig cannot carry by impersonation, e.g. an
 * Argo-CD-style cluster Secret holding a certificate.
 */
export async function issueClientCertificate(dir: string, file: string, user: string, groups: readonly string[] = []): Promise<{ certPath: string; keyPath: string }> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(file)) throw new Error(`bad certificate file name ${file}`);
  const pkiDir = path.join(dir, 'pki');
  if (!fs.existsSync(path.join(pkiDir, 'client.ext'))) throw new Error(`${pkiDir} holds no control plane PKI`);
  const subj = `${groups.map((g) => `/O=${g}`).join('')}/CN=${user}`;
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', subj], pkiDir);
  await run('openssl', ['x509', '-req', '-in', `${file}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '7', '-sha256', '-extfile', 'client.ext', '-out', `${file}.crt`], pkiDir);
  return { certPath: path.join(pkiDir, `${file}.crt`), keyPath: path.join(pkiDir, `${file}.key`) };
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const attempts = 2; // a second try only for the rare port race with another process
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      lastError = err;
      const message = err instanceof Error ? err.message : String(err);
      if (!/address already in use/i.test(message)) break;
      opts.log?.(`[${opts.name}] port race, retrying`);
    }
  }
  throw lastError;
}

async function startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const t0 = performance.now();
  const log = opts.log ?? ((): void => {});
  const binDir = opts.binDir ?? resolveBinDir();
  const startTimeoutMs = opts.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + startTimeoutMs;
  const baseDir = opts.baseDir ?? os.tmpdir();
  fs.mkdirSync(baseDir, { recursive: true });
  const dir = fs.mkdtempSync(path.join(baseDir, `dbtopo-cp-${opts.name}-`));
  const logDir = path.join(dir, 'logs');
  fs.mkdirSync(logDir);
  const serviceCidr = '10.0.0.0/24';
  let ports: [number, number, number, number];
  let pki: Pki;
  try {
    ports = (await freePorts(4)) as [number, number, number, number];
    pki = await makePki(path.join(dir, 'pki'), '10.0.0.1');
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const [etcdClient, etcdPeer, apiserverPort, kcmPort] = ports;
  const server = `https://127.0.0.1:${apiserverPort}`;
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kubeconfigPath, kubeconfigText(opts.name, server, pki), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, NODE_KUBECONFIG), kubeconfigText(opts.name, server, pki, 'node'), { mode: 0o600 });

  const started: { etcd?: number; apiserver?: number; controllerManager?: number; watchdog?: number } = {};
  const partialState = (): ControlPlaneState => ({
    name: opts.name,
    dir,
    kubeconfigPath,
    server,
    pids: {
      etcd: started.etcd ?? 0,
      apiserver: started.apiserver ?? 0,
      controllerManager: started.controllerManager ?? 0,
      ...(started.watchdog !== undefined ? { watchdog: started.watchdog } : {}),
    },
    ports: { etcdClient, etcdPeer, apiserver: apiserverPort, controllerManager: kcmPort },
    startedAt: new Date().toISOString(),
    startSeconds: 0,
  });
  const pidOf = (c: ChildProcess, what: string): number => {
    if (c.pid === undefined) throw new Error(`could not start ${what} from ${binDir}`);
    return c.pid;
  };

  const pidsFile = path.join(dir, 'pids');
  const recordPid = (pid: number): void => fs.appendFileSync(pidsFile, `${pid}\n`);
  if (opts.ownerPid !== null) {
    const owner = opts.ownerPid ?? process.pid;
    const watchdog = spawn('bash', ['-c', WATCHDOG_SCRIPT, 'dbtopo-cp-watchdog', String(owner), dir], {
      detached: true,
      stdio: 'ignore',
    });
    watchdog.on('error', () => {});
    watchdog.unref();
    if (watchdog.pid !== undefined) started.watchdog = watchdog.pid;
  }

  try {
    // --- etcd
    const etcdLog = path.join(logDir, 'etcd.log');
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    const etcd = spawnLogged(
      path.join(binDir, 'etcd'),
      [
        `--name=${opts.name}`,
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=${opts.name}=${peerUrl}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${opts.name}-${randomBytes(4).toString('hex')}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      etcdLog,
    );
    started.etcd = pidOf(etcd, 'etcd');
    recordPid(started.etcd);
    await waitFor('etcd', deadline, started.etcd, etcdLog, async () => {
      const r = await get(`${etcdUrl}/health`, undefined);
      return r.status === 200 && r.body.includes('"health":"true"');
    });
    log(`[${opts.name}] etcd ready on ${etcdUrl} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);

    // --- kube-apiserver
    const apiLog = path.join(logDir, 'kube-apiserver.log');
    // Audit log (Metadata level, dbtopo's kinds, pods and claims only): where the admission guard's
    // break-glass annotations land (test/cluster/guards.test.ts reads it).
    const auditPolicy = path.join(dir, 'audit-policy.yaml');
    fs.writeFileSync(auditPolicy, AUDIT_POLICY);
    const apiserver = spawnLogged(
      path.join(binDir, 'kube-apiserver'),
      [
        '--advertise-address=127.0.0.1',
        '--bind-address=127.0.0.1',
        `--secure-port=${apiserverPort}`,
        `--cert-dir=${path.join(dir, 'pki', 'apiserver-generated')}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        `--etcd-servers=${etcdUrl}`,
        `--service-cluster-ip-range=${serviceCidr}`,
        '--allow-privileged=true',
        '--authorization-mode=RBAC,Node',
        `--audit-policy-file=${auditPolicy}`,
        `--audit-log-path=${path.join(logDir, AUDIT_LOG)}`,
        '--audit-log-maxsize=50',
        '--audit-log-maxbackup=1',
        `--service-account-issuer=${server}`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        '--profiling=false',
        '--v=1',
        ...(opts.realNodes
          ? [
              `--kubelet-client-certificate=${pki.adminCert}`,
              `--kubelet-client-key=${pki.adminKey}`,
              '--kubelet-preferred-address-types=InternalIP',
              // The API server listens on 127.0.0.1 only, which a pod cannot reach: the node
              // publishes the `kubernetes` Service's endpoint itself (its address, relayed here).
              '--endpoint-reconciler-type=none',
            ]
          : []),
        ...(opts.apiServerArgs ?? []),
      ],
      apiLog,
    );
    started.apiserver = pidOf(apiserver, 'kube-apiserver');
    recordPid(started.apiserver);
    const tls: TlsOptions = {
      ca: fs.readFileSync(pki.caCert),
      cert: fs.readFileSync(pki.adminCert),
      key: fs.readFileSync(pki.adminKey),
    };
    await waitFor('kube-apiserver', deadline, started.apiserver, apiLog, async () => {
      const r = await get(`${server}/readyz`, tls);
      return r.status === 200;
    });
    log(`[${opts.name}] kube-apiserver ready on ${server} (${((performance.now() - t0) / 1000).toFixed(1)}s)`);

    // --- kube-controller-manager
    const kcmLog = path.join(logDir, 'kube-controller-manager.log');
    const kcm = spawnLogged(
      path.join(binDir, 'kube-controller-manager'),
      [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        `--cert-dir=${path.join(dir, 'pki', 'kcm-generated')}`,
        '--leader-elect=false',
        `--controllers=${(opts.controllers ?? (opts.realNodes ? [...DEFAULT_CONTROLLERS, ...REAL_NODE_CONTROLLERS] : DEFAULT_CONTROLLERS)).join(',')}`,
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        // Each controller under its own ServiceAccount, as in any conformant cluster: the admission
        // guard recognises the garbage collector and the namespace controller by these identities.
        '--use-service-account-credentials=true',
        `--service-cluster-ip-range=${serviceCidr}`,
        '--profiling=false',
        '--v=1',
        ...(opts.controllerManagerArgs ?? []),
      ],
      kcmLog,
    );
    started.controllerManager = pidOf(kcm, 'kube-controller-manager');
    recordPid(started.controllerManager);

    await waitFor('kube-controller-manager', deadline, started.controllerManager, kcmLog, async () => {
      const r = await get(`https://127.0.0.1:${kcmPort}/healthz`, { rejectUnauthorized: false });
      return r.status === 200;
    });
    // the serviceaccount + token controllers are working once `default/default` exists
    await waitFor('kube-controller-manager (serviceaccount controller)', deadline, started.controllerManager, kcmLog, async () => {
      const r = await get(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls);
      return r.status === 200;
    });
    const startSeconds = (performance.now() - t0) / 1000;
    log(`[${opts.name}] kube-controller-manager ready; control plane up in ${startSeconds.toFixed(1)}s`);

    const state: ControlPlaneState = { ...partialState(), startSeconds };
    const graceMs = opts.stopGraceMs ?? 10_000;
    let stopped: Promise<void> | undefined;
    return {
      ...state,
      caCertPath: pki.caCert,
      adminCertPath: pki.adminCert,
      adminKeyPath: pki.adminKey,
      logDir,
      stop(): Promise<void> {
        stopped ??= stopControlPlaneState(state, graceMs);
        return stopped;
      },
    };
  } catch (err) {
    await stopControlPlaneState(partialState(), 2_000).catch(() => {});
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// CLI: cluster:up / cluster:down for humans

export function stateDir(): string {
  return (
    process.env['DBTOPO_CLUSTER_STATE_DIR'] ||
    path.join(process.env['XDG_STATE_HOME'] || path.join(os.homedir(), '.local', 'state'), 'dbtopo', 'cluster')
  );
}

function stateFile(): string {
  return path.join(stateDir(), 'state.json');
}

interface StateFile {
  controlPlanes: ControlPlaneState[];
}

function readStateFile(): StateFile {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(stateFile(), 'utf8'));
    if (parsed !== null && typeof parsed === 'object' && 'controlPlanes' in parsed && Array.isArray(parsed.controlPlanes)) {
      return { controlPlanes: parsed.controlPlanes as ControlPlaneState[] };
    }
  } catch {
    // no state
  }
  return { controlPlanes: [] };
}

function writeStateFile(state: StateFile): void {
  fs.mkdirSync(stateDir(), { recursive: true });
  const tmp = `${stateFile()}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, stateFile());
  const kubeconfigs: Record<string, string> = {};
  for (const cp of state.controlPlanes) kubeconfigs[cp.name] = cp.kubeconfigPath;
  fs.writeFileSync(path.join(stateDir(), 'kubeconfigs.json'), `${JSON.stringify(kubeconfigs, null, 2)}\n`);
}

async function cliDown(): Promise<void> {
  const state = readStateFile();
  if (state.controlPlanes.length === 0) {
    process.stderr.write(`no control plane recorded in ${stateFile()}\n`);
  }
  await Promise.all(
    state.controlPlanes.map(async (cp) => {
      await stopControlPlaneState(cp);
      process.stderr.write(`stopped ${cp.name} (${cp.server})\n`);
    }),
  );
  fs.rmSync(stateFile(), { force: true });
  fs.rmSync(path.join(stateDir(), 'kubeconfigs.json'), { force: true });
}

async function cliUp(names: string[]): Promise<void> {
  const existing = readStateFile().controlPlanes.filter((cp) => isAlive(cp.pids.apiserver));
  if (existing.length > 0) {
    throw new Error(
      `control planes already running (${existing.map((c) => c.name).join(', ')}); run \`npm run cluster:down\` first`,
    );
  }
  const binDir = process.env['DBTOPO_K8S_BIN_DIR'] ? resolveBinDir() : await ensureBinaries();
  const log = (m: string): void => {
    process.stderr.write(`${m}\n`);
  };
  const baseDir = path.join(stateDir(), 'run');
  const results = await Promise.allSettled(
    names.map((name) => startControlPlane({ name, binDir, baseDir, ownerPid: null, log })),
  );
  const up = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (failed.length > 0) {
    await Promise.all(up.map((cp) => cp.stop()));
    throw failed[0];
  }
  writeStateFile({
    controlPlanes: up.map(({ stop: _stop, caCertPath: _c, adminCertPath: _a, adminKeyPath: _k, logDir: _l, ...s }) => s),
  });
  for (const cp of up) {
    process.stdout.write(`${cp.name}\t${cp.server}\t${cp.kubeconfigPath}\n`);
  }
  process.stderr.write(
    `state: ${stateFile()}\nkubeconfigs: ${path.join(stateDir(), 'kubeconfigs.json')}\n` +
      `try: KUBECONFIG=${up[0]?.kubeconfigPath ?? ''} kubectl get ns\nstop with: npm run cluster:down\n`,
  );
}

function cliStatus(): void {
  for (const cp of readStateFile().controlPlanes) {
    const alive = [cp.pids.etcd, cp.pids.apiserver, cp.pids.controllerManager].every(isAlive);
    process.stdout.write(`${cp.name}\t${alive ? 'running' : 'DEAD'}\t${cp.server}\t${cp.kubeconfigPath}\n`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      await cliUp(rest.length > 0 ? rest : ['member-a', 'member-b']);
      break;
    case 'down':
      await cliDown();
      break;
    case 'status':
      cliStatus();
      break;
    default:
      process.stderr.write('usage: launcher.ts up [name...] | down | status\n');
      process.exitCode = 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
