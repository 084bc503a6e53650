import { describe, expect, it } from 'vitest';
import { MYSQL_MAX_BEHIND } from '../../../controller/engines/mysql/engine.js';
import { REDIS_MAX_BEHIND } from '../../../controller/engines/redis/engine.js';
import { planPods, remotePrimary, replicationFacts } from '../../../controller/reconcile/instanceset/update.js';
import { desiredPods, type DesiredPod } from '../../../controller/reconcile/instanceset/desired.js';
import { computeStatus } from '../../../controller/reconcile/instanceset/status.js';
import { instanceSet, observedPod } from './fixtures.js';
import type { KubeObject } from '../../../schemas/types/index.js';

/** Each engine's catch-up bound (Engine.maxBehind). */
const MAX_BEHIND = { redis: REDIS_MAX_BEHIND, mysql: MYSQL_MAX_BEHIND };

const pod = (name: string, labels: Record<string, string>, ready: boolean, deleting = false): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const desired = (name: string, revision: string): DesiredPod => ({ name, ordinal: Number(name.split('-').at(-1)), revision, pod: pod(name, {}, false), pvcs: [] });

describe('update step: observed pods → plan input', () => {
  it('reads revision and role labels, readiness, termination, and each pod’s own target revision', () => {
    const got = planPods(
      [desired('db-0', 'a'), desired('db-1', 'b')],
      [
        pod('db-0', { 'dbtopo.dev/revision': 'a', 'dbtopo.dev/role': 'primary' }, true),
        pod('db-1', { 'dbtopo.dev/revision': 'x' }, false, true),
        pod('db-7', { 'dbtopo.dev/revision': 'x' }, true),
      ],
    );
    expect(got).toEqual([
      { name: 'db-0', revision: 'a', updateRevision: 'a', ready: true, role: 'primary', terminating: false },
      { name: 'db-1', revision: 'x', updateRevision: 'b', ready: false, terminating: true },
    ]);
  });
});

describe('update step: engine probes → replication facts', () => {
  const primary = { name: 'db-0', target: { podName: 'db-0', host: '10.244.0.5', port: 3306 }, probe: { reachable: true, role: 'primary' as const, offset: 1000 } };
  const follows = (linkUp: boolean, offset: number, host = '10.244.0.5') => ({ reachable: true, role: 'secondary' as const, following: { host, port: 3306, linkUp }, offset });

  it('caught up: follows the primary’s address with the link up, within the engine’s lag bound', () => {
    const facts = replicationFacts(
      primary,
      [
        { name: 'db-1', probe: follows(true, 1000) },
        { name: 'db-2', probe: follows(true, 1000 - MAX_BEHIND.mysql.limit) },
        { name: 'db-3', probe: follows(true, 1002) },
      ],
      MAX_BEHIND.mysql,
    );
    for (const n of ['db-1', 'db-2', 'db-3']) expect(facts.get(n)).toEqual({ replicating: true, caughtUp: true });
  });

  it('says why not: link down, behind, another primary, nobody, unreachable, no primary', () => {
    const facts = replicationFacts(
      primary,
      [
        { name: 'db-1', probe: follows(false, 1000) },
        { name: 'db-2', probe: follows(true, 180) },
        { name: 'db-3', probe: follows(true, 1000, '10.244.0.9') },
        { name: 'db-4', probe: { reachable: true, readOnly: true, offset: 3 } },
        { name: 'db-5', probe: { reachable: false, error: 'connect ECONNREFUSED' } },
      ],
      MAX_BEHIND.mysql,
    );
    expect(facts.get('db-1')).toEqual({ replicating: false, caughtUp: false, detail: 'link down' });
    expect(facts.get('db-2')).toEqual({ replicating: true, caughtUp: false, detail: '820 transactions behind' });
    expect(facts.get('db-3')?.detail).toBe('follows 10.244.0.9:3306, not db-0');
    expect(facts.get('db-4')?.detail).toBe('replicates from nobody');
    expect(facts.get('db-5')?.detail).toMatch(/unreachable \(connect ECONNREFUSED\)/);
    expect(replicationFacts(undefined, [{ name: 'db-1', probe: follows(true, 1000) }], MAX_BEHIND.redis).get('db-1')).toMatchObject({ caughtUp: false, detail: 'no single primary in the engines' });
  });
});

describe('update step: a spread shard whose primary is in another member cluster', () => {
  const creds = { username: 'dbadmin', password: 'pw' };
  const local = (name: string, host: string | undefined, linkUp = true) => ({
    name,
    target: { podName: name, host: `10.244.1.${name.at(-1)}`, port: 3306, ...creds },
    probe: host === undefined ? { reachable: true, readOnly: true } : { reachable: true, role: 'secondary' as const, following: { host, port: 3306, linkUp }, offset: 1000 },
  });
  const engine = (role: 'primary' | 'secondary') => {
    const asked: Array<{ host: string; username?: string }> = [];
    return { asked, probe: async (t: { host: string; username?: string }) => (asked.push(t), { reachable: true, role, offset: 1000 }) };
  };

  it('judges the updated secondaries against the engine they all follow, probed with the shard’s credentials, when it answers as primary', async () => {
    const e = engine('primary');
    const p = await remotePrimary(e, [local('db-0', '10.244.0.5'), local('db-1', '10.244.0.5')]);
    expect(p).toMatchObject({ target: { host: '10.244.0.5', port: 3306, username: 'dbadmin' }, probe: { role: 'primary', offset: 1000 } });
    expect(e.asked).toHaveLength(1);
    expect(replicationFacts(p, [{ name: 'db-1', probe: local('db-1', '10.244.0.5').probe }], MAX_BEHIND.mysql).get('db-1')).toEqual({ replicating: true, caughtUp: true });
  });

  it('none: replicas here follow different engines, none has a live link, or the one they follow is no primary', async () => {
    expect(await remotePrimary(engine('primary'), [local('db-0', '10.244.0.5'), local('db-1', '10.244.0.6')])).toBeUndefined();
    expect(await remotePrimary(engine('primary'), [local('db-0', '10.244.0.5', false), local('db-1', undefined)])).toBeUndefined();
    expect(await remotePrimary(engine('secondary'), [local('db-0', '10.244.0.5')])).toBeUndefined();
  });
});

describe('update step: why the update waits, in status', () => {
  it('an Updated=False condition carries the reason while pods are outdated, and none at rest', () => {
    const is = instanceSet('r', { replicas: 3 });
    const rev = desiredPods(is)[0]?.revision ?? '';
    const now = Date.parse('2026-02-01T00:00:00Z');
    const rolling = [
      observedPod('r', 'r-0', { ready: true, role: 'primary', revision: 'old' }),
      observedPod('r', 'r-1', { ready: true, role: 'secondary', revision: 'old' }),
      observedPod('r', 'r-2', { ready: true, role: 'secondary', revision: rev }),
    ];
    const why = 'waiting for r-2 to catch up with r-0: link down';
    const { status } = computeStatus(is, desiredPods(is), rolling, now, { updateWaiting: why });
    expect(status.conditions?.find((c) => c.type === 'Updated')).toMatchObject({ status: 'False', reason: 'RollingUpdate', message: `1/3 pods at the update revision; waiting: ${why}` });
    const done = rolling.map((p) => observedPod('r', p.metadata.name, { ready: true, role: p.metadata.labels?.['dbtopo.dev/role'] ?? '', revision: rev }));
    expect(computeStatus(is, desiredPods(is), done, now).status.conditions?.find((c) => c.type === 'Updated')).toBeUndefined();
  });
});
