// dbtopo status, the pure part: shards across member clusters, their primaries, updates and
// switchovers in progress, and the problems that make the command exit 1.
import { describe, expect, it } from 'vitest';
import { buildStatus, renderStatus, type PodLike } from '../../compiler/cli/status-report.js';
import { ANNOTATIONS, API_VERSION, LABELS, type InstanceSet } from '../../schemas/types/index.js';

function set(name: string, opts: { shard?: string; replicas?: number; server?: boolean; update?: string; switchover?: string } = {}): InstanceSet {
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: {
      name,
      namespace: 'db',
      labels: { [LABELS.cluster]: 'orders', [LABELS.component]: opts.server === false ? 'sentinel' : 'server', ...(opts.shard !== undefined ? { [LABELS.shard]: opts.shard } : {}) },
      ...(opts.switchover !== undefined ? { annotations: { [ANNOTATIONS.switchover]: opts.switchover } } : {}),
    },
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: { [LABELS.instanceSet]: name } },
      template: { spec: { containers: [] } },
      serviceName: name,
      engine: { type: 'redis', version: '7.2', port: 6379 },
      ...(opts.server === false ? {} : { roles: [{ name: 'primary', isExclusive: true, updatePriority: 2, participatesInQuorum: false }, { name: 'secondary', isExclusive: false, updatePriority: 1, participatesInQuorum: false }] }),
    },
    ...(opts.update !== undefined ? { status: { updateRevision: opts.update } } : {}),
  } as unknown as InstanceSet;
}

const pod = (setName: string, i: number, role: string | undefined, ready = true, revision = 'r1'): PodLike => ({
  metadata: { name: `${setName}-${i}`, namespace: 'db', labels: { [LABELS.instanceSet]: setName, [LABELS.revision]: revision, ...(role !== undefined ? { [LABELS.role]: role } : {}) } },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('buildStatus', () => {
  it('one shard spread over two member clusters: one primary across both, healthy, exit 0', () => {
    const r = buildStatus('prod', [
      { member: 'eu-west', context: 'eu-west', sets: [set('orders-0')], pods: [pod('orders-0', 0, 'primary'), pod('orders-0', 1, 'secondary')] },
      { member: 'eu-central', context: 'eu-central', sets: [set('orders-0')], pods: [pod('orders-0', 0, 'secondary'), pod('orders-0', 1, 'secondary')] },
    ]);
    expect(r.ok).toBe(true);
    expect(r.shards).toHaveLength(1);
    expect(r.shards[0]?.sets.map((s) => [s.member, s.primary ?? '-'])).toEqual([['eu-central', '-'], ['eu-west', 'orders-0-0']]);
    expect(renderStatus(r)).toMatch(/eu-west {2}orders-0 \(server\) {2}2\/2 ready {2}primary orders-0-0/);
  });

  it('two primaries across member clusters, a pod not Ready, a member cluster unreachable: each is named, exit 1', () => {
    const r = buildStatus('prod', [
      { member: 'a', sets: [set('s-0', { shard: '0' })], pods: [pod('s-0', 0, 'primary'), pod('s-0', 1, 'secondary', false)] },
      { member: 'b', sets: [set('s-0', { shard: '0' })], pods: [pod('s-0', 0, 'primary'), pod('s-0', 1, 'secondary')] },
      { member: 'c', error: 'connect ECONNREFUSED', sets: [], pods: [] },
    ]);
    expect(r.ok).toBe(false);
    expect(r.shards[0]?.problems).toEqual(['2 pods are labelled primary: a/s-0-0, b/s-0-0', 'a/s-0: not Ready: s-0-1']);
    expect(r.members.find((m) => m.member === 'c')?.error).toBe('connect ECONNREFUSED');
    expect(renderStatus(r)).toMatch(/member cluster c: UNREACHABLE: connect ECONNREFUSED/);
  });

  it('an update and a switchover in progress are shown; a shard with no primary is a problem; sentinels need none', () => {
    const r = buildStatus('dev', [
      {
        member: 'm',
        sets: [set('c-server', { update: 'r2', switchover: 'c-server-1' }), set('c-sentinel', { server: false, replicas: 1 })],
        pods: [pod('c-server', 0, 'secondary', true, 'r2'), pod('c-server', 1, 'secondary', true, 'r1'), pod('c-sentinel', 0, undefined)],
      },
    ]);
    const [shard] = r.shards;
    expect(shard?.sets.map((s) => s.name)).toEqual(['c-server', 'c-sentinel']);
    expect(shard?.sets[0]).toMatchObject({ updating: { updated: 1, of: 2, revision: 'r2' }, switchover: 'c-server-1' });
    expect(shard?.sets[1]?.updating).toBeUndefined();
    expect(shard?.problems).toEqual(['no pod is labelled primary']);
    expect(renderStatus(r)).toMatch(/updating: 1\/2 on revision r2; switchover requested \(to c-server-1\)/);
  });

  it("shows the controller's switchover record: running, failed (with why), done", () => {
    const base = set('c-server');
    const rec = { from: 'c-server-0', to: 'c-server-1', reason: 'requested by annotation', startedAt: '2026-12-02T07:00:00.000Z' };
    const report = (status: InstanceSet['status']) =>
      renderStatus(buildStatus('dev', [{ member: 'm', sets: [{ ...base, status }], pods: [pod('c-server', 0, 'primary'), pod('c-server', 1, 'secondary')] }]));
    expect(report({ switchover: { ...rec, phase: 'Running' } })).toMatch(/switchover running: c-server-0 → c-server-1 since 2026-12-02T07:00:00.000Z \(requested by annotation\)/);
    expect(report({ switchover: { ...rec, phase: 'Failed', finishedAt: '2026-12-02T07:00:03.000Z', message: 'NOGOODSLAVE' } })).toMatch(/last switchover FAILED at 2026-12-02T07:00:03.000Z: NOGOODSLAVE/);
    const done = buildStatus('dev', [{ member: 'm', sets: [{ ...base, status: { lastPrimary: 'c-server-0', switchover: { ...rec, phase: 'Succeeded', message: 'primary moved from c-server-0 to c-server-1 in 240 ms' } } }], pods: [] }]);
    expect(done.shards[0]?.sets[0]).toMatchObject({ lastPrimary: 'c-server-0', lastSwitchover: { phase: 'Succeeded' } });
    expect(renderStatus(done)).toMatch(/last switchover at 2026-12-02T07:00:00.000Z: primary moved from c-server-0 to c-server-1/);
  });
});
