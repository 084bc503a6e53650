import { describe, expect, it } from 'vitest';
import { defaultRevision, desiredPods } from '../../../controller/reconcile/instanceset/desired.js';
import { computeStatus, statusEqual } from '../../../controller/reconcile/instanceset/status.js';
import { instanceSet, observedPod } from './fixtures.js';

describe('computeStatus', () => {
  const is = instanceSet('r', { replicas: 3 });
  const rev = desiredPods(is)[0]?.revision ?? '';
  const now = Date.parse('2026-02-01T00:00:00Z');

  it('counts ready, updated and members, and names the primary', () => {
    const pods = [
      observedPod('r', 'r-2', { ready: true, role: 'secondary', revision: rev }),
      observedPod('r', 'r-0', { ready: true, role: 'primary', revision: rev }),
      observedPod('r', 'r-1', { ready: false, revision: 'old' }),
    ];
    const { status } = computeStatus(is, desiredPods(is), pods, now);
    expect(status).toMatchObject({ replicas: 3, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, primary: 'r-0', observedGeneration: 1, updateRevision: defaultRevision(is) });
    expect(status.membersStatus).toEqual([
      { podName: 'r-0', role: 'primary', ready: true },
      { podName: 'r-1', ready: false },
      { podName: 'r-2', role: 'secondary', ready: true },
    ]);
    expect(status.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'False' });
  });

  it('has no primary when two pods carry the label', () => {
    const pods = ['r-0', 'r-1'].map((n) => observedPod('r', n, { ready: true, role: 'primary' }));
    expect(computeStatus(is, desiredPods(is), pods, now).status.primary).toBeUndefined();
  });

  it('keeps the switchover record and the last primary; a failed switchover is a condition', () => {
    const pods = (primary: string) => ['r-0', 'r-1', 'r-2'].map((n) => observedPod('r', n, { ready: true, role: n === primary ? 'primary' : 'secondary', revision: rev }));
    const running = { from: 'r-0', to: 'r-1', phase: 'Running' as const, reason: 'requested by annotation', startedAt: '2026-02-01T00:00:01.000Z' };
    const during = computeStatus({ ...is, status: computeStatus(is, desiredPods(is), pods('r-0'), now).status }, desiredPods(is), pods('r-0'), now + 1000, { switchover: running }).status;
    expect(during).toMatchObject({ primary: 'r-0', switchover: running });
    expect(during.lastPrimary).toBeUndefined();
    // the cache lags (still Running) while this controller already finished it: the finished one is kept
    const done = { ...running, phase: 'Succeeded' as const, finishedAt: '2026-02-01T00:00:02.000Z', message: 'moved' };
    const after = computeStatus({ ...is, status: during }, desiredPods(is), pods('r-1'), now + 2000, { switchover: done }).status;
    expect(after).toMatchObject({ primary: 'r-1', lastPrimary: 'r-0', switchover: done });
    expect(after.conditions?.some((c) => c.type === 'SwitchoverFailed')).toBe(false);
    // a restarted controller (nothing in memory) keeps what status says
    expect(computeStatus({ ...is, status: after }, desiredPods(is), pods('r-1'), now + 3000).status).toMatchObject({ lastPrimary: 'r-0', switchover: done });
    const failed = { ...running, startedAt: '2026-02-01T00:01:00.000Z', phase: 'Failed' as const, message: 'NOGOODSLAVE' };
    const refused = computeStatus({ ...is, status: after }, desiredPods(is), pods('r-1'), now + 61_000, { switchover: failed }).status;
    expect(refused.conditions?.find((c) => c.type === 'SwitchoverFailed')).toMatchObject({ status: 'True', message: 'switchover from r-0 failed: NOGOODSLAVE' });
  });

  it('is stable at rest: recomputing with the stored status gives an equal status', () => {
    const pods = ['r-0', 'r-1', 'r-2'].map((n) => observedPod('r', n, { ready: true, revision: rev }));
    const first = computeStatus(is, desiredPods(is), pods, now).status;
    expect(first.conditions?.[0]).toMatchObject({ status: 'True', lastTransitionTime: '2026-02-01T00:00:00Z' });
    const stored = { ...is, status: first };
    const later = computeStatus(stored, desiredPods(stored), pods, now + 60_000).status;
    expect(statusEqual(first, later)).toBe(true);
  });

  it('holds availability back for minReadySeconds and asks for a recheck', () => {
    const slow = instanceSet('r', { replicas: 1, minReadySeconds: 10 });
    const pods = [observedPod('r', 'r-0', { ready: true, readySince: new Date(now - 4000).toISOString() })];
    const out = computeStatus(slow, desiredPods(slow), pods, now);
    expect(out.status.availableReplicas).toBe(0);
    expect(out.recheckAfterMs).toBe(6000);
  });

  it('a spread shard: Held while pods that left spec wait for the federation; Primary elsewhere by member cluster, not only by pod name', () => {
    const spread = instanceSet('s', { replicas: 1, defaultTemplateOrdinals: { discrete: [1] }, spread: { memberClusters: ['west', 'central'] }, roles: [{ name: 'primary', isExclusive: true, updatePriority: 2, participatesInQuorum: false }, { name: 'secondary', isExclusive: false, updatePriority: 1, participatesInQuorum: false }] });
    // ordinal 0 moved to central; its new pod there (same name) is the primary now
    spread.status = { federation: { primary: { memberCluster: 'central', pod: 's-0' }, memberCluster: 'west' } };
    const pods = [observedPod('s', 's-0', { ready: true, role: 'secondary' }), observedPod('s', 's-1', { ready: true, role: 'secondary' })];
    const { status } = computeStatus(spread, desiredPods(spread), pods, now, { held: ['s-0'] });
    expect(status.conditions?.find((c) => c.type === 'Held')).toMatchObject({ status: 'True', reason: 'WaitingForFederation', message: expect.stringMatching(/^s-0 left spec but stays until the federation manager releases it/) });
    expect(status.conditions?.find((c) => c.type === 'Primary')).toMatchObject({ status: 'False', reason: 'PrimaryInOtherMemberCluster' });
    expect(computeStatus(spread, desiredPods(spread), pods.slice(1), now).status.conditions?.some((c) => c.type === 'Held')).toBe(false);
  });
});
