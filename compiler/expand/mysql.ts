// MySQL / MariaDB in one member cluster: the server InstanceSet and the HAProxy in front of it.

import type { EngineSpec } from '../../schemas/types/index.js';
import type { MemberPlacement, PlacedTopology } from '../model.js';
import { names } from '../names.js';
import { isMariadbVersion } from '../resolve/images.js';
import { CONFIG_DIR, haproxyCfg, myCnf, MYSQL_INIT_SQL, MYSQL_SOCKET, mysqlInitSql } from './configmaps.js';
import { memberSlots, shardSpread, type SetPlan } from './instanceset.js';

/** The server binary of the image: MariaDB 11 drops the mysqld name. */
export function mysqlServerBinary(version: string): string {
  return isMariadbVersion(version) ? 'mariadbd' : 'mysqld';
}

/**
 * Ready when the server answers on its socket: `<admin> ping` exits 0 once mariadbd accepts
 * connections (also when it refuses the OS user's login, which still proves it is up), and not
 * when it hangs, when its port would still accept connections (the kernel's backlog). The
 * socket is my.cnf's.
 */
export function mysqlReadiness(version: string): string[] {
  return [isMariadbVersion(version) ? 'mariadb-admin' : 'mysqladmin', `--socket=${MYSQL_SOCKET}`, '--connect-timeout=1', 'ping'];
}

/** The mount of the server's data volume. */
export const MYSQL_DATA_DIR = '/var/lib/mysql';

/**
 * The init container that gives a server on an empty volume its data directory, as the official
 * images' entrypoints do: MariaDB's mariadb-install-db (MySQL's mysqld --initialize-insecure)
 * with the rendered my.cnf, so its InnoDB settings are the server's. A directory that already
 * holds system tables (ours, one the official image made, a restored one) is never touched. The
 * new directory is built beside them and moved in with the system tables last, so a pod killed
 * half-way starts over instead of running on half a directory. No account is made here: the
 * server creates the admin account itself at every start (configmaps.ts mysqlInitSql).
 * DBTOPO_DATADIR and DBTOPO_CONFIG only exist for a test that runs this script outside a pod.
 */
export function initDatadirScript(version: string): string {
  const install = isMariadbVersion(version)
    ? 'mariadb-install-db --defaults-file="$config/my.cnf" --datadir="$staging" --tmpdir="${TMPDIR:-/tmp}" --auth-root-authentication-method=normal --skip-test-db'
    : 'mysqld --defaults-file="$config/my.cnf" --datadir="$staging" --tmpdir="${TMPDIR:-/tmp}" --initialize-insecure';
  return [
    'set -eu',
    `datadir="\${DBTOPO_DATADIR:-${MYSQL_DATA_DIR}}"`,
    `config="\${DBTOPO_CONFIG:-${CONFIG_DIR}}"`,
    'if [ -d "$datadir/mysql" ]; then echo "data directory $datadir already initialised"; exit 0; fi',
    'staging="$datadir/.dbtopo-initdb"',
    'rm -rf "$staging"',
    'echo "initialising the data directory $datadir"',
    install,
    'for f in "$staging"/* "$staging"/.[!.]*; do',
    '  [ -e "$f" ] || continue',
    '  name="$(basename "$f")"',
    '  [ "$name" = mysql ] && continue',
    '  rm -rf "${datadir:?}/$name"', // left by an attempt cut off after this point
    '  mv "$f" "$datadir/"',
    'done',
    'mv "$staging/mysql" "$datadir/mysql"',
    'rmdir "$staging"',
  ].join('\n');
}

function credentials(p: PlacedTopology): Pick<EngineSpec, 'credentials'> {
  const c = p.topology.credentials;
  if (!c) return {};
  return { credentials: { password: { ...c.password }, ...(c.username ? { username: { ...c.username } } : {}) } };
}

export function mysqlPlans(p: PlacedTopology, member: MemberPlacement): SetPlan[] {
  const t = p.topology;
  const plans: SetPlan[] = [];
  const cnf = myCnf(t);
  const initSql = mysqlInitSql(t);
  for (const placed of member.shards) {
    const spreadOver = shardSpread(p, placed.index);
    plans.push({
      topology: t,
      component: 'server',
      instanceSet: placed.instanceSet,
      containerName: 'mysql',
      image: t.server.image,
      command: [mysqlServerBinary(t.version), `--defaults-file=${CONFIG_DIR}/my.cnf`],
      port: { name: 'mysql', number: t.server.port },
      readinessCommand: mysqlReadiness(t.version),
      resources: t.server.resources,
      dataMount: MYSQL_DATA_DIR,
      dataDir: MYSQL_DATA_DIR,
      configFiles: { 'my.cnf': cnf, ...(initSql !== undefined ? { [MYSQL_INIT_SQL]: initSql } : {}) },
      initSteps: [{ name: 'init-datadir', script: initDatadirScript(t.version) }],
      serverIdFromUid: true,
      spread: true,
      antiAffinity: t.placement.antiAffinity,
      slots: placed.slots,
      templates: t.server.instances,
      roles: true,
      storage: t.server.storage,
      engine: { type: 'mysql', version: t.version, port: t.server.port, ...credentials(p), replication: { mode: t.replication.mode } },
      memberUpdateStrategy: 'Serial',
      podManagementPolicy: 'OrderedReady',
      ...(spreadOver !== undefined ? { spreadOver } : {}),
    });
  }
  if (t.proxy) {
    const x = t.proxy;
    const server = names.serverSet(t.name, undefined);
    plans.push({
      topology: t,
      component: 'proxy',
      instanceSet: names.proxySet(t.name),
      containerName: 'haproxy',
      image: x.image,
      command: ['haproxy', '-W', '-db', '-f', `${CONFIG_DIR}/haproxy.cfg`],
      port: { name: 'proxy', number: x.port },
      resources: x.resources,
      dataDir: '/data',
      configFiles: { 'haproxy.cfg': haproxyCfg(t, [{ shard: '0', instanceSet: server }]) },
      spread: false,
      antiAffinity: 'none',
      slots: memberSlots(x.replicas, member.index),
      templates: [],
      roles: false,
      engine: {
        type: 'haproxy',
        version: x.version,
        port: x.port,
        backends: [{ shard: '0', instanceSet: server, port: t.server.port }],
      },
      memberUpdateStrategy: 'BestEffortParallel',
      podManagementPolicy: 'Parallel',
    });
  }
  return plans;
}
