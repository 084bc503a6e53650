import { describe, expect, it } from 'vitest';
import { desiredPods } from '../../../controller/reconcile/instanceset/desired.js';
import { planPods } from '../../../controller/reconcile/instanceset/plan.js';
import type { InstanceSet, KubeObject, RoleDefinition } from '../../../schemas/types/index.js';
import { instanceSet, observedPod } from './fixtures.js';

const vct = [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }];
const pvc = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, uid: `uid-${name}`, labels: { 'dbtopo.dev/instance-set': 'r' } } });
const created = (p: ReturnType<typeof planPods>): string[] => p.createPods.map((x) => x.metadata.name);

describe('planPods', () => {
  it('Parallel creates every missing pod, with its PVCs first', () => {
    const is = instanceSet('r', { replicas: 3, volumeClaimTemplates: vct });
    const plan = planPods(is, desiredPods(is), [observedPod('r', 'r-1', { ready: true })], [pvc('data-r-1')]);
    expect(created(plan)).toEqual(['r-0', 'r-2']);
    expect(plan.createPvcs.map((p) => p.metadata.name)).toEqual(['data-r-0', 'data-r-2']);
    expect(plan.deletePods).toEqual([]);
  });

  it('Parallel honours parallelPodManagementConcurrency counting pods not yet Ready', () => {
    const is = instanceSet('r', { replicas: 5, parallelPodManagementConcurrency: 2 });
    expect(created(planPods(is, desiredPods(is), [], []))).toEqual(['r-0', 'r-1']);
    expect(created(planPods(is, desiredPods(is), [observedPod('r', 'r-0'), observedPod('r', 'r-1', { ready: true })], []))).toEqual(['r-2']);
  });

  it('OrderedReady creates one pod at a time, the next only when its predecessors are Ready', () => {
    const is = instanceSet('r', { replicas: 3, podManagementPolicy: 'OrderedReady' });
    const d = desiredPods(is);
    expect(created(planPods(is, d, [], []))).toEqual(['r-0']);
    expect(created(planPods(is, d, [observedPod('r', 'r-0')], []))).toEqual([]);
    expect(created(planPods(is, d, [observedPod('r', 'r-0', { ready: true })], []))).toEqual(['r-1']);
  });

  it('scales in from the highest ordinal; OrderedReady one at a time after the rest is Ready', () => {
    const is = instanceSet('r', { replicas: 1, podManagementPolicy: 'OrderedReady' });
    const pods = ['r-0', 'r-1', 'r-2'].map((n) => observedPod('r', n, { ready: true }));
    expect(planPods(is, desiredPods(is), pods, []).deletePods.map((p) => p.name)).toEqual(['r-2']);
    const terminating = [...pods.slice(0, 2), observedPod('r', 'r-2', { ready: true, terminating: true })];
    expect(planPods(is, desiredPods(is), terminating, []).deletePods).toEqual([]);
    const par = instanceSet('r', { replicas: 1 });
    expect(planPods(par, desiredPods(par), pods, []).deletePods.map((p) => p.name)).toEqual(['r-2', 'r-1']);
  });

  it('deletes offline instances and never touches pods of other sets', () => {
    const is = instanceSet('r', { replicas: 2, offlineInstances: ['r-0'] });
    const pods = [observedPod('r', 'r-0', { ready: true }), observedPod('r', 'r-1', { ready: true }), observedPod('other', 'other-5', { ready: true })];
    const plan = planPods(is, desiredPods(is), pods, []);
    expect(plan.deletePods.map((p) => p.name)).toEqual(['r-0']);
    expect(created(plan)).toEqual(['r-2']);
  });

  it('paused changes no pod', () => {
    const is = instanceSet('r', { replicas: 1, paused: true });
    const plan = planPods(is, desiredPods(is), [observedPod('r', 'r-3', { ready: true })], []);
    expect(plan.createPods).toEqual([]);
    expect(plan.deletePods).toEqual([]);
    expect(plan.waiting).toBe('paused');
  });

  it('whenScaled Delete removes PVCs of pods scaled away once they are gone; Retain keeps them', () => {
    const base = { replicas: 1, volumeClaimTemplates: vct };
    const del = instanceSet('r', { ...base, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } });
    const pvcs = ['data-r-0', 'data-r-1', 'data-r-2', 'data-other-1'].map(pvc);
    const pods = [observedPod('r', 'r-0', { ready: true }), observedPod('r', 'r-1', { ready: true, terminating: true })];
    // r-1 still terminates: its claim stays until the pod is gone; r-2 is gone: its claim goes.
    expect(planPods(del, desiredPods(del), pods, pvcs).deletePvcs.map((p) => p.name)).toEqual(['data-r-2']);
    const keep = instanceSet('r', { ...base, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' } });
    expect(planPods(keep, desiredPods(keep), pods, pvcs).deletePvcs).toEqual([]);
  });
});

describe('planPods: terminated pods', () => {
  it('deletes a wanted pod that Failed (evicted) so that it is created again, without creating it in the same round', () => {
    const is = instanceSet('r', { replicas: 2 });
    const failed = observedPod('r', 'r-1');
    (failed['status'] as { phase: string }).phase = 'Failed';
    const plan = planPods(is, desiredPods(is), [observedPod('r', 'r-0', { ready: true }), failed], []);
    expect(plan.deletePods.map((p) => p.name)).toEqual(['r-1']);
    expect(plan.createPods).toEqual([]);
    // Once it is gone, the next round creates it.
    expect(planPods(is, desiredPods(is), [observedPod('r', 'r-0', { ready: true })], []).createPods.map((p) => p.metadata.name)).toEqual(['r-1']);
  });

  it('leaves Running pods alone', () => {
    const is = instanceSet('r', { replicas: 2 });
    const plan = planPods(is, desiredPods(is), [observedPod('r', 'r-0', { ready: true }), observedPod('r', 'r-1')], []);
    expect(plan.deletePods).toEqual([]);
  });

  describe('the pod holding the primary is never removed as the primary', () => {
    const roles: RoleDefinition[] = [
      { name: 'primary', isExclusive: true, updatePriority: 2, participatesInQuorum: false },
      { name: 'secondary', isExclusive: false, updatePriority: 1, participatesInQuorum: false },
    ];
    const three = (primary: string): KubeObject[] => ['r-0', 'r-1', 'r-2'].map((n) => observedPod('r', n, { ready: true, role: n === primary ? 'primary' : 'secondary' }));

    it('scale-in: the other unwanted pods go; the primary waits for a switchover to a Ready secondary that stays', () => {
      const is = instanceSet('r', { replicas: 1, roles });
      const plan = planPods(is, desiredPods(is), three('r-2'), []);
      expect(plan.deletePods.map((p) => p.name)).toEqual(['r-1']);
      expect(plan).toMatchObject({ switchoverFrom: 'r-2', switchoverTo: 'r-0' });
      expect(plan.waiting).toMatch(/r-2 holds the primary: switching over to r-0 before removing it/);
      // once it is a secondary, it goes like any other
      const after = planPods(is, desiredPods(is), three('r-0'), []);
      expect(after.deletePods.map((p) => p.name)).toEqual(['r-2', 'r-1']);
      expect(after.switchoverFrom).toBeUndefined();
    });

    it('offlineInstances naming the primary: switchover first; no staying secondary Ready yet: it waits', () => {
      const is = instanceSet('r', { replicas: 3, roles, offlineInstances: ['r-0'] });
      expect(planPods(is, desiredPods(is), three('r-0'), [])).toMatchObject({ deletePods: [], switchoverFrom: 'r-0', switchoverTo: 'r-1' });
      const unready = [observedPod('r', 'r-0', { ready: true, role: 'primary' }), observedPod('r', 'r-1', { role: 'secondary' }), observedPod('r', 'r-2', { role: 'secondary' })];
      const plan = planPods(is, desiredPods(is), unready, []);
      expect(plan.deletePods).toEqual([]);
      expect(plan.switchoverFrom).toBe('r-0');
      expect(plan.switchoverTo).toBeUndefined();
      expect(plan.waiting).toMatch(/waiting for a Ready secondary that stays/);
    });

    it('OrderedReady holds the primary too; replicas: 0 (nothing stays) removes it', () => {
      const ordered = instanceSet('r', { replicas: 2, roles, podManagementPolicy: 'OrderedReady' });
      expect(planPods(ordered, desiredPods(ordered), three('r-2'), [])).toMatchObject({ deletePods: [], switchoverFrom: 'r-2', switchoverTo: 'r-0' });
      const zero = instanceSet('r', { replicas: 0, roles });
      const plan = planPods(zero, desiredPods(zero), three('r-2'), []);
      expect(plan.deletePods.map((p) => p.name)).toEqual(['r-2', 'r-1', 'r-0']);
      expect(plan.switchoverFrom).toBeUndefined();
    });

    it('a set without an exclusive role (Sentinel, proxies) scales in as before', () => {
      const is = instanceSet('r', { replicas: 1 });
      expect(planPods(is, desiredPods(is), three('r-2'), []).deletePods.map((p) => p.name)).toEqual(['r-2', 'r-1']);
    });
  });

  describe('a spread shard keeps a pod that left spec until the federation manager releases its ordinal', () => {
    const roles: RoleDefinition[] = [
      { name: 'primary', isExclusive: true, updatePriority: 2, participatesInQuorum: false },
      { name: 'secondary', isExclusive: false, updatePriority: 1, participatesInQuorum: false },
    ];
    // Ordinal 0 moved to another member cluster: this one keeps ordinal 1 only.
    const spread = (federation?: NonNullable<InstanceSet['status']>['federation']): InstanceSet => ({
      ...instanceSet('r', { replicas: 1, defaultTemplateOrdinals: { discrete: [1] }, roles, spread: { memberClusters: ['west', 'central'] }, volumeClaimTemplates: vct, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } }),
      ...(federation !== undefined ? { status: { federation } } : {}),
    });
    const pods = (primary: string): KubeObject[] => ['r-0', 'r-1'].map((n) => observedPod('r', n, { ready: true, role: n === primary ? 'primary' : 'secondary' }));

    it('held: neither the pod nor its claim goes, no switchover is asked here, and the plan says why', () => {
      const is = spread({ primary: { memberCluster: 'west', pod: 'r-0' }, memberCluster: 'west', state: 'Healthy' });
      for (const primary of ['r-0', 'r-1']) {
        const plan = planPods(is, desiredPods(is), pods(primary), [pvc('data-r-0'), pvc('data-r-1')]);
        expect(plan.deletePods).toEqual([]);
        expect(plan.deletePvcs).toEqual([]);
        expect(plan.switchoverFrom).toBeUndefined();
        expect(plan.held).toEqual(['r-0']);
        expect(plan.waiting).toMatch(/r-0 left spec but stays until the federation manager releases it/);
      }
      // released, but another ordinal: still held
      const other = spread({ primary: { memberCluster: 'west', pod: 'r-1' }, released: [5] });
      expect(planPods(other, desiredPods(other), pods('r-1'), []).held).toEqual(['r-0']);
    });

    it('released: it goes like any pod scaled in, then its claim (whenScaled: Delete)', () => {
      const is = spread({ primary: { memberCluster: 'central', pod: 'r-0' }, memberCluster: 'west', released: [0] });
      const plan = planPods(is, desiredPods(is), pods('r-1'), [pvc('data-r-0'), pvc('data-r-1')]);
      expect(plan.deletePods.map((p) => p.name)).toEqual(['r-0']);
      expect(plan.held).toBeUndefined();
      expect(planPods(is, desiredPods(is), [observedPod('r', 'r-1', { ready: true, role: 'primary' })], [pvc('data-r-0'), pvc('data-r-1')]).deletePvcs.map((p) => p.name)).toEqual(['data-r-0']);
    });

    it('no status.federation yet (no manager ever published), or not a spread shard: scale-in as before', () => {
      const is = spread();
      expect(planPods(is, desiredPods(is), pods('r-1'), []).deletePods.map((p) => p.name)).toEqual(['r-0']);
      const local = instanceSet('r', { replicas: 1, defaultTemplateOrdinals: { discrete: [1] }, roles });
      local.status = { federation: { primary: { memberCluster: 'west', pod: 'r-1' } } };
      expect(planPods(local, desiredPods(local), pods('r-1'), []).deletePods.map((p) => p.name)).toEqual(['r-0']);
    });
  });
});
