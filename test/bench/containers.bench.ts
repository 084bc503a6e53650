// The cost of containers (issue 14, item 5): the same engine binary (Debian's redis-server and
// mariadbd; the real node's image is built from the same packages the host has) with the same
// arguments, measured by the same client on this host, three ways in one run:
//   host     a plain process on a loopback address                          (the comparator)
//   pod IP   in a pod on the real node, reached at its pod address          (+ bridge, veth, netns, cgroup)
//   Service  the same pod through its ClusterIP                              (+ kube-proxy's iptables DNAT)
// Rounds alternate the order; medians of the rounds are printed with each ratio to the host.
// Redis: redis-benchmark (SET and GET, 50 clients, no pipelining); MariaDB: mysqlslap (a read
// load and a mixed one, 8 clients). The pods have CPU requests and no CPU limit (no CFS
// throttling), the host processes no cgroup of their own. Prints; asserts only that it ran.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { freePorts, resolveBinDir, startControlPlane } from '../cluster/launcher.js';
import { AddressPool } from '../kubelet/net.js';
import { eventually } from '../support/eventually.js';
import { ENGINE_IMAGE_ARCHIVE, startRealNode } from '../node/node.js';
import { ensureNodeParts } from '../node/parts.js';
import { restrictedPod } from '../node/pods.js';

const ROUNDS = 3;
const REDIS_REQUESTS = 100_000;
const SLAP_QUERIES = 4_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface RedisFigures {
  rps: number;
  p50: number;
  p99: number;
}

/** redis-benchmark --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms" */
function redisBenchmark(host: string, port: number, test: 'set' | 'get'): RedisFigures {
  const out = execFileSync('redis-benchmark', ['-h', host, '-p', String(port), '-t', test, '-n', String(REDIS_REQUESTS), '-c', '50', '-P', '1', '--csv'], { encoding: 'utf8', timeout: 120_000 });
  const row = out.trim().split('\n').map((l) => l.split(',').map((c) => c.replaceAll('"', ''))).find((r) => r[0]?.toLowerCase() === test);
  if (row === undefined) throw new Error(`redis-benchmark printed no ${test} row:\n${out}`);
  return { rps: Number(row[1]), p50: Number(row[4]), p99: Number(row[6]) };
}

/** mysqlslap: "Average number of seconds to run all queries: 0.123 seconds" → queries per second. */
function mysqlslap(host: string, port: number, load: 'read' | 'mixed'): number {
  const out = execFileSync(
    'mysqlslap',
    ['--host', host, '--port', String(port), '--user', 'root', '--protocol=tcp', '--concurrency=8', '--iterations=1', `--number-of-queries=${SLAP_QUERIES}`, '--auto-generate-sql', `--auto-generate-sql-load-type=${load}`, '--auto-generate-sql-write-number=100'],
    { encoding: 'utf8', timeout: 180_000 },
  );
  const m = /Average number of seconds to run all queries: ([\d.]+) seconds/.exec(out);
  if (m === null) throw new Error(`mysqlslap printed no average:\n${out}`);
  return SLAP_QUERIES / Number(m[1]);
}

// One command line for both sides: only the address and the directory differ.
const redisArgs = (bind: string, port: number, dir: string): string[] => ['--bind', bind, '--port', String(port), '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
// (as root on the host, mariadbd needs --user=root; in the pod it runs as uid 999)
const mariadbScript = (bind: string, port: number, dir: string, user = ''): string =>
  `set -e; mariadb-install-db --no-defaults ${user} --datadir=${dir}/db --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1; ` +
  `exec mariadbd --no-defaults ${user} --datadir=${dir}/db --socket=${dir}/mysqld.sock --pid-file=${dir}/mysqld.pid --tmpdir=${dir} ` +
  `--bind-address=${bind} --port=${port} --skip-name-resolve --skip-grant-tables --innodb-buffer-pool-size=64M --innodb-log-file-size=16M --max-connections=64`;

const podSpec = (name: string, image: string, command: string[], port: number, cpu: string, memory: string): k8s.V1Pod =>
  restrictedPod(name, {
    image,
    command,
    mountPath: '/work',
    container: { ports: [{ containerPort: port }], readinessProbe: { tcpSocket: { port }, periodSeconds: 1 }, resources: { requests: { cpu, memory }, limits: { memory } } },
  });

async function waitPort(host: string, port: number, what: string): Promise<void> {
  const net = await import('node:net');
  await eventually(what, () => new Promise<boolean | undefined>((resolve) => {
    const s = net.connect({ host, port, timeout: 1_000 }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(undefined));
    s.on('timeout', () => { s.destroy(); resolve(undefined); });
  }), { timeoutMs: 60_000, intervalMs: 250 });
}

export default async function main(): Promise<void> {
  const parts = ensureNodeParts();
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  const cp = await startControlPlane({ name: 'bench-containers', binDir: resolveBinDir(), realNodes: true, log });
  const hostProcs: ChildProcess[] = [];
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-bench-containers-'));
  let node: Awaited<ReturnType<typeof startRealNode>> | undefined;
  try {
    node = await startRealNode({ controlPlane: cp, binDir: parts.nodeBinDir, imageDir: parts.imageDir, images: [path.join(parts.imageDir, ENGINE_IMAGE_ARCHIVE)], log });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = 'default';
    await eventually('default ServiceAccount', async () => (await core.readNamespacedServiceAccount({ namespace: ns, name: 'default' })) && true);
    await core.createNamespacedPod({ namespace: ns, body: podSpec('redis', 'dbtopo.local/redis:7.2.4', ['redis-server', ...redisArgs('0.0.0.0', 6379, '/work')], 6379, '500m', '512Mi') });
    await core.createNamespacedPod({ namespace: ns, body: podSpec('mariadb', 'dbtopo.local/mariadb:10.11', ['sh', '-c', mariadbScript('0.0.0.0', 3306, '/work')], 3306, '500m', '1Gi') });
    for (const [name, port] of [['redis', 6379], ['mariadb', 3306]] as const) {
      await core.createNamespacedService({ namespace: ns, body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port, targetPort: port }] } } });
    }
    // host processes: same binaries, same arguments, a loopback address of their own
    const ip = new AddressPool(process.pid).allocate();
    const [redisPort, mysqlPort] = (await freePorts(2)) as [number, number];
    fs.mkdirSync(path.join(hostDir, 'redis'));
    fs.mkdirSync(path.join(hostDir, 'mariadb'));
    hostProcs.push(spawn('redis-server', redisArgs(ip, redisPort, path.join(hostDir, 'redis')), { stdio: 'ignore' }));
    hostProcs.push(spawn('sh', ['-c', mariadbScript(ip, mysqlPort, path.join(hostDir, 'mariadb'), '--user=root')], { stdio: 'ignore', env: { ...process.env, PATH: `/usr/sbin:${process.env['PATH'] ?? ''}` } }));

    const pod = async (name: string): Promise<string> =>
      eventually(`pod ${name} Ready`, async () => {
        const p = await core.readNamespacedPod({ namespace: ns, name });
        return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p.status?.podIP : undefined;
      }, { timeoutMs: 120_000, intervalMs: 500 });
    const svc = async (name: string): Promise<string> => (await core.readNamespacedService({ namespace: ns, name })).spec?.clusterIP ?? '';
    const targets = {
      redis: { host: [ip, redisPort], 'pod IP': [await pod('redis'), 6379], Service: [await svc('redis'), 6379] },
      mariadb: { host: [ip, mysqlPort], 'pod IP': [await pod('mariadb'), 3306], Service: [await svc('mariadb'), 3306] },
    } as const;
    for (const [engine, ts] of Object.entries(targets)) for (const [side, [h, p]] of Object.entries(ts)) await waitPort(h, p, `${engine} ${side} ${h}:${p}`);
    const versions = fs.readFileSync(path.join(parts.imageDir, 'engines', 'versions'), 'utf8').trim().replaceAll('\n', ', ');
    console.log(`images: ${versions}; host: redis-server ${execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1]}`);
    console.log(`node: pods request 500m CPU, no CPU limit; ${os.cpus().length} CPUs; client on the host; ${ROUNDS} rounds, order rotated`);

    const sides = ['host', 'pod IP', 'Service'] as const;
    const redisRuns: Record<string, Record<string, RedisFigures[]>> = { set: {}, get: {} };
    const slapRuns: Record<string, Record<string, number[]>> = { read: {}, mixed: {} };
    for (let round = 0; round < ROUNDS; round++) {
      const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
      for (const side of order) {
        const [h, p] = targets.redis[side];
        for (const t of ['set', 'get'] as const) (redisRuns[t]![side] ??= []).push(redisBenchmark(h, p, t));
        const [mh, mp] = targets.mariadb[side];
        for (const l of ['read', 'mixed'] as const) (slapRuns[l]![side] ??= []).push(mysqlslap(mh, mp, l));
      }
    }
    for (const t of ['set', 'get'] as const) {
      const base = redisRuns[t]!['host']!;
      const [b50, b99, brps] = [median(base.map((f) => f.p50)), median(base.map((f) => f.p99)), median(base.map((f) => f.rps))];
      for (const side of sides) {
        const fs_ = redisRuns[t]![side]!;
        const [p50, p99, rps] = [median(fs_.map((f) => f.p50)), median(fs_.map((f) => f.p99)), median(fs_.map((f) => f.rps))];
        console.log(
          `redis ${t.toUpperCase()} ${side.padEnd(7)}: p50 ${p50.toFixed(3)} ms p99 ${p99.toFixed(3)} ms ${Math.round(rps)} req/s` +
            (side === 'host' ? '' : `  — latency p50 ×${(p50 / b50).toFixed(2)} p99 ×${(p99 / b99).toFixed(2)}, throughput ×${(rps / brps).toFixed(2)} of the host`),
        );
      }
    }
    for (const l of ['read', 'mixed'] as const) {
      const base = median(slapRuns[l]!['host']!);
      for (const side of sides) {
        const qps = median(slapRuns[l]![side]!);
        console.log(`mariadb mysqlslap ${l.padEnd(5)} ${side.padEnd(7)}: ${Math.round(qps)} queries/s` + (side === 'host' ? '' : `  — ×${(qps / base).toFixed(2)} of the host`));
      }
    }
    console.log('made of: pod IP − host = bridge + veth + network namespace + the pod cgroup; Service − pod IP = kube-proxy DNAT (iptables nat, conntrack)');
  } finally {
    for (const p of hostProcs) p.kill('SIGKILL');
    await node?.stop();
    await cp.stop();
    fs.rmSync(hostDir, { recursive: true, force: true });
  }
}
