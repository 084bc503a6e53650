// A real Argo CD for tests, built from its Go module (test/gitops/build-argocd.sh): Debian's
// redis-server, argocd-repo-server, argocd-application-controller, argocd-applicationset-controller
// (progressive syncs enabled) and argocd-server, as local processes on free 127.0.0.1 ports. Argo CD
// lives in the `argocd` namespace of a "home" control plane (test/cluster/launcher.ts); every
// member control plane is registered as an Argo CD cluster Secret (client certificate of its
// admin), so Applications reach them by their https://127.0.0.1:<port> server URL.
//
// Used by the `gitops` tests and, for humans, as a CLI on the control planes of `npm run cluster:up`:
//   node test/gitops/argocd-launcher.ts up      (npm run argocd:up)   start and detach
//   node test/gitops/argocd-launcher.ts down    (npm run argocd:down) stop what `up` started
//   node test/gitops/argocd-launcher.ts status
//
// Run from dist/ (npm run argocd:up builds first), so it may import project modules.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  WATCHDOG_SCRIPT,
  freePorts,
  get,
  isAlive,
  killGroup,
  stateDir as clusterStateDir,
  tail,
  waitFor,
  type TlsOptions,
} from '../cluster/launcher.js';
import { ARGOCD_CRDS, ensureArgocd, repoRoot, resolveArgocdDir } from './argocd-bin.js';
import { sleep, until as untilEvery } from '../support/eventually.js';

const ROOT = repoRoot();

export const ARGOCD_NAMESPACE = 'argocd';

/** A control plane as Argo CD sees it: its API server and the admin's client certificate. */
export interface ClusterAccess {
  name: string;
  server: string;
  kubeconfigPath: string;
  caCertPath: string;
  adminCertPath: string;
  adminKeyPath: string;
}

/** Reads server, CA and client certificate from a kubeconfig written by test/cluster/launcher.ts. */
export function clusterAccessFromKubeconfig(name: string, kubeconfigPath: string): ClusterAccess {
  const dir = path.dirname(kubeconfigPath);
  const text = fs.readFileSync(kubeconfigPath, 'utf8');
  const server = /^\s*server:\s*(\S+)/m.exec(text)?.[1];
  if (server === undefined) throw new Error(`no server in ${kubeconfigPath}`);
  return {
    name,
    server,
    kubeconfigPath,
    caCertPath: path.join(dir, 'pki', 'ca.crt'),
    adminCertPath: path.join(dir, 'pki', 'admin.crt'),
    adminKeyPath: path.join(dir, 'pki', 'admin.key'),
  };
}

export interface ArgoCdOptions {
  /** The control plane Argo CD itself lives in (namespace `argocd`). */
  home: ClusterAccess;
  /** Control planes registered as Argo CD clusters (the home one may be among them). */
  members: readonly ClusterAccess[];
  binDir?: string;
  /** Parent of the work directory; default os.tmpdir(). */
  baseDir?: string;
  startTimeoutMs?: number;
  /** Application controller --app-resync (seconds); default 30. */
  appResyncSeconds?: number;
  /** Extra argocd-cm data (merged over ci/argocd/argocd-cm-health.yaml's). */
  argocdCm?: Record<string, string>;
  /** Stop everything when this pid is gone (default: this process); null: no watchdog (argocd:up). */
  ownerPid?: number | null;
  log?: (message: string) => void;
}

export interface ArgoCdState {
  dir: string;
  home: string;
  members: string[];
  /** http://127.0.0.1:<port>: argocd-server, plaintext (gRPC-web and REST) */
  apiUrl: string;
  /** for the argocd CLI: --server <serverAddress> --plaintext */
  serverAddress: string;
  adminPassword: string;
  authToken: string;
  pids: { redis: number; repoServer: number; controller: number; applicationSet: number; server: number; watchdog?: number };
  ports: Record<string, number>;
  startedAt: string;
  startSeconds: number;
}

export interface ArgoCd extends ArgoCdState {
  logDir: string;
  binDir: string;
  stop(): Promise<void>;
  /** Runs the argocd CLI against this Argo CD; resolves with stdout. */
  cli(args: readonly string[], timeoutMs?: number): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// the home control plane's API, over https with the admin client certificate

function tlsOf(c: ClusterAccess): TlsOptions {
  return { ca: fs.readFileSync(c.caCertPath), cert: fs.readFileSync(c.adminCertPath), key: fs.readFileSync(c.adminKeyPath) };
}

function request(
  c: ClusterAccess,
  method: string,
  urlPath: string,
  body: string | undefined,
  contentType = 'application/json',
  timeoutMs = 30_000,
): Promise<{ status: number; body: string }> {
  const url = new URL(urlPath, c.server);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method, ...tlsOf(c), agent: false, timeout: timeoutMs, headers: body === undefined ? {} : { 'content-type': contentType } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timeout after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Server-side apply of one object at its resource path (JSON is YAML: one content type for both). */
async function apply(c: ClusterAccess, resourcePath: string, body: string): Promise<void> {
  const q = `${resourcePath}?fieldManager=dbtopo-argocd-launcher&force=true`;
  const r = await request(c, 'PATCH', q, body, 'application/apply-patch+yaml');
  if (r.status >= 300) throw new Error(`apply ${resourcePath} on ${c.name}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
}


const until = <T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> => untilEvery(what, timeoutMs, check, 250);

const CRDS = ARGOCD_CRDS;

async function installCrds(home: ClusterAccess, binDir: string): Promise<void> {
  for (const file of CRDS) {
    const text = fs.readFileSync(path.join(binDir, 'crds', file), 'utf8');
    const name = /^metadata:\n(?:[ ]{2}.*\n)*?[ ]{2}name: (\S+)/m.exec(text)?.[1];
    if (name === undefined) throw new Error(`no metadata.name in ${file}`);
    await apply(home, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, text);
    await until(`CRD ${name} established`, 60_000, async () => {
      const r = await request(home, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`, undefined);
      const crd = JSON.parse(r.body) as { status?: { conditions?: Array<{ type: string; status: string }> } };
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true ? true : undefined;
    });
  }
  await until('Argo CD resources served', 60_000, async () => {
    for (const r of ['applications', 'applicationsets', 'appprojects']) {
      const got = await request(home, 'GET', `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/${r}`, undefined);
      if (got.status !== 200) return undefined;
    }
    return true;
  });
}

const PART_OF = { 'app.kubernetes.io/part-of': 'argocd' };

/** The data of ci/argocd/argocd-cm-health.yaml: the health checks users merge into argocd-cm. */
export function healthCmData(): Record<string, string> {
  // The file is generated YAML with literal block scalars only (compiler/argocd/health-cm.ts).
  const text = fs.readFileSync(path.join(ROOT, 'ci', 'argocd', 'argocd-cm-health.yaml'), 'utf8');
  const data: Record<string, string> = {};
  const lines = text.split('\n');
  const start = lines.indexOf('data:');
  let key: string | undefined;
  let buf: string[] = [];
  const flush = (): void => {
    if (key !== undefined) data[key] = `${buf.join('\n').replace(/\n+$/, '')}\n`;
  };
  for (const line of lines.slice(start + 1)) {
    const m = /^ {2}(\S+): \|[-+]?$/.exec(line);
    if (m?.[1] !== undefined) {
      flush();
      key = m[1];
      buf = [];
    } else if (line.startsWith('    ') || line === '') {
      buf.push(line.slice(4));
    } else break;
  }
  flush();
  if (Object.keys(data).length === 0) throw new Error('no data in ci/argocd/argocd-cm-health.yaml');
  return data;
}

/**
 * What `argocd cluster add` does in a member cluster: a ServiceAccount kube-system/argocd-manager
 * bound to cluster-admin, whose token goes into Argo CD's cluster Secret. Argo CD then syncs as
 * that identity, the one the rendered admission guard trusts to write dbtopo's specs.
 */
async function argocdManagerToken(m: ClusterAccess): Promise<string> {
  const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'argocd-manager', namespace: 'kube-system', labels: PART_OF } };
  await apply(m, '/api/v1/namespaces/kube-system/serviceaccounts/argocd-manager', JSON.stringify(sa));
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'argocd-manager-role-binding', labels: PART_OF },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: 'argocd-manager', namespace: 'kube-system' }],
  };
  await apply(m, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/argocd-manager-role-binding', JSON.stringify(binding));
  const res = await request(m, 'POST', '/api/v1/namespaces/kube-system/serviceaccounts/argocd-manager/token', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86_400 } }));
  if (res.status >= 300) throw new Error(`token for kube-system/argocd-manager in ${m.server}: ${res.status} ${res.body.slice(0, 300)}`);
  return (JSON.parse(res.body) as { status: { token: string } }).status.token;
}

async function writeSettings(opts: ArgoCdOptions, apiPort: number): Promise<void> {
  const home = opts.home;
  const ns = ARGOCD_NAMESPACE;
  await apply(home, `/api/v1/namespaces/${ns}`, JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'argocd-cm', namespace: ns, labels: { ...PART_OF, 'app.kubernetes.io/name': 'argocd-cm' } },
    data: { ...healthCmData(), 'admin.enabled': 'true', url: `http://127.0.0.1:${apiPort}`, ...opts.argocdCm },
  };
  await apply(home, `/api/v1/namespaces/${ns}/configmaps/argocd-cm`, JSON.stringify(cm));
  for (const name of ['argocd-rbac-cm', 'argocd-cmd-params-cm']) {
    await apply(home, `/api/v1/namespaces/${ns}/configmaps/${name}`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels: PART_OF } }));
  }
  // argocd-server fills in the JWT signature and the initial admin password (argocd-initial-admin-secret)
  await apply(home, `/api/v1/namespaces/${ns}/secrets/argocd-secret`, JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'argocd-secret', namespace: ns, labels: PART_OF }, type: 'Opaque' }));
  for (const m of opts.members) {
    const b64 = (f: string): string => fs.readFileSync(f).toString('base64');
    const config = { bearerToken: await argocdManagerToken(m), tlsClientConfig: { caData: b64(m.caCertPath) } };
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `cluster-${m.name}`, namespace: ns, labels: { ...PART_OF, 'argocd.argoproj.io/secret-type': 'cluster' } },
      type: 'Opaque',
      stringData: { name: m.name, server: m.server, config: JSON.stringify(config) },
    };
    await apply(home, `/api/v1/namespaces/${ns}/secrets/cluster-${m.name}`, JSON.stringify(secret));
  }
}

// ---------------------------------------------------------------------------------------------
// processes

function spawnIn(dir: string, bin: string, args: readonly string[], logFile: string, env: NodeJS.ProcessEnv): ChildProcess {
  const fd = fs.openSync(logFile, 'a');
  try {
    const child = spawn(bin, [...args], { cwd: dir, detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    child.on('error', () => {});
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

/** Processes of an earlier run whose owner is gone (killed with its watchdog): stop them, remove the dir. */
export function sweepStale(baseDir: string, log: (m: string) => void = () => {}): void {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(baseDir).filter((e) => e.startsWith('dbtopo-argocd-'));
  } catch {
    return;
  }
  for (const e of entries) {
    const dir = path.join(baseDir, e);
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner'), 'utf8'));
    } catch {
      // no owner file yet: being created, or detached (argocd:up writes "detached")
    }
    if (!Number.isInteger(owner) || isAlive(owner)) continue;
    let pids: number[] = [];
    try {
      pids = fs.readFileSync(path.join(dir, 'pids'), 'utf8').split('\n').map(Number).filter((p) => Number.isInteger(p) && p > 1);
    } catch {
      // none started
    }
    for (const pid of pids) {
      // only a process of that run: its command line or working directory is inside the dir
      let ours = false;
      try {
        ours = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir) || fs.readlinkSync(`/proc/${pid}/cwd`) === dir;
      } catch {
        ours = false;
      }
      if (ours) killGroup(pid, 'SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
    log(`removed a stale Argo CD run dir ${dir} (owner ${owner} gone)`);
  }
}

function httpJson(method: string, url: string, body: unknown, token?: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent: false,
        timeout: timeoutMs,
        headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timeout after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Argo CD's REST API (argocd-server) with a session token. */
export async function argocdApi<T>(state: Pick<ArgoCdState, 'apiUrl' | 'authToken'>, method: string, apiPath: string, body?: unknown): Promise<T> {
  const r = await httpJson(method, `${state.apiUrl}${apiPath}`, body, state.authToken, 30_000);
  if (r.status >= 300) throw new Error(`Argo CD API ${method} ${apiPath}: HTTP ${r.status}: ${r.body.slice(0, 500)}`);
  return JSON.parse(r.body) as T;
}

/**
 * Stops an Argo CD given its state, also from another process: SIGTERM to every component's
 * process group, redis last, SIGKILL after the grace, the dir removed. What it wrote into the home
 * control plane stays (that control plane goes away with its own dir).
 */
export async function stopArgoCdState(state: ArgoCdState, graceMs = 10_000): Promise<void> {
  if (state.pids.watchdog !== undefined) killGroup(state.pids.watchdog, 'SIGKILL');
  const stage = async (pids: number[]): Promise<void> => {
    pids = pids.filter((p) => p > 1);
    for (const pid of pids) killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    for (let i = 0; i < 1_000 && Date.now() < deadline && pids.some(isAlive); i++) await sleep(50);
    for (const pid of pids) if (isAlive(pid)) killGroup(pid, 'SIGKILL');
    for (let i = 0; i < 100 && pids.some(isAlive); i++) await sleep(50);
  };
  const { redis, watchdog: _w, ...components } = state.pids;
  await stage(Object.values(components));
  await stage([redis]);
  fs.rmSync(state.dir, { recursive: true, force: true });
}

export function killArgoCdSync(state: ArgoCdState): void {
  const { watchdog, ...rest } = state.pids;
  for (const pid of Object.values(rest)) killGroup(pid, 'SIGKILL');
  if (watchdog !== undefined) killGroup(watchdog, 'SIGKILL');
  try {
    fs.rmSync(state.dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

function runCli(binDir: string, state: Pick<ArgoCdState, 'serverAddress' | 'authToken' | 'dir'>, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(binDir, 'argocd'),
      [...args, '--server', state.serverAddress, '--plaintext', '--auth-token', state.authToken],
      { timeout: timeoutMs, env: { ...process.env, HOME: path.join(state.dir, 'home') }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`argocd ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

export async function startArgoCd(opts: ArgoCdOptions): Promise<ArgoCd> {
  const t0 = performance.now();
  const log = opts.log ?? ((): void => {});
  const binDir = opts.binDir ?? resolveArgocdDir();
  const deadline = Date.now() + (opts.startTimeoutMs ?? 180_000);
  const baseDir = opts.baseDir ?? os.tmpdir();
  fs.mkdirSync(baseDir, { recursive: true });
  sweepStale(baseDir, log);
  const dir = fs.mkdtempSync(path.join(baseDir, 'dbtopo-argocd-'));
  const logDir = path.join(dir, 'logs');
  for (const d of [logDir, path.join(dir, 'home'), path.join(dir, 'tmp'), path.join(dir, 'redis')]) fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(dir, 'owner'), opts.ownerPid === null ? 'detached' : String(opts.ownerPid ?? process.pid));
  // a copy of the home kubeconfig inside the dir: every component's command line names the dir
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.copyFileSync(opts.home.kubeconfigPath, kubeconfig);
  fs.chmodSync(kubeconfig, 0o600);

  const [redisPort, repoPort, repoMetrics, ctrlMetrics, appsetMetrics, appsetProbe, appsetWebhook, apiPort, apiMetrics] = (await freePorts(9)) as [
    number, number, number, number, number, number, number, number, number,
  ];
  const ports = { redis: redisPort, repoServer: repoPort, repoServerMetrics: repoMetrics, controllerMetrics: ctrlMetrics, applicationSetMetrics: appsetMetrics, applicationSetProbe: appsetProbe, applicationSetWebhook: appsetWebhook, server: apiPort, serverMetrics: apiMetrics };
  const pids: ArgoCdState['pids'] = { redis: 0, repoServer: 0, controller: 0, applicationSet: 0, server: 0 };
  const pidsFile = path.join(dir, 'pids');
  const record = (pid: number): void => fs.appendFileSync(pidsFile, `${pid}\n`);
  const partial = (): ArgoCdState => ({
    dir, home: opts.home.name, members: opts.members.map((m) => m.name), apiUrl: `http://127.0.0.1:${apiPort}`, serverAddress: `127.0.0.1:${apiPort}`,
    adminPassword: '', authToken: '', pids, ports, startedAt: new Date().toISOString(), startSeconds: 0,
  });
  if (opts.ownerPid !== null) {
    const watchdog = spawn('bash', ['-c', WATCHDOG_SCRIPT, 'dbtopo-argocd-watchdog', String(opts.ownerPid ?? process.pid), dir], { detached: true, stdio: 'ignore' });
    watchdog.on('error', () => {});
    watchdog.unref();
    if (watchdog.pid !== undefined) pids.watchdog = watchdog.pid;
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: path.join(dir, 'home'),
    TMPDIR: path.join(dir, 'tmp'),
    KUBECONFIG: kubeconfig,
    ARGOCD_GPG_ENABLED: 'false',
    GOTRACEBACK: 'all',
  };
  const common = [`--kubeconfig=${kubeconfig}`, `--namespace=${ARGOCD_NAMESPACE}`];
  const bin = (role: string): string => path.join(binDir, role);
  const start = (what: string, file: string, args: string[], key: keyof ArgoCdState['pids']): { pid: number; logFile: string } => {
    const logFile = path.join(logDir, `${what}.log`);
    const child = spawnIn(dir, file, args, logFile, env);
    if (child.pid === undefined) throw new Error(`could not start ${file}`);
    pids[key] = child.pid;
    record(child.pid);
    return { pid: child.pid, logFile };
  };
  const ready = async (what: string, p: { pid: number; logFile: string }, url: string): Promise<void> => {
    await waitFor(what, deadline, p.pid, p.logFile, async () => (await get(url, undefined)).status === 200);
    log(`[argocd] ${what} ready (${((performance.now() - t0) / 1000).toFixed(1)}s)`);
  };

  try {
    // redis first in the pids file: the watchdog stops it last
    const redis = start('redis', 'redis-server', ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no', '--dir', path.join(dir, 'redis'), '--protected-mode', 'yes'], 'redis');
    await waitFor('redis-server', deadline, redis.pid, redis.logFile, async () => fs.readFileSync(redis.logFile, 'utf8').includes('Ready to accept connections'));
    log(`[argocd] redis-server ready on 127.0.0.1:${redisPort}`);

    await installCrds(opts.home, binDir);
    await writeSettings(opts, apiPort);
    log(`[argocd] CRDs, argocd-cm (dbtopo health checks), ${opts.members.length} cluster Secret(s) in ${opts.home.name}`);

    const redisAddr = `127.0.0.1:${redisPort}`;
    const repoAddr = `127.0.0.1:${repoPort}`;
    const repo = start('repo-server', bin('argocd-repo-server'), [
      '--address=127.0.0.1', `--port=${repoPort}`, '--metrics-address=127.0.0.1', `--metrics-port=${repoMetrics}`,
      '--disable-tls', `--redis=${redisAddr}`, '--loglevel=info',
    ], 'repoServer');
    const server = start('server', bin('argocd-server'), [
      ...common, '--insecure', '--address=127.0.0.1', `--port=${apiPort}`, '--metrics-address=127.0.0.1', `--metrics-port=${apiMetrics}`,
      `--repo-server=${repoAddr}`, '--repo-server-plaintext', `--redis=${redisAddr}`, '--dex-server=', '--loglevel=info',
    ], 'server');
    const controller = start('application-controller', bin('argocd-application-controller'), [
      ...common, `--metrics-port=${ctrlMetrics}`, `--repo-server=${repoAddr}`, '--repo-server-plaintext', `--redis=${redisAddr}`,
      `--app-resync=${opts.appResyncSeconds ?? 30}`, '--app-resync-jitter=0', '--self-heal-timeout-seconds=2',
      '--status-processors=4', '--operation-processors=2', '--loglevel=info',
    ], 'controller');
    const appset = start('applicationset-controller', bin('argocd-applicationset-controller'), [
      ...common, `--metrics-addr=127.0.0.1:${appsetMetrics}`, `--probe-addr=127.0.0.1:${appsetProbe}`, `--webhook-addr=127.0.0.1:${appsetWebhook}`,
      `--argocd-repo-server=${repoAddr}`, '--repo-server-plaintext', '--enable-progressive-syncs', '--enable-leader-election=false',
      '--loglevel=info',
    ], 'applicationSet');

    await ready('repo-server', repo, `http://127.0.0.1:${repoMetrics}/healthz`);
    await ready('application-controller', controller, `http://127.0.0.1:${ctrlMetrics}/healthz`);
    // no health checks are registered on its probe address; /metrics answers once the manager runs
    await ready('applicationset-controller', appset, `http://127.0.0.1:${appsetMetrics}/metrics`);
    await ready('server', server, `http://127.0.0.1:${apiPort}/healthz`);

    const adminPassword = await until('argocd-initial-admin-secret', Math.max(1_000, deadline - Date.now()), async () => {
      const r = await request(opts.home, 'GET', `/api/v1/namespaces/${ARGOCD_NAMESPACE}/secrets/argocd-initial-admin-secret`, undefined);
      if (r.status !== 200) return undefined;
      const s = JSON.parse(r.body) as { data?: { password?: string } };
      return s.data?.password === undefined ? undefined : Buffer.from(s.data.password, 'base64').toString('utf8');
    });
    const authToken = await until('an Argo CD session', Math.max(1_000, deadline - Date.now()), async () => {
      const r = await httpJson('POST', `http://127.0.0.1:${apiPort}/api/v1/session`, { username: 'admin', password: adminPassword });
      return r.status === 200 ? (JSON.parse(r.body) as { token: string }).token : undefined;
    });
    // every member cluster answers through Argo CD (its cluster Secret is usable)
    const state: ArgoCdState = { ...partial(), adminPassword, authToken, startSeconds: 0 };
    for (const m of opts.members) {
      await until(`cluster ${m.name} known to Argo CD`, Math.max(1_000, deadline - Date.now()), async () => {
        const c = await argocdApi<{ server?: string }>(state, 'GET', `/api/v1/clusters/${encodeURIComponent(m.server)}`);
        return c.server === m.server ? true : undefined;
      });
    }
    state.startSeconds = (performance.now() - t0) / 1000;
    fs.writeFileSync(path.join(dir, 'argocd.env'), `ARGOCD_SERVER=${state.serverAddress}\nARGOCD_OPTS=--plaintext\nARGOCD_AUTH_TOKEN=${authToken}\n`, { mode: 0o600 });
    log(`[argocd] Argo CD up in ${state.startSeconds.toFixed(1)}s: ${state.apiUrl}`);
    const graceMs = 10_000;
    let stopped: Promise<void> | undefined;
    return {
      ...state,
      logDir,
      binDir,
      stop(): Promise<void> {
        stopped ??= stopArgoCdState(state, graceMs);
        return stopped;
      },
      cli: (args, timeoutMs) => runCli(binDir, state, args, timeoutMs),
    };
  } catch (err) {
    const logs = ['repo-server', 'application-controller', 'applicationset-controller', 'server']
      .map((w) => `--- ${w}:\n${tail(path.join(logDir, `${w}.log`), 15)}`)
      .join('\n');
    await stopArgoCdState(partial(), 2_000).catch(() => {});
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`);
  }
}

// ---------------------------------------------------------------------------------------------
// CLI: argocd:up / argocd:down for humans, on the control planes of `npm run cluster:up`

function stateFile(): string {
  return path.join(clusterStateDir(), 'argocd.json');
}

function readState(): ArgoCdState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as ArgoCdState;
  } catch {
    return undefined;
  }
}

async function cliUp(): Promise<void> {
  const running = readState();
  if (running !== undefined && isAlive(running.pids.server)) {
    throw new Error(`Argo CD already running (${running.apiUrl}); run \`npm run argocd:down\` first`);
  }
  let kubeconfigs: Record<string, string>;
  try {
    kubeconfigs = JSON.parse(fs.readFileSync(path.join(clusterStateDir(), 'kubeconfigs.json'), 'utf8')) as Record<string, string>;
  } catch {
    throw new Error('no control planes: run `npm run cluster:up` first');
  }
  const members = Object.entries(kubeconfigs).map(([name, file]) => clusterAccessFromKubeconfig(name, file));
  const home = members[0];
  if (home === undefined) throw new Error('no control planes: run `npm run cluster:up` first');
  const binDir = process.env['DBTOPO_ARGOCD_BIN_DIR'] ? resolveArgocdDir() : await ensureArgocd();
  const log = (m: string): void => {
    process.stderr.write(`${m}\n`);
  };
  const cd = await startArgoCd({ home, members, binDir, baseDir: path.join(clusterStateDir(), 'run'), ownerPid: null, log });
  const { stop: _s, cli: _c, logDir: _l, binDir: _b, ...state } = cd;
  fs.writeFileSync(stateFile(), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  process.stdout.write(`${cd.apiUrl}\n`);
  process.stderr.write(
    `Argo CD ${path.basename(binDir)} in namespace ${ARGOCD_NAMESPACE} of ${home.name}; clusters: ${members.map((m) => `${m.name} ${m.server}`).join(', ')}\n` +
      `admin password: ${cd.adminPassword}\n` +
      `CLI: set -a; source ${path.join(cd.dir, 'argocd.env')}; set +a; ${path.join(binDir, 'argocd')} app list\n` +
      `logs: ${cd.logDir}\nstop with: npm run argocd:down\n`,
  );
}

async function cliDown(): Promise<void> {
  const state = readState();
  if (state === undefined) {
    process.stderr.write(`no Argo CD recorded in ${stateFile()}\n`);
    return;
  }
  await stopArgoCdState(state);
  fs.rmSync(stateFile(), { force: true });
  process.stderr.write(`stopped Argo CD (${state.apiUrl})\n`);
}

function cliStatus(): void {
  const s = readState();
  if (s === undefined) return;
  const { watchdog: _w, ...pids } = s.pids;
  for (const [what, pid] of Object.entries(pids)) process.stdout.write(`${what}\t${isAlive(pid) ? 'running' : 'DEAD'}\t${pid}\n`);
  process.stdout.write(`api\t${s.apiUrl}\n`);
}

async function main(argv: string[]): Promise<void> {
  switch (argv[0]) {
    case 'up':
      await cliUp();
      break;
    case 'down':
      await cliDown();
      break;
    case 'status':
      cliStatus();
      break;
    default:
      process.stderr.write('usage: argocd-launcher.ts up | down | status\n');
      process.exitCode = 2;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
