// MySQL / MariaDB in one member cluster: the server InstanceSet and the HAProxy in front of it.

import type { EngineSpec } from '../../schemas/types/index.js';
import type { MemberPlacement, PlacedTopology } from '../model.js';
import { names } from '../names.js';
import { isMariadbVersion } from '../resolve/images.js';
import { CONFIG_DIR, haproxyCfg, myCnf } from './configmaps.js';
import { memberSlots, shardSpread, type SetPlan } from './instanceset.js';

/** The server binary of the image: MariaDB 11 drops the mysqld name. */
export function mysqlServerBinary(version: string): string {
  return isMariadbVersion(version) ? 'mariadbd' : 'mysqld';
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
      resources: t.server.resources,
      dataMount: '/var/lib/mysql',
      dataDir: '/var/lib/mysql',
      configFiles: { 'my.cnf': cnf },
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
