// `dbtopo compile` as users run it: fresh processes over a generated repository of 1,000
// topologies × 3 environments (6 member clusters), writing to the project's own disk (.bench/
// under the repository root, git-ignored and removed afterwards; never tmpfs), and what a user
// would otherwise run, measured in the same run:
//   - the disk floor: a fresh Node process writing the same files (bytes read beforehand);
//   - a full compile into an empty tree (a fresh directory each run; and once right after a tree
//     of the same size was removed, which ext4 makes slower), then over that tree with one
//     topology changed (it must write only the files whose text changed and leave no staging
//     files; checked, it throws);
//   - `helm template` (Helm built from its Go module, test/bench/ensure-helm.sh) rendering the
//     same objects (kinds, names, count per topology and environment) from one chart and 1,000
//     values files: one process per environment with all values files (Helm at its cheapest),
//     and one process per values file and environment (one release per database, as Helm is
//     usually scripted), as many at a time as there are CPUs;
//   - `kubectl kustomize` over the rendered objects of 200 topologies (a second comparison);
//   - `dbtopo plan` between two Git refs of the repository where 5 topologies changed.
// Wall time and the CPU time of the processes (user + system) are printed: the machine is shared.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..'); // dist/test/bench → repository root
const MAIN = join(ROOT, 'dist', 'compiler', 'cli', 'main.js');
const TOPOLOGIES = Number(process.env.DBTOPO_BENCH_TOPOLOGIES ?? 1000);
const RUNS = Number(process.env.DBTOPO_BENCH_RUNS ?? 3);
/** Releases rendered one `helm template` process each (all 1,000 × 3 by default; 0 skips). */
const HELM_RELEASES = Number(process.env.DBTOPO_BENCH_HELM_RELEASES ?? TOPOLOGIES * 3);
const KUSTOMIZE_TOPOLOGIES = Number(process.env.DBTOPO_BENCH_KUSTOMIZE_TOPOLOGIES ?? 200);
/** DBTOPO_BENCH_HELM=0 skips Helm altogether (no build of it either): dbtopo's own figures only. */
const HELM = process.env.DBTOPO_BENCH_HELM !== '0';
const TMPFS_MAGIC = 0x01021994;
/** DBTOPO_BENCH_SETTLE=0: measure at once, however recently trees were removed (see waitAfterRemoval). */
const SETTLE = process.env.DBTOPO_BENCH_SETTLE !== '0';
/** Touched when this benchmark has removed its trees; machine-wide, as the file system is. */
const REMOVAL_MARK = join(tmpdir(), 'dbtopo-bench-removal');
/** ext4's window for a freed inode whose inode-table block is dirty (RECENTCY_MIN + RECENTCY_DIRTY), plus 5 s. */
const RECENT_S = 310;

/**
 * Waits until 310 s have passed since the last run of this benchmark removed its trees (about
 * 25,000 files). ext4 without a journal (this VM's root) skips, for every new inode, the free
 * inodes that were freed in the last 5 s, or 305 s while their inode-table block is dirty (fs/ext4/
 * ialloc.c recently_deleted()), and the creates of the next compile dirty those very blocks. So
 * for about five minutes after a removal creating files costs up to seconds: a Node process
 * writing the compile's 3,650 files took 2.1-2.3 s instead of 0.12-0.14 s, 110 s after the last
 * run's removal, while a probe of 1,000 files in 100 fresh directories had just taken 62 µs per
 * file (measured 2026-12-07; the probe was dropped as a gate). Removals by others (a test suite)
 * are not seen: the disk floor printed with the full compile shows them (at rest 0.12-0.14 s).
 */
async function waitAfterRemoval(): Promise<void> {
  if (!SETTLE) return;
  const at = statSync(REMOVAL_MARK, { throwIfNoEntry: false })?.mtimeMs;
  if (at === undefined) return;
  const left = RECENT_S - (Date.now() - at) / 1000;
  if (left <= 0) return;
  console.log(`waiting ${left.toFixed(0)} s: the last run of this benchmark removed its trees ${(RECENT_S - left).toFixed(0)} s ago, and ext4 (no journal) makes creating files slow for ~${RECENT_S} s after (DBTOPO_BENCH_SETTLE=0 skips the wait)`);
  await new Promise((r) => setTimeout(r, left * 1000));
}

function env(name: string, members: string[]): string {
  const clusters = members
    .map((m, i) => `  - name: ${m}\n    destination: { name: ${m} }\n    zones: [${m}-a, ${m}-b, ${m}-c]\n    weight: ${i + 1}\n`)
    .join('');
  return `name: ${name}\nmemberClusters:\n${clusters}namespace: db-{team}-${name}\ndefaults:\n  storageSize: 20Gi\n  probePeriodSeconds: 5\n`;
}

function topology(i: number): string {
  const name = `db-${String(i).padStart(4, '0')}`;
  const team = `team-${i % 10}`;
  switch (i % 4) {
    case 0:
      return `name: ${name}\nteam: ${team}\nengine: redis\nmode: replication\nversion: 7.2.4\nreplicas: 3\nsentinel: { replicas: 3, quorum: 2 }\nplacement: { zoneSpread: true }\n`;
    case 1:
      return `name: ${name}\nteam: ${team}\nengine: redis\nmode: sharded\nversion: 7.2.4\nshards: 3\nreplicas: 2\nproxy: { replicas: 2 }\nsentinel: { replicas: 3, quorum: 2 }\nparameters: { maxmemory-policy: allkeys-lru }\n`;
    case 2:
      return `name: ${name}\nteam: ${team}\nengine: mysql\nmode: primary-replica\nversion: "10.11"\nreplicas: 3\nreplication: { mode: semi-sync }\nproxy: { replicas: 2 }\nstorage: { size: 100Gi }\ncredentials: { username: { name: ${name}-admin, key: username }, password: { name: ${name}-admin, key: password } }\n`;
    default:
      return `name: ${name}\nteam: ${team}\nengine: redis\nmode: proxied-replication\nversion: 7.2.4\nreplicas: 2\nsentinel: { replicas: 3, quorum: 2 }\nproxy: { replicas: 2 }\noverrides:\n  prod:\n    replicas: 3\n    placement: { memberClusters: [prod-a, prod-b], memberClusterLoss: pause-writes }\n`;
  }
}

export function generate(repo: string, topologies: number): void {
  mkdirSync(join(repo, 'envs'), { recursive: true });
  mkdirSync(join(repo, 'topologies'), { recursive: true });
  writeFileSync(join(repo, 'envs', 'dev.yaml'), env('dev', ['dev-a']));
  writeFileSync(join(repo, 'envs', 'staging.yaml'), env('staging', ['staging-a', 'staging-b']));
  writeFileSync(join(repo, 'envs', 'prod.yaml'), env('prod', ['prod-a', 'prod-b', 'prod-c']));
  for (let i = 0; i < topologies; i++) writeFileSync(join(repo, 'topologies', `db-${String(i).padStart(4, '0')}.yaml`), topology(i));
}

// ---- measuring processes -------------------------------------------------------------------

/** CPU time (ms) of this process's waited-for children: /proc/self/stat cutime + cstime. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3; cutime and cstime are fields 16 and 17 (1-based).
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100; // USER_HZ is 100 on Linux
}

interface Run {
  wall: number;
  cpu: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd = ROOT): Run {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30, timeout: 1_800_000 });
  const wall = performance.now() - t0;
  const cpu = childrenCpuMs() - cpu0;
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')} … exited ${r.status}: ${(r.stderr || r.stdout).slice(0, 800)}`);
  return { wall, cpu, stdout: r.stdout, stderr: r.stderr };
}

/** Runs every argument list as its own process, `parallel` at a time; total wall and CPU. */
async function runMany(cmd: string, argLists: string[][], parallel: number): Promise<{ wall: number; cpu: number }> {
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < argLists.length) {
      const args = argLists[next++] ?? [];
      await new Promise<void>((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.slice(0, 4).join(' ')} exited ${code}: ${err.slice(0, 500)}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return { wall: performance.now() - t0, cpu: childrenCpuMs() - cpu0 };
}

const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const fig = (r: { wall: number; cpu: number }): string => `${s(r.wall)} wall, ${s(r.cpu)} CPU`;
const ratio = (a: number, b: number): string => `${(a / b).toFixed(1)}×`;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? 0;
const medianRun = (rs: readonly Run[]): Run => {
  const m = median(rs.map((r) => r.wall));
  return rs.find((r) => r.wall === m) ?? (rs[0] as Run);
};

function compile(repo: string, ...extra: string[]): Run & { report: { files: number; reuse?: { rendered: number; written: number; deleted: number; compared: number } } } {
  const r = run(process.execPath, [MAIN, 'compile', '--repo', repo, '--format', 'json', ...extra]);
  const report = JSON.parse(r.stdout) as { ok: boolean; files: number; reuse?: { rendered: number; written: number; deleted: number; compared: number } };
  if (!report.ok) throw new Error(`bench repository does not compile: ${r.stdout.slice(0, 800)}`);
  return { ...r, report };
}

/** inode:mtime of every file under `root` (what a rewrite changes), by relative path. */
function fileIds(root: string): Map<string, string> {
  const ids = new Map<string, string>();
  for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    const st = statSync(p, { bigint: true });
    ids.set(relative(root, p), `${st.ino}:${st.mtimeNs}`);
  }
  return ids;
}

function sameTree(a: string, b: string): string | undefined {
  const files = (root: string) => readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name))).sort();
  const fa = files(a);
  const fb = files(b);
  if (fa.join('\n') !== fb.join('\n')) return `file lists differ (${fa.length} vs ${fb.length})`;
  for (const f of fa) if (!readFileSync(join(a, f)).equals(readFileSync(join(b, f)))) return `${f} differs`;
  return undefined;
}

// ---- the comparators ----------------------------------------------------------------------

/** The floor: a fresh Node process writing the same files' bytes into an empty tree (read first, not timed). */
const FLOOR = `
const { readdirSync, readFileSync, mkdirSync, writeFileSync } = require('node:fs');
const { join, dirname, relative } = require('node:path');
const [src, dst] = process.argv.slice(1);
const files = readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(src, join(e.parentPath, e.name)));
const bytes = files.map((f) => readFileSync(join(src, f)));
const cpu0 = process.cpuUsage(); const t0 = performance.now();
for (const d of [...new Set(files.map((f) => dirname(join(dst, f))))].sort()) mkdirSync(d, { recursive: true });
files.forEach((f, i) => writeFileSync(join(dst, f), bytes[i]));
const c = process.cpuUsage(cpu0);
console.log(JSON.stringify({ files: files.length, bytes: bytes.reduce((n, b) => n + b.length, 0), wall: performance.now() - t0, cpu: (c.user + c.system) / 1000 }));
`;

/** The objects dbtopo rendered, per topology and environment: member cluster, namespace, kind and name. */
function renderedObjects(rendered: string): Map<string, Map<string, Array<{ member: string; namespace: string; objects: Array<{ kind: string; name: string }> }>>> {
  const byTopology = new Map<string, Map<string, Array<{ member: string; namespace: string; objects: Array<{ kind: string; name: string }> }>>>();
  for (const envName of readdirSync(rendered)) {
    for (const member of readdirSync(join(rendered, envName))) {
      if (member.startsWith('_')) continue;
      for (const ns of readdirSync(join(rendered, envName, member))) {
        if (ns.startsWith('_')) continue;
        for (const file of readdirSync(join(rendered, envName, member, ns))) {
          // <topology>.yaml: one YAML document per object (compiler/emit/paths.ts).
          const topo = file.replace(/\.yaml$/, '');
          const objects = readFileSync(join(rendered, envName, member, ns, file), 'utf8').split(/^---\n/m).map((text) => {
            return { kind: /^kind: (\S+)$/m.exec(text)?.[1] ?? '', name: /^ {2}name: (\S+)$/m.exec(text)?.[1] ?? '' };
          });
          const envs = byTopology.get(topo) ?? new Map();
          const members = envs.get(envName) ?? [];
          members.push({ member, namespace: ns, objects });
          envs.set(envName, members);
          byTopology.set(topo, envs);
        }
      }
    }
  }
  return byTopology;
}

/**
 * One chart whose templates render, per member cluster of the selected environment, the objects
 * a values file lists: InstanceSets with a full pod template, Services, ServiceExports,
 * ConfigMaps, PDBs, NetworkPolicies and the Cluster object, with bodies like dbtopo's.
 */
function writeChart(chart: string): void {
  mkdirSync(join(chart, 'templates'), { recursive: true });
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: db\nversion: 0.1.0\n');
  const each = (kind: string, body: string): string =>
    `{{- range $tname, $t := .Values.topologies }}{{- range (index $t $.Values.env) }}{{- $m := . }}{{- range .objects }}{{- if eq .kind "${kind}" }}
---
${body}
{{- end }}{{- end }}{{- end }}{{- end }}
`;
  const meta = (apiVersion: string, kind: string): string => `apiVersion: ${apiVersion}
kind: ${kind}
metadata:
  name: {{ .name }}
  namespace: {{ $m.namespace }}
  labels:
    app.kubernetes.io/name: {{ $tname }}
    app.kubernetes.io/managed-by: helm
    app.kubernetes.io/component: {{ .name | trimPrefix (printf "%s-" $tname) }}
    dbtopo.dev/member-cluster: {{ $m.member }}
    dbtopo.dev/environment: {{ $.Values.env }}
  annotations:
    argocd.argoproj.io/sync-wave: "1"
    dbtopo.dev/source: topologies/{{ $tname }}.yaml`;
  const templates: Record<string, string> = {
    'instancesets.yaml': each(
      'InstanceSet',
      `${meta('dbtopo.dev/v1alpha1', 'InstanceSet')}
spec:
  cluster: {{ $tname }}
  replicas: {{ $t.replicas }}
  ordinals: { start: 0 }
  updateStrategy: { type: RoleAware, maxUnavailable: 1 }
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/instance: {{ .name }}
        app.kubernetes.io/name: {{ $tname }}
    spec:
      terminationGracePeriodSeconds: 30
      securityContext: { runAsNonRoot: true, runAsUser: 999, fsGroup: 999 }
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: DoNotSchedule
          labelSelector: { matchLabels: { app.kubernetes.io/instance: {{ .name }} } }
      containers:
        - name: server
          image: {{ $t.image }}
          args: ["--port", "{{ $t.port }}", "--dir", "/data"]
          ports:
            - { name: server, containerPort: {{ $t.port }}, protocol: TCP }
          env:
            - { name: POD_NAME, valueFrom: { fieldRef: { fieldPath: metadata.name } } }
            - { name: POD_NAMESPACE, valueFrom: { fieldRef: { fieldPath: metadata.namespace } } }
            - { name: DBTOPO_TOPOLOGY, value: {{ $tname }} }
            - { name: DBTOPO_MEMBER_CLUSTER, value: {{ $m.member }} }
          resources:
            requests: { cpu: 500m, memory: 1Gi }
            limits: { memory: 1Gi }
          readinessProbe:
            tcpSocket: { port: {{ $t.port }} }
            periodSeconds: {{ $.Values.probePeriodSeconds }}
            failureThreshold: 3
          livenessProbe:
            tcpSocket: { port: {{ $t.port }} }
            periodSeconds: {{ mul $.Values.probePeriodSeconds 2 }}
            failureThreshold: 6
          volumeMounts:
            - { name: data, mountPath: /data }
            - { name: config, mountPath: /etc/db }
        - name: exporter
          image: quay.io/oliver006/redis_exporter:v1.62.0
          ports:
            - { name: metrics, containerPort: 9121, protocol: TCP }
          resources:
            requests: { cpu: 50m, memory: 64Mi }
            limits: { memory: 64Mi }
      volumes:
        - name: config
          configMap: { name: {{ .name }}-config }
  volumeClaimTemplates:
    - metadata: { name: data }
      spec:
        accessModes: [ReadWriteOnce]
        resources: { requests: { storage: {{ $.Values.storageSize }} } }`,
    ),
    'services.yaml': each(
      'Service',
      `${meta('v1', 'Service')}
spec:
  {{- if hasSuffix "-headless" .name }}
  clusterIP: None
  publishNotReadyAddresses: true
  {{- end }}
  selector:
    app.kubernetes.io/name: {{ $tname }}
  ports:
    - { name: server, port: {{ $t.port }}, targetPort: {{ $t.port }}, protocol: TCP }`,
    ),
    'configmaps.yaml': each(
      'ConfigMap',
      `${meta('v1', 'ConfigMap')}
data:
  server.conf: |
    port {{ $t.port }}
    dir /data
    {{- range $k, $v := $t.parameters }}
    {{ $k }} {{ $v }}
    {{- end }}`,
    ),
    'pdbs.yaml': each(
      'PodDisruptionBudget',
      `${meta('policy/v1', 'PodDisruptionBudget')}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .name | trimSuffix "-pdb" }}`,
    ),
    'networkpolicies.yaml': each(
      'NetworkPolicy',
      `${meta('networking.k8s.io/v1', 'NetworkPolicy')}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ .name }}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: { matchLabels: { app.kubernetes.io/name: {{ $tname }} } }
      ports:
        - { port: {{ $t.port }}, protocol: TCP }`,
    ),
    // The headless Services of spread shards exported to the other member clusters (Multi-Cluster Services).
    'serviceexports.yaml': each('ServiceExport', meta('multicluster.x-k8s.io/v1alpha1', 'ServiceExport')),
    'clusters.yaml': each(
      'Cluster',
      `${meta('dbtopo.dev/v1alpha1', 'Cluster')}
spec:
  engine: {{ $t.engine }}
  version: {{ $t.version | quote }}
  memberCluster: {{ $m.member }}
  replicas: {{ $t.replicas }}`,
    ),
  };
  for (const [file, text] of Object.entries(templates)) writeFileSync(join(chart, 'templates', file), text);
}

/** One values file per topology: its objects per environment (from dbtopo's output) and engine settings. */
function writeValues(dir: string, objects: ReturnType<typeof renderedObjects>): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const [topo, envs] of [...objects].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const i = Number(topo.slice(3));
    const redis = i % 4 !== 2;
    const lines = [
      'topologies:',
      `  ${topo}:`,
      `    engine: ${redis ? 'redis' : 'mysql'}`,
      `    version: "${redis ? '7.2.4' : '10.11'}"`,
      `    image: ${redis ? 'docker.io/library/redis:7.2.4' : 'docker.io/library/mariadb:10.11'}`,
      `    port: ${redis ? 6379 : 3306}`,
      '    replicas: 3',
      '    parameters: { maxmemory-policy: allkeys-lru, timeout: "0" }',
    ];
    for (const [envName, members] of envs) {
      lines.push(`    ${envName}:`);
      for (const m of members) {
        lines.push(`      - member: ${m.member}`, `        namespace: ${m.namespace}`, '        objects:');
        for (const o of m.objects) lines.push(`          - { kind: ${o.kind}, name: ${o.name} }`);
      }
    }
    const file = join(dir, `${topo}.yaml`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    files.push(file);
  }
  return files;
}

function countDocs(dir: string): { files: number; objects: number } {
  let files = 0;
  let objects = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    files++;
    objects += (readFileSync(join(e.parentPath, e.name), 'utf8').match(/^kind: /gm) ?? []).length;
  }
  return { files, objects };
}

async function helm(work: string, rendered: string, dbtopoFull: Run, objectsPerEnv: Map<string, number>): Promise<void> {
  if (!HELM) {
    console.log('\nhelm template: skipped (DBTOPO_BENCH_HELM=0)');
    return;
  }
  let bin: string;
  try {
    // scripts/bench builds it first (DBTOPO_HELM_BIN_DIR); run alone, the script is called here.
    const dir = process.env.DBTOPO_HELM_BIN_DIR ?? execFileSync('bash', [join(ROOT, 'test', 'bench', 'ensure-helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1) ?? '';
    bin = join(dir, 'helm');
  } catch (e) {
    console.log(`helm template:             skipped (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  const version = run(bin, ['version', '--short']).stdout.trim();
  const chart = join(work, 'chart');
  writeChart(chart);
  const values = writeValues(join(work, 'values'), renderedObjects(rendered));
  const envs = [...objectsPerEnv.keys()].sort();
  for (const e of envs) writeFileSync(join(work, `env-${e}.yaml`), `env: ${e}\nprobePeriodSeconds: 5\nstorageSize: 20Gi\n`);
  const expected = [...objectsPerEnv.values()].reduce((a, b) => a + b, 0);

  // Helm at its cheapest: one process per environment, all 1,000 values files merged (-f each).
  const perEnvOut = join(work, 'helm-per-env');
  const cpu0 = childrenCpuMs();
  const t0 = performance.now();
  for (const e of envs) run(bin, ['template', `dbtopo-${e}`, chart, '-f', join(work, `env-${e}.yaml`), ...values.flatMap((v) => ['-f', v]), '--output-dir', join(perEnvOut, e)]);
  const perEnv = { wall: performance.now() - t0, cpu: childrenCpuMs() - cpu0 };
  const a = countDocs(perEnvOut);
  console.log(`\nhelm template (${version}), one chart, ${values.length} values files, output on the same disk:`);
  console.log(`  one process per environment (${envs.length}), every values file merged in: ${fig(perEnv)}  ${a.objects} objects (dbtopo: ${expected}) in ${a.files} files`);
  console.log(`    ratio helm / dbtopo full compile: ${ratio(perEnv.wall, dbtopoFull.wall)} wall, ${ratio(perEnv.cpu, dbtopoFull.cpu)} CPU`);
  if (a.objects !== expected) throw new Error(`helm rendered ${a.objects} objects, dbtopo ${expected}: the comparison is not like for like`);
  rmSync(perEnvOut, { recursive: true, force: true });

  // One release per database and environment, as Helm is usually scripted (xargs -P <CPUs>).
  if (HELM_RELEASES <= 0) return;
  const perReleaseOut = join(work, 'helm-per-release');
  const jobs: string[][] = [];
  for (const e of envs) for (const v of values) jobs.push(['template', v.slice(v.lastIndexOf('/') + 1, -5), chart, '-f', join(work, `env-${e}.yaml`), '-f', v, '--output-dir', join(perReleaseOut, e, v.slice(v.lastIndexOf('/') + 1, -5))]);
  const chosen = jobs.slice(0, HELM_RELEASES);
  const parallel = availableParallelism();
  const r = await runMany(bin, chosen, parallel);
  const b = countDocs(perReleaseOut);
  const all = chosen.length === jobs.length;
  console.log(`  one process per values file and environment (${chosen.length}${all ? '' : ` of ${jobs.length}`} processes, ${parallel} at a time): ${fig(r)}  ${b.objects} objects in ${b.files} files`);
  if (all) console.log(`    ratio helm / dbtopo full compile: ${ratio(r.wall, dbtopoFull.wall)} wall, ${ratio(r.cpu, dbtopoFull.cpu)} CPU`);
  else console.log(`    (a subset: DBTOPO_BENCH_HELM_RELEASES=${HELM_RELEASES}; no ratio printed)`);
  if (all && b.objects !== expected) throw new Error(`helm rendered ${b.objects} objects, dbtopo ${expected}`);
  rmSync(perReleaseOut, { recursive: true, force: true });
}

/** kubectl kustomize over each member cluster of one environment's rendered tree vs a fresh `dbtopo compile --env`. */
function kustomize(work: string): void {
  if (KUSTOMIZE_TOPOLOGIES <= 0) return;
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status !== 0) {
    console.log('\nkubectl kustomize: kubectl not found; skipped');
    return;
  }
  const repo = join(work, 'kustomize-repo');
  generate(repo, KUSTOMIZE_TOPOLOGIES);
  const c = compile(repo, '--env', 'dev');
  const rendered = join(repo, 'rendered', 'dev');
  const cpu0 = childrenCpuMs();
  let wall = 0;
  let objects = 0;
  let runs = 0;
  for (const member of readdirSync(rendered).filter((m) => !m.startsWith('_')).sort()) {
    const dir = join(rendered, member);
    const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.yaml')).sort();
    writeFileSync(join(dir, 'kustomization.yaml'), `resources:\n${files.map((f) => `  - ${f}\n`).join('')}`);
    const r = run('kubectl', ['kustomize', dir]);
    wall += r.wall;
    objects += (r.stdout.match(/^kind: /gm) ?? []).length;
    runs++;
  }
  const cpu = childrenCpuMs() - cpu0;
  console.log(`\nkubectl kustomize, ${KUSTOMIZE_TOPOLOGIES} topologies, environment dev (kustomize grows superlinearly; 10,000 objects took over 9 min):`);
  console.log(`  dbtopo compile --env dev (fresh process): ${fig(c)}  ${c.report.files} objects written`);
  console.log(`  kubectl kustomize (${runs} process${runs === 1 ? '' : 'es'}), reading and re-printing them: ${fig({ wall, cpu })}  ${objects} objects`);
  console.log(`    ratio kustomize / dbtopo: ${ratio(wall, c.wall)} wall, ${ratio(cpu, c.cpu)} CPU`);
}

/** `dbtopo plan` between two refs of the repository, 5 topologies changed, fresh process. */
function plan(repo: string): void {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: repo, env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@e', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@e' }, stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(join(repo, '.gitignore'), 'rendered/\nrendered-*/\n.dbtopo-cache/\n');
  git('init', '-q', '-b', 'main');
  git('add', 'envs', 'topologies', '.gitignore');
  git('commit', '-q', '-m', 'base');
  git('tag', 'base');
  const changed = [3, 210, 421, 632, 843].filter((i) => i < TOPOLOGIES);
  for (const i of changed) {
    const file = join(repo, 'topologies', `db-${String(i).padStart(4, '0')}.yaml`);
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^replicas: (\d+)$/m, (_, n: string) => `replicas: ${Number(n) === 3 ? 2 : 3}`));
  }
  git('commit', '-q', '-am', 'head');
  git('tag', 'head');
  const runs: Run[] = [];
  const out = join(repo, '..', 'plan.json');
  for (let i = 0; i < RUNS; i++) runs.push(run(process.execPath, [MAIN, 'plan', '--repo', repo, '--base', 'base', '--head', 'head', '--format', 'json', '--out', out]));
  const m = medianRun(runs);
  const p = JSON.parse(readFileSync(out, 'utf8')) as { plan?: { changes?: unknown[]; actions?: unknown[] }; changes?: unknown[]; actions?: unknown[] };
  const summary = /plan: (.*); wrote/.exec(m.stderr)?.[1] ?? '';
  console.log(`\ndbtopo plan between two refs, ${changed.length} of ${TOPOLOGIES} topologies changed (fresh process, reads both refs from Git):`);
  console.log(
    `  median ${fig(m)} over ${RUNS} runs (min ${s(Math.min(...runs.map((r) => r.wall)))}); ${summary}, ${(p.plan?.actions ?? p.actions)?.length ?? '?'} actions (target ≤ 1.5 s)${m.wall <= 1500 ? '' : '  ** over target **'}`,
  );
}

export default async function bench(): Promise<void> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} not built; run npm run build`);
  const base = process.env.DBTOPO_BENCH_DIR ?? join(ROOT, '.bench');
  mkdirSync(base, { recursive: true });
  const fs = statfsSync(base);
  if (fs.type === TMPFS_MAGIC && process.env.DBTOPO_BENCH_ALLOW_TMPFS === undefined) throw new Error(`${base} is tmpfs; the compile benchmark measures the project's own disk (set DBTOPO_BENCH_DIR)`);
  const work = join(base, `compile-${process.pid}`);
  const repo = join(work, 'repo');
  const rendered = join(repo, 'rendered');
  try {
    await waitAfterRemoval();
    generate(repo, TOPOLOGIES);
    console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} CPUs; ${work} on a ${fs.type === TMPFS_MAGIC ? 'tmpfs' : `disk file system (type 0x${fs.type.toString(16)})`}`);
    console.log(`repository: ${TOPOLOGIES} topologies × 3 environments (6 member clusters); every figure is a fresh process`);

    // (a) Full compile into an empty tree: each run into a directory of its own that no earlier
    // run wrote, the trees kept until the floor ran. Removing a tree just before makes ext4 skip
    // the inodes it freed in the last 5-10 s (fs/ext4/ialloc.c recently_deleted(); perf showed
    // ext4_create -> find_inode_bit -> recently_deleted), which costs the next files' creation
    // up to seconds: measured apart below, since it is the file system's, not the compile's.
    const full: Array<ReturnType<typeof compile>> = [];
    const emptyOuts: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const out = join(repo, `rendered-empty-${i}`);
      emptyOuts.push(out);
      execFileSync('sync');
      full.push(compile(repo, '--out', out));
    }
    const fullRun = medianRun(full) as ReturnType<typeof compile>;
    const objects = fullRun.report.files;

    // The floor: the same bytes written by a fresh Node process that does nothing else.
    const floorOut = join(work, 'floor');
    execFileSync('sync');
    const floorRun = run(process.execPath, ['-e', FLOOR, emptyOuts[0] ?? rendered, floorOut]);
    const floor = JSON.parse(floorRun.stdout) as { files: number; bytes: number; wall: number; cpu: number };

    // The same compile right after a tree of the same size was removed (rm -r, sync).
    for (const d of [...emptyOuts, floorOut]) rmSync(d, { recursive: true, force: true });
    rmSync(join(repo, '.dbtopo-cache'), { recursive: true, force: true });
    execFileSync('sync');
    const afterRemove = compile(repo);
    const ids = fileIds(rendered);
    const bytes = [...ids.keys()].reduce((n, f) => n + statSync(join(rendered, f)).size, 0);

    console.log(`\ndbtopo compile, empty tree: median ${fig(fullRun)} over ${RUNS} runs (min ${s(Math.min(...full.map((r) => r.wall)))}, CPU per run ${full.map((r) => s(r.cpu)).join(' ')})  ${objects} objects, ${ids.size} files, ${(bytes / 2 ** 20).toFixed(0)} MiB (target ≤ 2 s)${fullRun.wall <= 2000 ? '' : '  ** over target **'}`);
    console.log(`  load average after these runs: ${loadavg().map((l) => l.toFixed(1)).join(' ')} (the machine is shared: wall times grow with it, CPU times much less)`);
    console.log(`  disk floor, a fresh Node process writing the same ${floor.files} files (${(floor.bytes / 2 ** 20).toFixed(0)} MiB, read beforehand): ${s(floor.wall)} wall, ${s(floor.cpu)} CPU for the writes (${s(floorRun.wall)} for the whole process)`);
    console.log(`    ratio dbtopo / floor: ${ratio(fullRun.wall, floorRun.wall)} wall, process against process (${ratio(fullRun.wall, floor.wall)} against the writes alone)`);
    console.log(`  the same right after removing a tree of the same size (ext4 skips the inodes it just freed): ${fig(afterRemove)}`);

    // (b) Over the existing tree: no change, then one topology changed (three times, different edits).
    const same = compile(repo);
    if (same.report.reuse?.written !== 0) throw new Error(`a compile without changes wrote ${same.report.reuse?.written ?? 'the whole tree'}`);
    console.log(`\ndbtopo compile over the existing tree, nothing changed: ${fig(same)}  wrote 0 files`);
    const target = join(repo, 'topologies', 'db-0001.yaml');
    const inc: Array<ReturnType<typeof compile>> = [];
    let written = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      const before = fileIds(rendered);
      writeFileSync(target, readFileSync(target, 'utf8').replace(/^replicas: \d+$/m, `replicas: ${i % 2 === 0 ? 3 : 2}`));
      const r = compile(repo);
      const after = fileIds(rendered);
      written = new Set([...after].filter(([f, id]) => before.get(f) !== id).map(([f]) => f));
      const removed = [...before.keys()].filter((f) => !after.has(f));
      if (r.report.reuse === undefined) throw new Error('the compile over the existing tree rewrote it in full');
      if (written.size !== r.report.reuse.written || removed.length !== r.report.reuse.deleted) {
        throw new Error(`compile reports ${r.report.reuse.written} written / ${r.report.reuse.deleted} removed; the disk shows ${written.size} / ${removed.length}`);
      }
      const foreign = [...written].filter((f) => !f.endsWith('/db-0001.yaml') && !f.includes('/_argocd/') && !f.includes('/_cluster/'));
      if (foreign.length > 0) throw new Error(`files of unchanged topologies were rewritten: ${foreign.slice(0, 3).join(', ')}`);
      if (written.size === 0) throw new Error('the change wrote no file');
      const leftovers = readdirSync(repo).filter((f) => f.includes('.tmp-')).concat([...after.keys()].filter((f) => f.includes('.dbtopo-new')));
      if (leftovers.length > 0) throw new Error(`staging files left: ${leftovers.join(', ')}`);
      inc.push(r);
    }
    // The tree is what a full compile of the same sources writes.
    const check = join(repo, 'rendered-full');
    compile(repo, '--full', '--out', check);
    const diff = sameTree(rendered, check);
    if (diff !== undefined) throw new Error(`the tree after the compiles over it differs from a full compile: ${diff}`);
    rmSync(check, { recursive: true, force: true });
    const incRun = medianRun(inc) as ReturnType<typeof compile>;
    console.log(
      `dbtopo compile over the existing tree, 1 topology changed: median ${fig(incRun)} over ${RUNS} runs (min ${s(Math.min(...inc.map((r) => r.wall)))}); rendered ${incRun.report.reuse?.rendered} topology file, compared ${incRun.report.reuse?.compared} files with the disk, wrote ${incRun.report.reuse?.written} (checked by inode and mtime: no other file changed; the tree equals a full compile's)`,
    );
    console.log(`  ratio full compile / over the existing tree: ${ratio(fullRun.wall, incRun.wall)} wall`);

    // Objects per environment, for the comparisons to render the same: the documents of the
    // topologies' files (<env>/<member>/<namespace>/<topology>.yaml).
    const perEnv = new Map<string, number>();
    for (const f of ids.keys()) {
      const parts = f.split('/');
      if (parts.length !== 4 || parts[1]?.startsWith('_') || parts[2] === '_cluster') continue;
      const documents = (readFileSync(join(rendered, f), 'utf8').match(/^kind: /gm) ?? []).length;
      perEnv.set(parts[0] ?? '', (perEnv.get(parts[0] ?? '') ?? 0) + documents);
    }
    await helm(work, rendered, fullRun, perEnv);
    kustomize(work);
    plan(repo);
  } finally {
    rmSync(work, { recursive: true, force: true });
    writeFileSync(REMOVAL_MARK, `${new Date().toISOString()}\n`);
    if (process.env.DBTOPO_BENCH_DIR === undefined && readdirSync(base).length === 0) rmSync(base, { recursive: true, force: true });
  }
}

// Allow `node dist/test/bench/compile.bench.js` on its own.
if (process.argv[1] !== undefined && dirname(process.argv[1]) === import.meta.dirname && process.argv[1].endsWith('compile.bench.js')) await bench();
