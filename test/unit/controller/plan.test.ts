import { describe, expect, it } from 'vitest';
import { desiredPods } from '../../../controller/reconcile/instanceset/desired.js';
import { planPods } from '../../../controller/reconcile/instanceset/plan.js';
import type { KubeObject } from '../../../schemas/types/index.js';
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
});
