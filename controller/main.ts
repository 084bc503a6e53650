// Entry point: node dist/controller/main.js --kubeconfig K [--namespace NS] [--metrics-port P]
// [--health-port P] [--leader-elect] [--kube-api-qps N --kube-api-burst N]. Stops gracefully on
// SIGTERM/SIGINT (drains reconciles, releases the leader Lease); exits non-zero when leadership is
// lost, so a fresh start re-lists. `--mode federation` runs the federation manager instead
// (federation/manager.ts): against the federation API server, reaching the member clusters through
// the cluster Secrets in --cluster-secrets-namespace.
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_FEDERATION_PERIOD_MS, startFederationManager } from './federation/manager.js';
import { startController } from './manager.js';
import { DEFAULT_ROLE_WATCH_MS } from './roles/loop.js';
import { makeLogger } from './runtime/log.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1 || n > 65535) throw new InvalidArgumentError('a port number 0..65535 (0 = any free port, -1 = off)');
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('a number >= 0');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

const program = new Command()
  .name('dbtopo-controller')
  .description('Turns every InstanceSet into running, role-labelled pods; aggregates Cluster status.\nWith --mode federation: the one authority of shards spread over member clusters (docs/federation.md).')
  .option('--mode <mode>', 'member: the member cluster controller; federation: the federation manager (run against the federation API server)', 'member')
  .option('--cluster-secrets-namespace <ns>', 'federation mode: namespace of the member clusters\' cluster Secrets (Argo CD\'s shape) and of the Lease', process.env['POD_NAMESPACE'] ?? 'dbtopo-system')
  .option('--federation-period-ms <ms>', 'federation mode: between rounds over every spread shard', positive, DEFAULT_FEDERATION_PERIOD_MS)
  .option('--kubeconfig <path>', 'kubeconfig file (default: in-cluster config or $KUBECONFIG)')
  .option('--namespace <ns>', 'watch only this namespace (default: all namespaces)')
  .option('--metrics-port <port>', 'port of /metrics (-1 = off)', port, 8080)
  .option('--health-port <port>', 'port of /healthz and /readyz (-1 = off)', port, 8081)
  .option('--bind-address <addr>', 'address the HTTP endpoints listen on', '0.0.0.0')
  .option('--leader-elect', 'run only while holding the Lease (for more than one replica)', false)
  .option('--lease-namespace <ns>', 'namespace of the Lease (default: $POD_NAMESPACE, --namespace, or default)')
  .option('--lease-name <name>', 'name of the Lease', 'dbtopo-controller')
  .option('--workers <n>', 'concurrent reconciles per controller', positive, 4)
  .option('--kube-api-qps <n>', 'client-side limit of API requests per second, watches excepted (0 = none)', nonNegative, 50)
  .option('--kube-api-burst <n>', 'requests allowed at once above --kube-api-qps', positive, 100)
  .option('--no-role-probes', 'do not probe engines (role labels and replication wiring off)')
  .option('--role-watch-ms <ms>', 'between probe rounds, check engine roles this often and probe a set at once when one changed (0 = off)', nonNegative, DEFAULT_ROLE_WATCH_MS)
  .option('--log-level <level>', 'pino level: trace, debug, info, warn, error', process.env['DBTOPO_LOG_LEVEL'] ?? 'info');

program.parse();
const o = program.opts<{
  kubeconfig?: string;
  namespace?: string;
  metricsPort: number;
  healthPort: number;
  bindAddress: string;
  leaderElect: boolean;
  leaseNamespace?: string;
  leaseName: string;
  workers: number;
  kubeApiQps: number;
  kubeApiBurst: number;
  roleProbes: boolean;
  roleWatchMs: number;
  logLevel: string;
  mode: string;
  clusterSecretsNamespace: string;
  federationPeriodMs: number;
}>();

const log = makeLogger(o.logLevel);
if (o.mode !== 'member' && o.mode !== 'federation') program.error(`--mode must be member or federation, not ${o.mode}`, { exitCode: 2 });
const onLostLeadership = (): void => {
  log.error('leadership lost; exiting so that the next start re-lists from scratch');
  process.exit(1);
};
const start = async (): Promise<{ stop(): Promise<void>; metricsPort: number | undefined; healthPort: number | undefined }> => {
  if (o.mode === 'federation') {
    const m = await startFederationManager({
      ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
      secretsNamespace: o.clusterSecretsNamespace,
      ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
      periodMs: o.federationPeriodMs,
      leaderElect: o.leaderElect,
      leaseName: o.leaseName === 'dbtopo-controller' ? 'dbtopo-federation' : o.leaseName,
      ...(process.env['POD_NAME'] !== undefined ? { identity: process.env['POD_NAME'] } : {}),
      log,
      onLostLeadership,
    });
    return { stop: m.stop, metricsPort: undefined, healthPort: undefined };
  }
  return await startController({
    ...(o.kubeconfig !== undefined ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.namespace !== undefined ? { namespace: o.namespace } : {}),
    metricsPort: o.metricsPort,
    healthPort: o.healthPort,
    bindAddress: o.bindAddress,
    leaderElect: o.leaderElect,
    leaseNamespace: o.leaseNamespace ?? process.env['POD_NAMESPACE'] ?? o.namespace ?? 'default',
    leaseName: o.leaseName,
    ...(process.env['POD_NAME'] !== undefined ? { identity: process.env['POD_NAME'] } : {}),
    workers: o.workers,
    ...(o.kubeApiQps > 0 ? { rateLimit: { qps: o.kubeApiQps, burst: o.kubeApiBurst } } : {}),
    roleProbes: o.roleProbes,
    roleWatchMs: o.roleWatchMs,
    log,
    onLostLeadership,
  });
};
const controller = await start().catch((err: unknown) => {
  log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'could not start the controller');
  process.exit(1);
});

let stopping = false;
const shutdown = (signal: string): void => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  // Bounded: a stuck API call must not keep the pod from terminating.
  setTimeout(() => process.exit(1), 20_000).unref();
  controller.stop().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
log.info({ mode: o.mode, metricsPort: controller.metricsPort, healthPort: controller.healthPort, leaderElect: o.leaderElect }, 'dbtopo controller running');
