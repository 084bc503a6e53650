import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { LABELS } from '../../../schemas/types/index.js';
import { desiredPods } from '../../../controller/reconcile/instanceset/desired.js';
import { expandOrdinals, ordinalOf } from '../../../controller/reconcile/instanceset/ordinals.js';
import { instanceSet } from './fixtures.js';

const names = (is: ReturnType<typeof instanceSet>): string[] => desiredPods(is).map((d) => d.name);

describe('expandOrdinals', () => {
  it('merges ranges and discrete ordinals, sorted and unique', () => {
    expect(expandOrdinals({ ranges: [{ start: 3, end: 5 }], discrete: [9, 4, 0] })).toEqual([0, 3, 4, 5, 9]);
    expect(expandOrdinals(undefined)).toEqual([]);
    expect(expandOrdinals({ ranges: [{ start: 5, end: 2 }] })).toEqual([]);
  });
  it('ordinalOf only accepts <set>-<n>', () => {
    expect(ordinalOf('r', 'r-12')).toBe(12);
    expect(ordinalOf('r', 'r-012')).toBeUndefined();
    expect(ordinalOf('r', 'r-x-1')).toBeUndefined();
    expect(ordinalOf('r', 'q-1')).toBeUndefined();
  });
});

describe('desiredPods', () => {
  it('names pods <set>-0..n-1 by default', () => {
    expect(names(instanceSet('redis', { replicas: 3 }))).toEqual(['redis-0', 'redis-1', 'redis-2']);
    expect(names(instanceSet('redis', { replicas: 0 }))).toEqual([]);
  });

  it('honours defaultTemplateOrdinals ranges', () => {
    const is = instanceSet('r', { replicas: 3, defaultTemplateOrdinals: { ranges: [{ start: 10, end: 12 }, { start: 20, end: 29 }] } });
    expect(names(is)).toEqual(['r-10', 'r-11', 'r-12']);
    expect(names({ ...is, spec: { ...is.spec, replicas: 5 } })).toEqual(['r-10', 'r-11', 'r-12', 'r-20', 'r-21']);
  });

  it('skips offline instances and keeps the replica count', () => {
    const is = instanceSet('r', { replicas: 3, offlineInstances: ['r-1'] });
    expect(names(is)).toEqual(['r-0', 'r-2', 'r-3']);
    const ranged = instanceSet('r', { replicas: 2, defaultTemplateOrdinals: { discrete: [4, 5, 6] }, offlineInstances: ['r-4'] });
    expect(names(ranged)).toEqual(['r-5', 'r-6']);
  });

  it('gives instance templates their ordinals and their own resources, nodeSelector, zone and labels', () => {
    const is = instanceSet('r', {
      replicas: 4,
      instances: [
        { name: 'big', replicas: 1, ordinals: { discrete: [3] }, resources: { requests: { cpu: '4' } }, labels: { tier: 'big' }, zone: 'z2', nodeSelector: { disk: 'ssd' } },
      ],
    });
    const pods = desiredPods(is);
    expect(pods.map((p) => p.name)).toEqual(['r-0', 'r-1', 'r-2', 'r-3']);
    const big = pods.find((p) => p.name === 'r-3');
    const small = pods.find((p) => p.name === 'r-0');
    const container = (p: typeof big): Record<string, unknown> => ((p?.pod['spec'] as { containers: Array<Record<string, unknown>> }).containers[0] ?? {});
    expect(container(big)['resources']).toEqual({ requests: { cpu: '4' } });
    expect(container(small)['resources']).toEqual({ requests: { cpu: '100m' } });
    expect((big?.pod['spec'] as Record<string, unknown>)['nodeSelector']).toEqual({ disk: 'ssd', 'topology.kubernetes.io/zone': 'z2' });
    expect(big?.pod.metadata.labels?.['tier']).toBe('big');
    expect(big?.pod.metadata.labels?.[LABELS.template]).toBe('big');
    expect(small?.pod.metadata.labels?.[LABELS.template]).toBeUndefined();
    expect(big?.revision).not.toBe(small?.revision);
    // The default template's pods share one revision.
    expect(new Set(pods.filter((p) => p.template === undefined).map((p) => p.revision)).size).toBe(1);
  });

  it('templates without ordinals take the lowest free ones before the default template', () => {
    const is = instanceSet('r', { replicas: 3, instances: [{ name: 't', replicas: 1 }] });
    const pods = desiredPods(is);
    expect(pods.map((p) => [p.name, p.template ?? ''])).toEqual([['r-0', 't'], ['r-1', ''], ['r-2', '']]);
  });

  it('sets owner reference, identity labels, hostname and PVC volumes', () => {
    const is = instanceSet('r', {
      replicas: 1,
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    });
    const [d] = desiredPods(is);
    expect(d?.pod.metadata.ownerReferences).toEqual([
      { apiVersion: 'dbtopo.dev/v1alpha1', kind: 'InstanceSet', name: 'r', uid: 'uid-r', controller: true, blockOwnerDeletion: true },
    ]);
    expect(d?.pod.metadata.labels?.[LABELS.instanceSet]).toBe('r');
    expect(d?.pod.metadata.labels?.[LABELS.cluster]).toBe('c1');
    expect(d?.pod.metadata.labels?.[LABELS.role]).toBeUndefined();
    expect(d?.pod.metadata.labels?.[LABELS.revision]).toBe(d?.revision);
    const spec = d?.pod['spec'] as Record<string, unknown>;
    expect(spec['hostname']).toBe('r-0');
    expect(spec['subdomain']).toBe('r-headless');
    expect(spec['volumes']).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-r-0' } }]);
    expect(d?.pvcs.map((p) => p.metadata.name)).toEqual(['data-r-0']);
    expect(d?.pvcs[0]?.metadata.ownerReferences?.[0]?.name).toBe('r');
    const retained = desiredPods({ ...is, spec: { ...is.spec, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Delete' } } });
    expect(retained[0]?.pvcs[0]?.metadata.ownerReferences).toBeUndefined();
  });

  it('never yields duplicate names or offline pods and never more than replicas (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 12 }),
        fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 4 }),
        fc.array(fc.record({ replicas: fc.integer({ min: 0, max: 3 }), ordinals: fc.option(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 4 }), { nil: undefined }) }), { maxLength: 3 }),
        (replicas, offline, tpls) => {
          const is = instanceSet('p', {
            replicas,
            offlineInstances: offline.map((n) => `p-${n}`),
            instances: tpls.map((t, i) => ({ name: `t${i}`, replicas: t.replicas, ...(t.ordinals !== undefined ? { ordinals: { discrete: t.ordinals } } : {}) })),
          });
          const pods = desiredPods(is);
          const ns = pods.map((p) => p.name);
          expect(new Set(ns).size).toBe(ns.length);
          for (const n of offline) expect(ns).not.toContain(`p-${n}`);
          expect(pods.length).toBeLessThanOrEqual(Math.max(replicas, tpls.reduce((s, t) => s + t.replicas, 0)));
          // Deterministic: the same input gives the same output.
          expect(desiredPods(is)).toEqual(pods);
        },
      ),
    );
  });
});
