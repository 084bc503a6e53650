// The controller against a real API server, without engines: the test stands in for the kubelet by
// marking pods Ready. Scale out and in, OrderedReady, heterogeneous templates, PVC retention,
// offline instances, paused, status, Cluster aggregation, and no writes at rest. The admission
// guard is in force: the test writes specs as the GitOps sync, the controller acts as its
// ServiceAccount.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, type Cluster, type KubeObject } from '../../schemas/types/index.js';
import { startController, type RunningController } from '../../controller/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import { resourcePath, WRITE_VERBS, type KubeClient } from '../../controller/runtime/kube.js';
import { eventually, rawRequest, sleep } from '../cluster/helpers.js';
import {
  createInstanceSet,
  fakeKubelet,
  getInstanceSet,
  live,
  markReady,
  names,
  patchSpec,
  podsOf,
  pvcsOf,
  clientFor,
  testInstanceSet,
} from './controller-helpers.js';
import { evictPod, guardedNamespace, type GuardedNamespace } from './guarded-namespace.js';

const NS = `ctl-is-${Date.now().toString(36)}`;
let ids: GuardedNamespace;
let client: KubeClient;
let controller: RunningController;

/** Waits until the live pods of `set` are exactly `expected`. */
async function podsBecome(set: string, expected: string[], timeoutMs = 30_000): Promise<KubeObject[]> {
  return await eventually(`pods of ${set} = ${expected.join(',')}`, async () => {
    const pods = live(await podsOf(client, NS, set));
    return names(pods).join(',') === expected.join(',') ? pods : undefined;
  }, { timeoutMs });
}

beforeAll(async () => {
  ids = await guardedNamespace(NS);
  client = clientFor(ids.gitops);
  controller = await startController({ kubeconfig: ids.controller, namespace: NS, metricsPort: 0, healthPort: 0, bindAddress: '127.0.0.1', roleProbes: false, log: makeLogger('warn') });
});

afterAll(async () => {
  await controller?.stop();
  client?.close();
  await ids?.stop();
});

describe('InstanceSet reconcile', () => {
  it('scales out and in (Parallel), highest ordinal first, with owner references and status', async () => {
    const kubelet = fakeKubelet(client, NS);
    try {
      const created = await createInstanceSet(client, testInstanceSet(NS, 'par', { replicas: 3 }));
      const pods = await podsBecome('par', ['par-0', 'par-1', 'par-2']);
      for (const p of pods) {
        expect(p.metadata.ownerReferences).toEqual([
          { apiVersion: 'dbtopo.dev/v1alpha1', kind: 'InstanceSet', name: 'par', uid: created.metadata.uid, controller: true, blockOwnerDeletion: true },
        ]);
        expect(p.metadata.labels?.[LABELS.revision]).toMatch(/^[0-9a-f]{10}$/);
        expect(p.metadata.labels?.[LABELS.role]).toBeUndefined();
      }
      const st = await eventually('status 3/3 ready', async () => {
        const is = await getInstanceSet(client, NS, 'par');
        return is?.status?.readyReplicas === 3 && is.status.conditions?.[0]?.status === 'True' ? is.status : undefined;
      });
      expect(st).toMatchObject({ replicas: 3, availableReplicas: 3, updatedReplicas: 3, observedGeneration: 1, selector: `${LABELS.instanceSet}=par` });
      expect(st.membersStatus?.map((m) => m.podName)).toEqual(['par-0', 'par-1', 'par-2']);

      // An Event per created pod, on the InstanceSet, from the controller.
      const events = await eventually('SuccessfulCreate events', async () => {
        const list = await client.list<KubeObject & { reason?: string; note?: string; reportingController?: string; regarding?: { name?: string; kind?: string } }>(resourcePath('Event', NS));
        const mine = list.items.filter((e) => e.regarding?.kind === 'InstanceSet' && e.regarding.name === 'par' && e.reason === 'SuccessfulCreate');
        return mine.length >= 3 ? mine : undefined;
      });
      expect(events.map((e) => e.note).sort()).toEqual(['created pod par-0', 'created pod par-1', 'created pod par-2']);
      expect(events[0]?.reportingController).toBe('dbtopo.dev/controller');

      await patchSpec(client, NS, 'par', { replicas: 5 });
      await podsBecome('par', ['par-0', 'par-1', 'par-2', 'par-3', 'par-4']);
      await patchSpec(client, NS, 'par', { replicas: 2 });
      await podsBecome('par', ['par-0', 'par-1']);
      await eventually('status 2 replicas', async () => {
        const is = await getInstanceSet(client, NS, 'par');
        return is?.status?.replicas === 2 && is.status.observedGeneration === 3 ? true : undefined;
      });
    } finally {
      await kubelet.stop();
    }
  });

  it('OrderedReady creates the next pod only when the previous one is Ready, and scales in one by one', async () => {
    await createInstanceSet(client, testInstanceSet(NS, 'ord', { replicas: 3, podManagementPolicy: 'OrderedReady' }));
    let pods = await podsBecome('ord', ['ord-0']);
    await sleep(1000);
    expect(names(live(await podsOf(client, NS, 'ord')))).toEqual(['ord-0']); // held back while ord-0 is not Ready
    await markReady(client, pods[0] as KubeObject);
    pods = await podsBecome('ord', ['ord-0', 'ord-1']);
    await markReady(client, pods[1] as KubeObject);
    pods = await podsBecome('ord', ['ord-0', 'ord-1', 'ord-2']);
    await markReady(client, pods[2] as KubeObject);
    await patchSpec(client, NS, 'ord', { replicas: 1 });
    // Scale in goes down from the top: ord-2 disappears before ord-1.
    const seen: string[][] = [];
    await eventually('ord scaled to 1', async () => {
      const now = names(live(await podsOf(client, NS, 'ord')));
      seen.push(now);
      return now.join(',') === 'ord-0' ? true : undefined;
    }, { intervalMs: 20 });
    expect(seen.some((s) => s.join(',') === 'ord-0,ord-2')).toBe(false);
  });

  it('gives a heterogeneous instance template its own resources and ordinals', async () => {
    await createInstanceSet(
      client,
      testInstanceSet(NS, 'het', {
        replicas: 3,
        instances: [{ name: 'big', replicas: 1, ordinals: { discrete: [2] }, resources: { requests: { cpu: '2', memory: '1Gi' } }, labels: { tier: 'big' } }],
      }),
    );
    const pods = await podsBecome('het', ['het-0', 'het-1', 'het-2']);
    const res = (p: KubeObject | undefined): unknown => ((p?.['spec'] as { containers: Array<{ resources?: unknown }> }).containers[0]?.resources);
    expect(res(pods[2])).toEqual({ requests: { cpu: '2', memory: '1Gi' } });
    expect(res(pods[0])).toEqual({ requests: { cpu: '100m', memory: '64Mi' } });
    expect(pods[2]?.metadata.labels?.['tier']).toBe('big');
    expect(pods[2]?.metadata.labels?.[LABELS.template]).toBe('big');
    expect(pods[2]?.metadata.labels?.[LABELS.revision]).not.toBe(pods[0]?.metadata.labels?.[LABELS.revision]);
  });

  it('keeps or deletes PVCs as persistentVolumeClaimRetentionPolicy says', async () => {
    const vct = [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }];
    const kubelet = fakeKubelet(client, NS);
    try {
      const del = await createInstanceSet(client, testInstanceSet(NS, 'pvd', { replicas: 3, volumeClaimTemplates: vct, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Delete' } }));
      await createInstanceSet(client, testInstanceSet(NS, 'pvr', { replicas: 3, volumeClaimTemplates: vct, persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' } }));
      const pods = await podsBecome('pvd', ['pvd-0', 'pvd-1', 'pvd-2']);
      expect((pods[0]?.['spec'] as { volumes: unknown[] }).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'data-pvd-0' } });
      await podsBecome('pvr', ['pvr-0', 'pvr-1', 'pvr-2']);
      const dPvcs = await pvcsOf(client, NS, 'pvd');
      expect(names(dPvcs)).toEqual(['data-pvd-0', 'data-pvd-1', 'data-pvd-2']);
      expect(dPvcs[0]?.metadata.ownerReferences?.[0]?.uid).toBe(del.metadata.uid);
      expect((await pvcsOf(client, NS, 'pvr'))[0]?.metadata.ownerReferences).toBeUndefined();

      await patchSpec(client, NS, 'pvd', { replicas: 1 });
      await patchSpec(client, NS, 'pvr', { replicas: 1 });
      await podsBecome('pvd', ['pvd-0']);
      await podsBecome('pvr', ['pvr-0']);
      // whenScaled Delete: the claims of pvd-1 and pvd-2 go (or are terminating behind pvc-protection).
      await eventually('pvd claims deleted', async () => (names(live(await pvcsOf(client, NS, 'pvd'))).join(',') === 'data-pvd-0' ? true : undefined));
      await sleep(1500);
      expect(names(live(await pvcsOf(client, NS, 'pvr')))).toEqual(['data-pvr-0', 'data-pvr-1', 'data-pvr-2']);
      // Scaling out again reuses the retained claims rather than creating new ones.
      const before = (await pvcsOf(client, NS, 'pvr')).map((p) => p.metadata.uid);
      await patchSpec(client, NS, 'pvr', { replicas: 3 });
      await podsBecome('pvr', ['pvr-0', 'pvr-1', 'pvr-2']);
      expect((await pvcsOf(client, NS, 'pvr')).map((p) => p.metadata.uid)).toEqual(before);
    } finally {
      await kubelet.stop();
    }
  });

  it('takes offline instances out and changes nothing while paused', async () => {
    const kubelet = fakeKubelet(client, NS);
    try {
      await createInstanceSet(client, testInstanceSet(NS, 'off', { replicas: 3 }));
      await podsBecome('off', ['off-0', 'off-1', 'off-2']);
      await patchSpec(client, NS, 'off', { offlineInstances: ['off-1'] });
      await podsBecome('off', ['off-0', 'off-2', 'off-3']);
      await patchSpec(client, NS, 'off', { paused: true, replicas: 5 });
      await eventually('Paused condition', async () => ((await getInstanceSet(client, NS, 'off'))?.status?.conditions?.some((c) => c.type === 'Paused') === true ? true : undefined));
      await sleep(1000);
      expect(names(live(await podsOf(client, NS, 'off')))).toEqual(['off-0', 'off-2', 'off-3']);
      await patchSpec(client, NS, 'off', { paused: false });
      await podsBecome('off', ['off-0', 'off-2', 'off-3', 'off-4', 'off-5']);
    } finally {
      await kubelet.stop();
    }
  });

  it('recreates a pod evicted behind its back (a plain delete is the guard\'s to refuse)', async () => {
    const kubelet = fakeKubelet(client, NS);
    try {
      await createInstanceSet(client, testInstanceSet(NS, 'heal', { replicas: 2 }));
      const pods = await podsBecome('heal', ['heal-0', 'heal-1']);
      const refused = await rawRequest(ids.admin, 'DELETE', `/api/v1/namespaces/${NS}/pods/heal-1`);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatch(/dbtopo guard \[controller-deletes\]/);
      await evictPod(ids.admin, NS, 'heal-1');
      const again = await eventually('heal-1 recreated', async () => {
        const p = live(await podsOf(client, NS, 'heal')).find((x) => x.metadata.name === 'heal-1');
        return p !== undefined && p.metadata.uid !== pods[1]?.metadata.uid ? p : undefined;
      });
      expect(again.metadata.name).toBe('heal-1');
      // A pod that terminated for good (phase Failed, as after an eviction) is replaced too.
      await client.mergePatch(resourcePath('Pod', NS, 'heal-0', 'status'), { status: { phase: 'Failed', reason: 'Evicted' } }, 'dbtopo-test');
      const replaced = await eventually('heal-0 replaced', async () => {
        const p = live(await podsOf(client, NS, 'heal')).find((x) => x.metadata.name === 'heal-0');
        return p !== undefined && p.metadata.uid !== pods[0]?.metadata.uid ? p : undefined;
      });
      expect((replaced['status'] as { phase?: string } | undefined)?.phase).not.toBe('Failed');
    } finally {
      await kubelet.stop();
    }
  });

  it('a create the API server refuses: status still says what exists and why; the set heals once allowed', async () => {
    // A ResourceQuota of 2 pods, scoped to one PriorityClass so no other test's pods count. Its
    // status is set by hand: this control plane runs no resource-quota controller, and quota
    // admission counts on from what status says.
    const admin = clientFor(ids.admin);
    const pc = `${NS}-quota`;
    await admin.create('/apis/scheduling.k8s.io/v1/priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: pc }, value: 1000 } as unknown as KubeObject);
    const quotaPath = `/api/v1/namespaces/${NS}/resourcequotas`;
    const scope = { scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: [pc] }] } };
    await admin.create(quotaPath, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'two-pods' }, spec: { hard: { pods: '2' }, ...scope } } as unknown as KubeObject);
    await admin.mergePatch(`${quotaPath}/two-pods/status`, { status: { hard: { pods: '2' }, used: { pods: '0' } } }, 'dbtopo-test');
    const kubelet = fakeKubelet(client, NS);
    try {
      const base = testInstanceSet(NS, 'quota', { replicas: 3 });
      base.spec.template.spec = { ...base.spec.template.spec, priorityClassName: pc };
      await createInstanceSet(client, base);
      const st = await eventually('status reports 2 pods and the refused create', async () => {
        const s = (await getInstanceSet(client, NS, 'quota'))?.status;
        const ready = s?.conditions?.find((c) => c.type === 'Ready');
        return s?.replicas === 2 && /the last reconcile failed: create PVCs and pods: .*exceeded quota/.test(ready?.message ?? '') ? s : undefined;
      }, { timeoutMs: 30_000 });
      console.log(`[controller-instanceset] quota: status ${st.replicas} replicas, Ready: ${st.conditions?.find((c) => c.type === 'Ready')?.message}`);
      expect(st.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
      // Allowed again: the work queue's retry creates the third pod; the error leaves the condition.
      await admin.delete(`${quotaPath}/two-pods`);
      const healed = await eventually('3/3 ready without the error', async () => {
        const s = (await getInstanceSet(client, NS, 'quota'))?.status;
        const ready = s?.conditions?.find((c) => c.type === 'Ready');
        return s?.readyReplicas === 3 && ready?.status === 'True' && !/failed/.test(ready.message ?? '') ? s : undefined;
      }, { timeoutMs: 90_000 });
      expect(healed.replicas).toBe(3);
    } finally {
      await kubelet.stop();
      await admin.delete(`${quotaPath}/two-pods`).catch(() => undefined);
      await admin.delete(`/apis/scheduling.k8s.io/v1/priorityclasses/${pc}`).catch(() => undefined);
      admin.close();
    }
  }, 150_000);

  it('without role probes, a switchover request fails at once and says why (no role loop would carry it out)', async () => {
    const kubelet = fakeKubelet(client, NS);
    const admin = clientFor(ids.admin);
    const asController = clientFor(ids.controller);
    try {
      const roles = [
        { name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true },
        { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false },
      ] as const;
      await createInstanceSet(client, testInstanceSet(NS, 'noprobe', { replicas: 2, roles: [...roles] }));
      await podsBecome('noprobe', ['noprobe-0', 'noprobe-1']);
      // Role labels as a controller with role probes left them.
      for (const [pod, role] of [['noprobe-0', 'primary'], ['noprobe-1', 'secondary']] as const) {
        await asController.mergePatch(resourcePath('Pod', NS, pod), { metadata: { labels: { [LABELS.role]: role } } }, 'dbtopo-test');
      }
      await admin.mergePatch(resourcePath('InstanceSet', NS, 'noprobe'), { metadata: { annotations: { 'dbtopo.dev/switchover': 'noprobe-1' } } }, 'dbtopo-test');
      const rec = await eventually('status.switchover Failed', async () => {
        const is = await getInstanceSet(client, NS, 'noprobe');
        return is?.status?.switchover?.phase === 'Failed' ? is.status.switchover : undefined;
      }, { timeoutMs: 20_000 });
      expect(rec).toMatchObject({ from: 'noprobe-0', to: 'noprobe-1', reason: 'requested by annotation' });
      expect(rec.message).toContain('--no-role-probes');
      // the record is written first (durable), the request annotation removed in the next write
      await eventually('the switchover request annotation consumed', async () => {
        const is = await getInstanceSet(client, NS, 'noprobe');
        return is?.metadata.annotations?.['dbtopo.dev/switchover'] === undefined ? true : undefined;
      }, { timeoutMs: 10_000 });
      const labels = (await podsOf(client, NS, 'noprobe')).map((p) => p.metadata.labels?.[LABELS.role]);
      expect(labels).toEqual(['primary', 'secondary']);
    } finally {
      await kubelet.stop();
      admin.close();
      asController.close();
    }
  });

  it('aggregates a Cluster from its InstanceSets', async () => {
    const kubelet = fakeKubelet(client, NS);
    try {
      await createInstanceSet(client, testInstanceSet(NS, 'agg-server', { replicas: 2 }));
      const cluster: Cluster = {
        apiVersion: 'dbtopo.dev/v1alpha1',
        kind: 'Cluster',
        metadata: { name: 'agg', namespace: NS },
        spec: { engine: 'redis', mode: 'replication', version: '7.2', shards: 1, environment: 'dev', topology: 'agg', components: [{ name: 'server', kind: 'server', instanceSets: ['agg-server'], replicas: 2 }] },
      };
      await client.create(resourcePath('Cluster', NS), cluster as unknown as KubeObject);
      const status = await eventually('cluster Running', async () => {
        const c = (await client.get<KubeObject>(resourcePath('Cluster', NS, 'agg'))) as unknown as Cluster | undefined;
        return c?.status?.phase === 'Running' ? c.status : undefined;
      });
      expect(status.message).toBe('1/1 components running');
      expect(status.components?.[0]).toMatchObject({ name: 'server', ready: 2, replicas: 2 });
    } finally {
      await kubelet.stop();
    }
  });

  it('makes no API writes at rest and serves health and metrics', async () => {
    await sleep(2000); // let every earlier change settle
    const writes = (): number => controller.client.totalRequests((v) => WRITE_VERBS.has(v));
    const before = writes();
    await sleep(5000);
    expect(writes() - before).toBe(0);
    const health = await fetch(`http://127.0.0.1:${controller.healthPort}/readyz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${controller.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/dbtopo_reconcile_total\{controller="instanceset",result="success"\} \d+/);
    expect(metrics).toContain('dbtopo_reconcile_duration_seconds_bucket');
    expect(metrics).toContain('dbtopo_workqueue_depth{queue="instanceset"}');
    expect(metrics).toMatch(/dbtopo_api_requests_total\{verb="create"\} \d+/);
  });
});
