// Semantic rules on one topology (the base file, or its view in one environment): a well-shaped
// file that still describes something that cannot run.
import type { Code } from '../diagnostics/codes.js';
import { ALL_MODES, MODES, PROXY_KIND, type ModeRule, type Need } from '../../schemas/modes.js';
import type { Topology, TopologyMode } from '../../schemas/types/topology.js';
import { MAX_NAME, tooLongName } from './names.js';
import type { Path } from './paths.js';
import { isWholeCpu } from './quantity.js';

export type Report = (code: Code, path: Path, message: string, hint?: string) => void;

// Which modes take Sentinel, a proxy and shards: the one table in schemas/modes.ts.
export const SENTINEL = Object.fromEntries(ALL_MODES.map((m) => [m, MODES[m].sentinel])) as Record<TopologyMode, Need>;
export const PROXY = Object.fromEntries(ALL_MODES.map((m) => [m, MODES[m].proxy])) as Record<TopologyMode, Need>;
export { PROXY_KIND };
/**
 * Parameters the controller and the compiler own: replication wiring, listeners, paths and
 * identity. Set by a user they would fight role management or break the pod layout.
 */
const MANAGED_PARAMETERS: Record<'redis' | 'mysql', ReadonlySet<string>> = {
  redis: new Set(['replicaof', 'slaveof', 'port', 'bind', 'dir', 'dbfilename', 'include', 'loadmodule', 'daemonize', 'pidfile', 'unixsocket', 'logfile', 'cluster-enabled', 'sentinel', 'replica-announce-ip', 'slave-announce-ip', 'tls-port']),
  mysql: new Set(['server_id', 'server-id', 'port', 'bind_address', 'bind-address', 'datadir', 'socket', 'read_only', 'read-only', 'super_read_only', 'super-read-only', 'log_bin', 'log-bin', 'gtid_mode', 'gtid_domain_id', 'gtid-domain-id', 'report_host', 'report-host', 'rpl_semi_sync_master_enabled', 'rpl_semi_sync_slave_enabled', 'rpl_semi_sync_source_enabled', 'rpl_semi_sync_replica_enabled', 'plugin_load_add', 'plugin-load-add', 'init_file', 'init-file', 'pid_file', 'pid-file']),
};

/** Parameter names that would carry a password in plain text. */
const SECRET_PARAMETER = /^(requirepass|masterauth|masteruser|password|passwd|secret)$|[-_.](password|passwd|secret)$/i;

export function checkTopology(t: Topology, report: Report): void {
  const maxReplicas = (MODES[t.mode] as ModeRule).maxReplicas;
  if (maxReplicas !== undefined && t.replicas > maxReplicas) {
    report('DBT3002', ['replicas'], `${t.engine} mode ${t.mode} runs ${maxReplicas === 1 ? 'one server' : `at most ${maxReplicas} servers`}; replicas is ${t.replicas}`);
  }
  if (MODES[t.mode].sharded && t.shards === undefined) {
    report('DBT3012', ['mode'], 'mode sharded needs a shard count');
  }
  if (!MODES[t.mode].sharded && t.shards !== undefined) {
    report('DBT3011', ['shards'], `shards is set but mode ${t.mode} is not sharded`);
  }

  const sentinelRule = SENTINEL[t.mode];
  if (t.sentinel && sentinelRule === 'forbidden') {
    report('DBT3022', ['sentinel'], `${t.engine} mode ${t.mode} takes no sentinel`);
  } else if (!t.sentinel && sentinelRule === 'required') {
    report('DBT3023', ['mode'], `${t.engine} mode ${t.mode} needs a sentinel block for failover`);
  }
  if (t.sentinel && t.sentinel.quorum > t.sentinel.replicas) {
    report('DBT3020', ['sentinel', 'quorum'], `sentinel quorum ${t.sentinel.quorum} is larger than the ${t.sentinel.replicas} sentinels, so no failover could ever be agreed`, `set quorum to at most ${t.sentinel.replicas}; ${Math.floor(t.sentinel.replicas / 2) + 1} is a majority`);
  }

  const proxyRule = PROXY[t.mode];
  if (t.proxy && proxyRule === 'forbidden') {
    report('DBT3030', ['proxy'], `${t.engine} mode ${t.mode} takes no proxy`, t.mode === 'replication' ? 'for Redis replication behind twemproxy use mode proxied-replication' : undefined);
  } else if (!t.proxy && proxyRule === 'required') {
    report('DBT3031', ['mode'], `${t.engine} mode ${t.mode} needs a proxy block`);
  }
  if (t.proxy?.kind && t.proxy.kind !== PROXY_KIND[t.engine]) {
    report('DBT3032', ['proxy', 'kind'], `proxy kind ${t.proxy.kind} does not serve ${t.engine}; use ${PROXY_KIND[t.engine]}`);
  }

  if (t.replication && t.engine === 'redis' && t.replication.mode !== 'async') {
    report('DBT3100', ['replication', 'mode'], `${t.replication.mode} replication is not available for redis`);
  }

  if (t.replication?.mode === 'semi-sync' && t.engine === 'mysql' && t.replicas < 2) {
    report('DBT3101', ['replication', 'mode'], `semi-sync replication with replicas ${t.replicas}: there is no replica to acknowledge commits`);
  }

  if (t.engine === 'mysql' && t.credentials === undefined) {
    // mariadbd on an empty volume has only local root accounts (mariadb-install-db): without an
    // account from a Secret, the controller's probes, replication and clients are all refused.
    report('DBT3102', ['engine'], 'mysql topology without credentials: the servers get only local root accounts, so the controller cannot probe or wire them and no client can log in');
  }

  const instances = t.instances ?? [];
  const sum = instances.reduce((s, i) => s + i.replicas, 0);
  if (sum > t.replicas) {
    report('DBT3040', ['instances'], `instance templates ask for ${sum} servers per shard but replicas is ${t.replicas}`);
  }
  const seen = new Set<string>();
  instances.forEach((inst, i) => {
    if (seen.has(inst.name)) report('DBT3041', ['instances', i, 'name'], `instance name "${inst.name}" is used twice`);
    seen.add(inst.name);
  });

  if (t.placement?.exclusiveCpu) {
    const cpu = t.resources?.cpu;
    if (cpu === undefined) {
      report('DBT3050', ['placement', 'exclusiveCpu'], 'exclusiveCpu is set but resources.cpu is not', 'set resources.cpu to a whole number of CPUs, e.g. "2"');
    } else if (!isWholeCpu(cpu)) {
      report('DBT3050', ['resources', 'cpu'], `exclusiveCpu needs whole CPUs; cpu is "${cpu}"`);
    }
    instances.forEach((inst, i) => {
      const c = inst.resources?.cpu;
      if (c !== undefined && !isWholeCpu(c)) report('DBT3050', ['instances', i, 'resources', 'cpu'], `exclusiveCpu needs whole CPUs; instance ${inst.name} has cpu "${c}"`);
    });
  }

  const long = tooLongName(t);
  if (long) {
    const over = long.name.length - MAX_NAME;
    report('DBT3060', ['name'], `the ${long.what} name "${long.name}" is ${long.name.length} characters, ${over} over the limit of ${MAX_NAME}`, `shorten the topology name by at least ${over} characters`);
  }

  for (const key of Object.keys(t.parameters ?? {})) {
    if (SECRET_PARAMETER.test(key)) report('DBT3110', ['parameters', key], `parameter "${key}" would put a credential in plain text into the config`);
    else if (MANAGED_PARAMETERS[t.engine].has(key.toLowerCase())) report('DBT3111', ['parameters', key], `parameter "${key}" is set by dbtopo for ${t.engine}`);
  }
}
