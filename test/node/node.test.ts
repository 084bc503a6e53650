// The real node (node.ts) under a fresh control plane: kube-scheduler binds, the kubelet runs the
// pod through containerd + runc with the CNI bridge, Pod Security `restricted` is enforced on the
// running container (uid 999 really), an exec readiness probe runs, a ClusterIP Service reaches a
// pod through kube-proxy's rules, logs come back through the API server from the kubelet, and
// stop() leaves nothing behind on the machine.
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBinDir, startControlPlane, type ControlPlane } from '../cluster/launcher.js';
import { createTestNamespace, eventually } from '../cluster/helpers.js';
import { nodeLeftovers, startRealNode, type RealNode } from './node.js';
import { ensureNodeParts } from './parts.js';
import { restrictedPod } from './pods.js';

const NS = 'node-smoke';

const restricted = (name: string, command: string, container: Partial<k8s.V1Container> = {}): k8s.V1Pod =>
  restrictedPod(name, { command: ['/bin/sh', '-c', command], container });

describe('real node', () => {
  let cp: ControlPlane;
  let node: RealNode;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    const parts = ensureNodeParts();
    const binDir = resolveBinDir();
    cp = await startControlPlane({
      name: 'node-smoke',
      binDir,
      realNodes: true,
      log: (m) => process.stderr.write(`${m}\n`),
    });
    node = await startRealNode({ controlPlane: cp, binDir: parts.nodeBinDir, imageDir: parts.imageDir, log: (m) => process.stderr.write(`${m}\n`) });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await createTestNamespace(kc, NS);
  });

  afterAll(async () => {
    await node?.stop();
    await cp?.stop();
    expect(nodeLeftovers()).toEqual([]);
  });

  it('registers a Ready node with its bridge address', async () => {
    const n = await core.readNode({ name: node.name });
    expect(n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address).toBe(node.ip);
    expect(n.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(n.status?.nodeInfo?.kubeletVersion).toBe('v1.34.4');
  });

  it('runs a restricted pod Ready as uid 999, scheduled, on a pod-network address', async () => {
    await core.createNamespacedPod({
      namespace: NS,
      body: restricted('whoami', 'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"; touch /data/ready; exec sleep 3600', {
        readinessProbe: { exec: { command: ['/bin/sh', '-c', 'test -f /data/ready'] }, periodSeconds: 1 },
      }),
    });
    const pod = await eventually('pod whoami Ready', async () => {
      const p = await core.readNamespacedPod({ namespace: NS, name: 'whoami' });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    }, { timeoutMs: 90_000 });
    expect(pod.spec?.nodeName).toBe(node.name);
    expect(pod.status?.podIP).toMatch(/^10\.88\.\d+\.(\d+)$/);
    expect(pod.status?.podIP).not.toBe(node.ip);
    const logs = await core.readNamespacedPodLog({ namespace: NS, name: 'whoami' });
    expect(logs).toContain('uid=999 gid=999');
    expect(logs).toMatch(/groups=.*\b999\b/);
  });

  it('refuses a root pod at admission (Pod Security restricted)', async () => {
    const pod = restricted('root', 'sleep 1');
    pod.spec!.securityContext = { runAsUser: 0, seccompProfile: { type: 'RuntimeDefault' } };
    await expect(core.createNamespacedPod({ namespace: NS, body: pod })).rejects.toThrow(/violates PodSecurity \W*restricted:latest/);
  });

  it('reaches a pod through a ClusterIP Service (kube-proxy)', async () => {
    await core.createNamespacedPod({
      namespace: NS,
      body: restricted('web', 'echo hello-from-web > /data/index.html; exec httpd -f -p 8080 -h /data', {
        ports: [{ containerPort: 8080 }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      }),
    });
    const svc = await core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    const ip = svc.spec?.clusterIP;
    expect(ip).toMatch(/^10\.0\.0\.\d+$/);
    await core.createNamespacedPod({
      namespace: NS,
      // nc, not wget: Debian's static busybox wget segfaults (on the host as well)
      body: restricted('client', `for i in $(seq 60); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} 80 | grep hello && break; sleep 1; done; exec sleep 3600`),
    });
    await eventually('client fetched through the Service', async () => {
      const logs = await core.readNamespacedPodLog({ namespace: NS, name: 'client' }).catch(() => '');
      return logs.includes('hello-from-web') ? true : undefined;
    }, { timeoutMs: 90_000 });
  });

  it('pods have no route out of the pod network and the Service range', async () => {
    await core.createNamespacedPod({ namespace: NS, body: restricted('routes', 'ip route; exec sleep 3600') });
    const logs = await eventually('routes printed', async () => {
      const l = await core.readNamespacedPodLog({ namespace: NS, name: 'routes' }).catch(() => '');
      return l.trim() ? l : undefined;
    }, { timeoutMs: 60_000 });
    expect(logs).not.toMatch(/default|0\.0\.0\.0\s+10\./);
    expect(logs).toContain('10.0.0.0');
  });

  it('the node directory holds the pod logs (not /var/log/pods)', () => {
    expect(fs.readdirSync(`${node.dir}/pod-logs`).some((d) => d.startsWith(`${NS}_whoami_`))).toBe(true);
  });
});
