// The test control planes: two independent API servers, garbage collection by owner
// reference (kube-controller-manager), Pod Security admission, and clean start/stop.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { MEMBER_CLUSTERS } from './global-setup.js';
import {
  createTestNamespace,
  deleteTestNamespace,
  eventually,
  isNotFound,
  kubeConfigFor,
  restrictedPod,
  testKubeconfigs,
} from './helpers.js';
import { isAlive, readVersions, resolveBinDir, startControlPlane } from './launcher.js';

const suffix = Date.now().toString(36);

describe('test control planes', () => {
  it('runs two independent control planes that answer', async () => {
    const kubeconfigs = testKubeconfigs();
    expect(Object.keys(kubeconfigs).sort()).toEqual([...MEMBER_CLUSTERS]);
    const servers = new Set<string>();
    const { k8s: k8sVersion } = readVersions();
    for (const member of MEMBER_CLUSTERS) {
      const kc = kubeConfigFor(member);
      const server = kc.getCurrentCluster()?.server ?? '';
      expect(server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      servers.add(server);
      const version = await kc.makeApiClient(k8s.VersionApi).getCode();
      // same minor as versions.env (DBTOPO_K8S_BIN_DIR may bring another patch release)
      expect(version.gitVersion).toMatch(new RegExp(`^${k8sVersion.split('.').slice(0, 2).join('\\.')}\\.`));
    }
    expect(servers.size).toBe(MEMBER_CLUSTERS.length);

    // state is not shared: a namespace made in member-a does not exist in member-b
    const [a, b] = MEMBER_CLUSTERS.map((m) => kubeConfigFor(m).makeApiClient(k8s.CoreV1Api)) as [
      k8s.CoreV1Api,
      k8s.CoreV1Api,
    ];
    const name = `only-in-a-${suffix}`;
    await a.createNamespace({ body: { metadata: { name } } });
    try {
      await expect(b.readNamespace({ name })).rejects.toSatisfy(isNotFound);
      expect((await a.readNamespace({ name })).metadata?.name).toBe(name);
    } finally {
      await a.deleteNamespace({ name });
    }
  });

  it('reports the warm start time (target < 20 s) and the cold build time', () => {
    const startSeconds = inject('controlPlaneStartSeconds');
    for (const [member, seconds] of Object.entries(startSeconds)) {
      console.log(`[cluster] warm start of ${member}: ${seconds.toFixed(1)} s (two started in parallel)`);
      if (seconds >= 20) console.warn(`[cluster] ${member} started slower than the 20 s target`);
      expect(seconds).toBeLessThan(90);
    }
    try {
      const complete = fs.readFileSync(path.join(resolveBinDir(), '.complete'), 'utf8').trim();
      console.log(`[cluster] binaries: ${complete}`);
    } catch {
      console.log('[cluster] binaries from DBTOPO_K8S_BIN_DIR (no build record)');
    }
  });

  it('garbage-collects a child when its owner is deleted', async () => {
    const kc = kubeConfigFor('member-a');
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const namespace = `gc-${suffix}`;
    await createTestNamespace(kc, namespace);
    try {
      const parent = await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'parent' }, data: { role: 'owner' } },
      });
      const uid = parent.metadata?.uid;
      expect(uid).toBeTruthy();
      await core.createNamespacedConfigMap({
        namespace,
        body: {
          metadata: {
            name: 'child',
            ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'parent', uid: uid ?? '' }],
          },
          data: { role: 'dependent' },
        },
      });
      await core.deleteNamespacedConfigMap({ namespace, name: 'parent', propagationPolicy: 'Background' });
      await eventually(
        'the garbage collector to delete the child',
        async () => {
          try {
            await core.readNamespacedConfigMap({ namespace, name: 'child' });
            return undefined;
          } catch (err) {
            if (isNotFound(err)) return true;
            throw err;
          }
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    } finally {
      await deleteTestNamespace(kc, namespace);
    }
  });

  it('enforces Pod Security restricted in test namespaces', async () => {
    const kc = kubeConfigFor('member-b');
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const namespace = `psa-${suffix}`;
    const ns = await createTestNamespace(kc, namespace);
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    try {
      const privileged: k8s.V1Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'privileged' },
        spec: {
          containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10', securityContext: { privileged: true } }],
        },
      };
      const rejection = await core
        .createNamespacedPod({ namespace, body: privileged, dryRun: 'All' })
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(rejection).toBeInstanceOf(k8s.ApiException);
      const apiErr = rejection as k8s.ApiException<unknown>;
      expect(apiErr.code).toBe(403);
      const status: unknown = typeof apiErr.body === 'string' ? JSON.parse(apiErr.body) : apiErr.body;
      const message = status !== null && typeof status === 'object' && 'message' in status ? String(status.message) : '';
      expect(message).toContain('violates PodSecurity "restricted:latest"');
      expect(message).toContain('privileged');

      const accepted = await core.createNamespacedPod({ namespace, body: restrictedPod('restricted'), dryRun: 'All' });
      expect(accepted.metadata?.name).toBe('restricted');
      // dry run: nothing was persisted
      await expect(core.readNamespacedPod({ namespace, name: 'restricted' })).rejects.toSatisfy(isNotFound);
    } finally {
      await deleteTestNamespace(kc, namespace);
    }
  });

  it('starts a third control plane and stops it without leaving processes or files behind', async () => {
    const cp = await startControlPlane({ name: 'scratch', log: (m) => console.log(m) });
    const pids = [cp.pids.etcd, cp.pids.apiserver, cp.pids.controllerManager];
    try {
      console.log(`[cluster] warm start of a single control plane: ${cp.startSeconds.toFixed(1)} s`);
      expect(pids.every(isAlive)).toBe(true);
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(cp.kubeconfigPath);
      const list = await kc.makeApiClient(k8s.CoreV1Api).listNamespace();
      expect(list.items.map((n) => n.metadata?.name)).toContain('kube-system');
    } finally {
      await cp.stop();
    }
    expect(pids.filter(isAlive)).toEqual([]);
    if (cp.pids.watchdog !== undefined) expect(isAlive(cp.pids.watchdog)).toBe(false);
    expect(fs.existsSync(cp.dir)).toBe(false);
  });
});
