// Redis with Sentinel end to end: the controller bootstraps a 3-server shard (promote the lowest
// ordinal, the others follow), makes 3 sentinels monitor it (ensureMonitor), and on a failover
// relabels from Sentinel's +switch-master at once — measured from the +switch-master message to
// the new primary's label, with a role-probe period (30 s) far longer than the target (< 1 s).
// The admission guard is in force: specs come as the GitOps sync, the controller acts as its
// ServiceAccount, the test kubelet as a node.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, type KubeObject } from '../../schemas/types/index.js';
import { startController, type RunningController } from '../../controller/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { resourcePath, type KubeClient } from '../../controller/runtime/kube.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { startTestKubelet, type TestKubelet } from '../kubelet/kubelet.js';
import { clientFor, createInstanceSet, isPodReady, live, podsOf, testInstanceSet } from './controller-helpers.js';
import { guardedNamespace, type GuardedNamespace } from './guarded-namespace.js';

const NS = `ctl-sen-${Date.now().toString(36)}`;
let ids: GuardedNamespace;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-ctl-sen-'));
let client: KubeClient;
let kubelet: TestKubelet;
let controller: RunningController;
const redisClients: Redis[] = [];

const ip = (p: KubeObject): string => (p['status'] as { podIP: string }).podIP;
const role = (p: KubeObject): string | undefined => p.metadata.labels?.[LABELS.role];

beforeAll(async () => {
  ids = await guardedNamespace(NS);
  client = clientFor(ids.gitops);
  kubelet = await startTestKubelet({ kubeconfigPath: ids.nodeKubeconfig, nodeName: `ctl-sen-${process.pid}`, workDir, namespace: NS });
  const cm = (name: string, file: string, text: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS }, data: { [file]: text } });
  const cmPath = resourcePath('Pod', NS).replace('/pods', '/configmaps');
  await client.create(cmPath, cm('srv-config', 'redis.conf', 'port 6379\ndir /data\nreplica-announce-ip ${POD_IP}\nsave ""\nappendonly no\n'));
  await client.create(cmPath, cm('sen-config', 'sentinel.conf', 'port 26379\n'));

  const server = testInstanceSet(NS, 'srv', {
    replicas: 3,
    roles: [
      { name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true },
      { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false },
    ],
    roleProbe: { periodSeconds: 30, timeoutSeconds: 1, failureThreshold: 3 },
    engine: { type: 'redis', version: '7.2', port: 6379, replication: { mode: 'async', sentinel: { instanceSet: 'sen', masterName: 'shard0', quorum: 2 } } },
  });
  const sentinel = testInstanceSet(NS, 'sen', {
    replicas: 3,
    roleProbe: { periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3 },
    engine: { type: 'redis-sentinel', version: '7.2', port: 26379, monitors: [{ masterName: 'shard0', instanceSet: 'srv', port: 6379, quorum: 2 }] },
  });
  for (const [is, cmd, conf] of [
    [server, ['redis-server', '/config/redis.conf'], 'srv-config'],
    [sentinel, ['redis-sentinel', '/config/sentinel.conf'], 'sen-config'],
  ] as const) {
    const c = is.spec.template.spec.containers[0];
    if (c !== undefined) {
      c['command'] = [...cmd];
      c['securityContext'] = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
      c['ports'] = [{ containerPort: is.spec.engine.port }];
    }
    is.spec.template.spec['volumes'] = [{ name: 'config-template', configMap: { name: conf } }];
  }
  controller = await startController({ kubeconfig: ids.controller, namespace: NS, metricsPort: -1, healthPort: -1, log: makeLogger('warn') });
  await createInstanceSet(client, server);
  await createInstanceSet(client, sentinel);
}, 300_000);

afterAll(async () => {
  for (const r of redisClients) r.disconnect();
  await controller?.stop();
  await kubelet?.stop();
  client?.close();
  await ids?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('Redis with Sentinel', () => {
  it('bootstraps the shard, makes every sentinel monitor it, and relabels within a second of +switch-master', async () => {
    const servers = await eventually('3 servers labelled, one primary', async () => {
      const pods = live(await podsOf(client, NS, 'srv'));
      return pods.length === 3 && pods.every(isPodReady) && pods.filter((p) => role(p) === 'primary').length === 1 && pods.filter((p) => role(p) === 'secondary').length === 2 ? pods : undefined;
    }, { timeoutMs: 60_000 });
    // Bootstrap promotes the lowest ordinal that answers at the first probe round (role-plan.test.ts):
    // srv-0 unless it came up last, which start timing decides (seen once in 3 runs). That the
    // label sits on the engine the others replicate from is what the sentinels' view below checks.
    const oldPrimary = servers.find((p) => role(p) === 'primary') as KubeObject;

    const sentinels = await eventually('3 sentinels Ready', async () => {
      const pods = live(await podsOf(client, NS, 'sen'));
      return pods.length === 3 && pods.every(isPodReady) ? pods : undefined;
    }, { timeoutMs: 60_000 });
    const sc = sentinels.map((p) => {
      const r = new Redis({ host: ip(p), port: 26379, maxRetriesPerRequest: 1, lazyConnect: true });
      redisClients.push(r);
      return r;
    });
    // Every sentinel monitors shard0 at the labelled primary and has found the replicas and its peers.
    await eventually('sentinels monitor shard0 with 2 replicas and 2 peers', async () => {
      for (const s of sc) {
        const reply = (await s.call('SENTINEL', 'MASTER', 'shard0')) as string[];
        const m = new Map<string, string>();
        for (let i = 0; i + 1 < reply.length; i += 2) m.set(String(reply[i]), String(reply[i + 1]));
        if (m.get('ip') !== ip(oldPrimary) || m.get('num-slaves') !== '2' || m.get('num-other-sentinels') !== '2') return undefined;
      }
      return true;
    }, { timeoutMs: 60_000, intervalMs: 250 });

    // Listen for +switch-master ourselves to time the relabel from it.
    const sub = new Redis({ host: ip(sentinels[0] as KubeObject), port: 26379, maxRetriesPerRequest: 1 });
    redisClients.push(sub);
    let switchedAt = 0;
    let newIp = '';
    await sub.subscribe('+switch-master');
    sub.on('message', (_ch: string, msg: string) => {
      switchedAt = performance.now();
      newIp = msg.split(' ')[3] ?? '';
    });
    await sc[1]?.call('SENTINEL', 'FAILOVER', 'shard0');

    const relabelled = await eventually('new primary labelled', async () => {
      if (switchedAt === 0) return undefined;
      const pods = live(await podsOf(client, NS, 'srv'));
      const p = pods.find((x) => ip(x) === newIp);
      return p !== undefined && role(p) === 'primary' ? { at: performance.now(), pods } : undefined;
    }, { timeoutMs: 30_000, intervalMs: 20 });
    const ms = relabelled.at - switchedAt;
    console.log(`[controller-sentinel] +switch-master → primary label on the new primary: ${ms.toFixed(0)} ms (role probe period 30 s)`);
    expect(newIp).not.toBe(ip(oldPrimary));
    expect(relabelled.pods.filter((p) => role(p) === 'primary').length).toBe(1);
    expect(ms).toBeLessThan(1500);
    // The old primary, demoted by Sentinel, ends up labelled secondary.
    await eventually('old primary relabelled secondary', async () => {
      const p = live(await podsOf(client, NS, 'srv')).find((x) => x.metadata.name === oldPrimary.metadata.name);
      return p !== undefined && role(p) === 'secondary' ? true : undefined;
    }, { timeoutMs: 30_000 });
    await sleep(10);
  });
});
