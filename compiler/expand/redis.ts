// Redis in one member cluster: a server InstanceSet per shard, the Sentinels watching them and the
// twemproxy in front of them, as engine-specific SetPlans.

import type { EngineSpec } from '../../schemas/types/index.js';
import type { MemberPlacement, PlacedTopology, ResolvedTopology } from '../model.js';
import { names } from '../names.js';
import { nutcrackerYml, redisConf, sentinelConf, CONFIG_DIR } from './configmaps.js';
import { memberSlots, shardSpread, type SetPlan } from './instanceset.js';
import { MODES } from '../../schemas/modes.js';

function credentials(p: PlacedTopology): Pick<EngineSpec, 'credentials'> {
  const c = p.topology.credentials;
  return c ? { credentials: { password: { ...c.password } } } : {};
}

/** Every shard of the topology, wherever its servers run (Sentinels and proxies see them all). */
function allShards(p: PlacedTopology): Array<{ index: number; shard: string; instanceSet: string; masterName: string }> {
  const t = p.topology;
  const sharded = MODES[t.mode].sharded;
  return Array.from({ length: t.server.shards }, (_, i) => ({
    index: i,
    shard: String(i),
    instanceSet: names.serverSet(t.name, sharded ? i : undefined),
    masterName: names.masterName(t.name, sharded ? i : undefined),
  }));
}

/**
 * Ready when the server answers PING with PONG, not merely when its port is open: Redis listens
 * while it loads its RDB/AOF and answers LOADING until done. With credentials the password comes
 * from the PASSWORD variable (the Secret), through REDISCLI_AUTH, never the command line.
 */
export function redisReadiness(t: ResolvedTopology): string[] {
  const cli = `redis-cli -p ${t.server.port} ping`;
  return ['sh', '-c', `[ "$(${t.credentials ? 'REDISCLI_AUTH="$PASSWORD" ' : ''}${cli})" = PONG ]`];
}

export function redisPlans(p: PlacedTopology, member: MemberPlacement): SetPlan[] {
  const t = p.topology;
  const plans: SetPlan[] = [];
  const shards = allShards(p);
  // A spread shard is not monitored by this member cluster's Sentinels: a quorum of one member
  // cluster's Sentinels would fail over on its own, and each member cluster would elect its own
  // primary. Its failover waits for the one authority across member clusters (docs/updates.md).
  const monitored = shards.filter((x) => shardSpread(p, x.index) === undefined);
  for (const placed of member.shards) {
    const shard = shards[placed.index];
    const spreadOver = shardSpread(p, placed.index);
    const conf = redisConf(t, spreadOver !== undefined);
    const sentinel = t.sentinel && spreadOver === undefined
      ? { sentinel: { instanceSet: names.sentinelSet(t.name), masterName: shard?.masterName ?? t.name, quorum: t.sentinel.quorum } }
      : {};
    plans.push({
      topology: t,
      component: 'server',
      instanceSet: placed.instanceSet,
      ...(placed.shardLabel !== undefined ? { shardLabel: placed.shardLabel } : {}),
      containerName: 'redis',
      image: t.server.image,
      command: ['redis-server', `${CONFIG_DIR}/redis.conf`],
      port: { name: 'redis', number: t.server.port },
      readinessCommand: redisReadiness(t),
      resources: t.server.resources,
      dataMount: '/data',
      dataDir: '/data',
      configFiles: { 'redis.conf': conf },
      spread: true,
      antiAffinity: t.placement.antiAffinity,
      slots: placed.slots,
      templates: t.server.instances,
      roles: true,
      storage: t.server.storage,
      engine: {
        type: 'redis',
        version: t.version,
        port: t.server.port,
        ...credentials(p),
        replication: { mode: 'async', ...sentinel },
      },
      // One pod at a time, secondaries first, primary last (after a switchover).
      memberUpdateStrategy: 'Serial',
      // The lowest ordinal comes up first and becomes the primary the others follow.
      podManagementPolicy: 'OrderedReady',
      ...(spreadOver !== undefined ? { spreadOver } : {}),
    });
  }
  if (t.sentinel) {
    const s = t.sentinel;
    plans.push({
      topology: t,
      component: 'sentinel',
      instanceSet: names.sentinelSet(t.name),
      containerName: 'sentinel',
      image: s.image,
      command: ['redis-sentinel', `${CONFIG_DIR}/sentinel.conf`],
      port: { name: 'sentinel', number: s.port },
      resources: s.resources,
      dataDir: '/data',
      configFiles: {
        'sentinel.conf': sentinelConf(
          t,
          monitored.map((x) => ({ masterName: x.masterName, instanceSet: x.instanceSet, firstOrdinal: 0 })),
          shards.filter((x) => !monitored.includes(x)).map((x) => x.masterName),
        ),
      },
      spread: true,
      antiAffinity: t.placement.antiAffinity,
      slots: memberSlots(s.replicas, member.index),
      templates: [],
      roles: false,
      engine: {
        type: 'redis-sentinel',
        version: t.version,
        port: s.port,
        ...credentials(p),
        monitors: monitored.map((x) => ({ masterName: x.masterName, instanceSet: x.instanceSet, port: t.server.port, quorum: s.quorum })),
      },
      // Serial keeps a quorum of Sentinels up during updates.
      memberUpdateStrategy: 'Serial',
      podManagementPolicy: 'Parallel',
    });
  }
  if (t.proxy) {
    const x = t.proxy;
    plans.push({
      topology: t,
      component: 'proxy',
      instanceSet: names.proxySet(t.name),
      containerName: 'twemproxy',
      image: x.image,
      // -o '': log to stderr (kubectl logs) without opening a file. Debian's build (and images
      // built from it) defaults to /var/log/nutcracker/nutcracker.log, which uid 999 cannot
      // open: the proxy exited at once on the real node (test/node/rendered.test.ts).
      command: ['nutcracker', '-c', `${CONFIG_DIR}/nutcracker.yml`, '-o', ''],
      port: { name: 'proxy', number: x.port },
      resources: x.resources,
      dataDir: '/data',
      configFiles: { 'nutcracker.yml': nutcrackerYml(t, shards.map((b) => ({ shard: b.shard, instanceSet: b.instanceSet }))) },
      spread: false,
      antiAffinity: 'none',
      slots: memberSlots(x.replicas, member.index),
      templates: [],
      roles: false,
      engine: {
        type: 'twemproxy',
        version: x.version,
        port: x.port,
        ...credentials(p),
        backends: shards.map((b) => ({ shard: b.shard, instanceSet: b.instanceSet, port: t.server.port })),
      },
      // Stateless: the PDB keeps enough of them serving.
      memberUpdateStrategy: 'BestEffortParallel',
      podManagementPolicy: 'Parallel',
    });
  }
  return plans;
}
