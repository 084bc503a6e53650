// The test kubelet on a real control plane: binding, a real redis-server per pod on its own
// address, rendered config from a ConfigMap, pod status (Ready, podIP, restartCount), Service
// endpoints, crash restarts, deletion with a 0-grace confirmation, and cleanup on stop().
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, isNotFound } from '../cluster/helpers.js';
import { startTestKubelet, type TestKubelet } from '../kubelet/kubelet.js';
import { portOpen } from '../kubelet/net.js';
import { guardedNamespace, type GuardedNamespace } from './guarded-namespace.js';

const NS = `kubelet-${process.pid}`;

function redisPod(name: string): k8s.V1Pod {
  return {
    metadata: { name, labels: { app: 'kv' } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: 'RuntimeDefault' } },
      initContainers: [
        {
          name: 'render-config',
          image: 'redis:7.2',
          command: ['sh', '-c', 'true'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      containers: [
        {
          name: 'redis',
          image: 'redis:7.2',
          command: ['redis-server', '/config/redis.conf'],
          ports: [{ name: 'redis', containerPort: 6379 }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
      volumes: [{ name: 'config-template', configMap: { name: 'kv-config' } }],
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const ready = (p: k8s.V1Pod | undefined): boolean => (p?.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

describe('test kubelet', () => {
  let ids: GuardedNamespace;
  let kc: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let kubelet: TestKubelet;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-kubelet-test-'));
  const clients: Redis[] = [];

  beforeAll(async () => {
    // the guard in force, the kubelet a node, as in every e2e test (its pods are not dbtopo's)
    ids = await guardedNamespace(NS);
    kc = ids.admin;
    core = kc.makeApiClient(k8s.CoreV1Api);
    kubelet = await startTestKubelet({ kubeconfigPath: ids.nodeKubeconfig, nodeName: `node-${process.pid}`, workDir, namespace: NS, log: (m) => process.stderr.write(`[kubelet] ${m}\n`) });
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'kv-config' }, data: { 'redis.conf': 'port 6379\ndir /data\nreplica-announce-ip ${POD_IP}\nset-proc-title yes\nmaxmemory-policy allkeys-lru\n' } },
    });
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'kv' }, spec: { selector: { app: 'kv' }, ports: [{ port: 6379 }] } } });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await kubelet?.stop();
    await ids?.stop();
    expect(fs.existsSync(workDir)).toBe(false);
  });

  it('binds the pod, runs redis-server on the pod address with the rendered config, and reports Ready', async () => {
    const t0 = performance.now();
    await core.createNamespacedPod({ namespace: NS, body: redisPod('kv-0') });
    const pod = await eventually('kv-0 Ready', async () => {
      const p = await core.readNamespacedPod({ namespace: NS, name: 'kv-0' });
      return ready(p) ? p : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    console.log(`pod create → Ready: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(pod.spec?.nodeName).toBe(`node-${process.pid}`);
    expect(pod.status?.phase).toBe('Running');
    const ip = pod.status?.podIP ?? '';
    expect(ip).toBe(kubelet.addressOf('kv-0'));
    expect(ip).toMatch(/^10\.244\.\d+\.\d+$/);
    expect(pod.status?.podIPs).toEqual([{ ip }]);
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: 'redis', ready: true, restartCount: 0 });
    expect(pod.status?.initContainerStatuses?.[0]?.state?.terminated?.reason).toBe('Completed');
    const r = new Redis({ host: ip, port: 6379, maxRetriesPerRequest: 1 });
    r.on('error', () => undefined);
    clients.push(r);
    // The ConfigMap's settings and the filled placeholder reach the engine.
    expect(await r.call('CONFIG', 'GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'allkeys-lru']);
    expect(await r.call('CONFIG', 'GET', 'replica-announce-ip')).toEqual(['replica-announce-ip', ip]);
  });

  it('the Service EndpointSlice holds the pod address', async () => {
    const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
    const addrs = await eventually('endpoint', async () => {
      const l = await discovery.listNamespacedEndpointSlice({ namespace: NS, labelSelector: 'kubernetes.io/service-name=kv' });
      const a = l.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready === true).flatMap((e) => e.addresses));
      return a.length > 0 ? a : undefined;
    });
    expect(addrs).toEqual([kubelet.addressOf('kv-0')]);
  });

  it('restarts a killed process and counts the restart', async () => {
    kubelet.killProcess('kv-0', 'SIGKILL');
    const pod = await eventually('restartCount 1 and Ready', async () => {
      const p = await core.readNamespacedPod({ namespace: NS, name: 'kv-0' });
      return ready(p) && p.status?.containerStatuses?.[0]?.restartCount === 1 ? p : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    expect(pod.status?.containerStatuses?.[0]?.lastState?.terminated?.signal).toBe(9);
    expect(await portOpen(kubelet.addressOf('kv-0'), 6379)).toBe(true);
  });

  it('stops the process when the pod is deleted and confirms the deletion', async () => {
    const ip = kubelet.addressOf('kv-0');
    await core.deleteNamespacedPod({ namespace: NS, name: 'kv-0', gracePeriodSeconds: 30 });
    await eventually('pod gone', async () => {
      try {
        await core.readNamespacedPod({ namespace: NS, name: 'kv-0' });
        return undefined;
      } catch (err) {
        return isNotFound(err) ? true : undefined;
      }
    }, { timeoutMs: 30_000, intervalMs: 100 });
    expect(await portOpen(ip, 6379, 300)).toBe(false);
  });

  it('stop() kills every process', async () => {
    await core.createNamespacedPod({ namespace: NS, body: redisPod('kv-1') });
    const pod = await eventually('kv-1 Ready', async () => {
      const p = await core.readNamespacedPod({ namespace: NS, name: 'kv-1' });
      return ready(p) ? p : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    const pid = Number(/^dbtopo-test:\/\/(\d+)$/.exec(pod.status?.containerStatuses?.[0]?.containerID ?? '')?.[1]);
    expect(pid).toBeGreaterThan(1);
    expect(alive(pid)).toBe(true);
    await kubelet.stop();
    expect(alive(pid)).toBe(false);
  });
});
