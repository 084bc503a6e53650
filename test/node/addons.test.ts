// The real node's add-ons (addons.ts) under a fresh control plane: CoreDNS as the cluster DNS at
// 10.0.0.10 (a pod resolves a Service's name to its ClusterIP through kube-proxy; a name outside
// the cluster domain fails at once, as nothing is forwarded), and the local-path provisioner as
// the default StorageClass (a claim binds when a pod uses it, a file written by uid 999 survives
// the pod, the claim's deletion removes its directory). stop() of everything leaves nothing.
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, resolveBinDir, startControlPlane, type ControlPlane } from '../cluster/launcher.js';
import { createTestNamespace, eventually, isNotFound } from '../cluster/helpers.js';
import { CLUSTER_DNS_IP, LOCAL_PATH_PROVISIONER, LOCAL_PATH_STORAGE_CLASS, lookupA, startDns, startLocalPath, type Addon, type Dns } from './addons.js';
import { nodeLeftovers, startRealNode, type RealNode } from './node.js';
import { ensureNodeParts } from './parts.js';
import { restrictedPod } from './pods.js';

const NS = 'node-addons';

const restricted = (name: string, command: string, volume?: k8s.V1Volume): k8s.V1Pod =>
  restrictedPod(name, { command: ['/bin/sh', '-c', command], ...(volume !== undefined ? { volume } : {}) });

describe('real node add-ons: DNS and local-path volumes', () => {
  let cp: ControlPlane;
  let node: RealNode;
  let dnsAddon: Dns;
  let localPath: Addon;
  let core: k8s.CoreV1Api;

  beforeAll(async () => {
    const parts = ensureNodeParts();
    const log = (m: string): void => {
      process.stderr.write(`${m}\n`);
    };
    cp = await startControlPlane({ name: 'node-addons', binDir: resolveBinDir(), realNodes: true, log });
    node = await startRealNode({ controlPlane: cp, binDir: parts.nodeBinDir, imageDir: parts.imageDir, log });
    dnsAddon = await startDns({ controlPlane: cp, node, addonDir: parts.addonDir, log });
    localPath = await startLocalPath({ controlPlane: cp, node, addonDir: parts.addonDir, log });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    core = kc.makeApiClient(k8s.CoreV1Api);
    await createTestNamespace(kc, NS);
  });

  afterAll(async () => {
    await dnsAddon?.stop();
    await localPath?.stop();
    await node?.stop();
    await cp?.stop();
    expect(nodeLeftovers()).toEqual([]);
    for (const a of [dnsAddon, localPath]) if (a) expect(isAlive(a.pid)).toBe(false);
  });

  const logsOf = async (name: string, until: RegExp, timeoutMs = 60_000): Promise<string> =>
    eventually(`pod ${name} logged ${until}`, async () => {
      const l = await core.readNamespacedPodLog({ namespace: NS, name }).catch(() => '');
      return until.test(l) ? l : undefined;
    }, { timeoutMs });

  it('answers only for the cluster domains, straight from the host process', async () => {
    const server = `${dnsAddon.ip}:${dnsAddon.port}`;
    expect(await lookupA(server, 'kubernetes.default.svc.cluster.local')).toEqual(['10.0.0.1']);
    await expect(lookupA(server, 'example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
    await expect(lookupA(server, 'web.default.svc.clusterset.local')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('a pod resolves a Service name to its ClusterIP through 10.0.0.10; other names fail at once', async () => {
    const svc = await core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    const clusterIp = svc.spec?.clusterIP;
    expect(clusterIp).toMatch(/^10\.0\.0\.\d+$/);
    const fqdn = `web.${NS}.svc.cluster.local`;
    await core.createNamespacedPod({
      namespace: NS,
      body: restricted(
        'resolver',
        [
          'cat /etc/resolv.conf',
          // bounded retries, only in case the first query races something; normally one suffices
          `for i in $(seq 10); do nslookup ${fqdn} > /tmp/svc 2>&1 && break; sleep 1; done`,
          'echo "=== svc attempts=$i"; cat /tmp/svc',
          'echo "=== ext"; time nslookup example.com 2>&1; echo "ext-rc=$?"',
          'echo "=== done"; exec sleep 3600',
        ].join('\n'),
      ),
    });
    const logs = await logsOf('resolver', /=== done/, 90_000);
    expect(logs).toContain(`nameserver ${CLUSTER_DNS_IP}`);
    const svcPart = logs.slice(logs.indexOf('=== svc'), logs.indexOf('=== ext'));
    expect(svcPart).toMatch(new RegExp(`Name:\\s+${fqdn.replace(/\./g, '\\.')}\\s+Address:\\s+${clusterIp?.replace(/\./g, '\\.')}\\b`));
    expect(svcPart).toMatch(/attempts=1\b/);
    const extPart = logs.slice(logs.indexOf('=== ext'), logs.indexOf('=== done'));
    expect(extPart).toMatch(/can't find example\.com/);
    expect(extPart).toMatch(/ext-rc=[1-9]/);
    expect(extPart).not.toMatch(/Address:\s+\d+\.\d+\.\d+\.\d+\s*$/m);
    // no upstream to wait for: REFUSED/NXDOMAIN come back at once (a resolver timeout is >= 5 s)
    const took = /real\s+(\d+)m\s*([\d.]+)s/.exec(extPart);
    expect(took, extPart).not.toBeNull();
    expect(Number(took?.[1]) * 60 + Number(took?.[2])).toBeLessThan(2);
  });

  it('a claim on the default StorageClass binds for a pod; its file outlives the pod; deleting it removes the directory', async () => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '16Mi' } } } },
    });
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: 'data' });
    expect(pvc.spec?.storageClassName).toBe(LOCAL_PATH_STORAGE_CLASS); // the default class, set at admission
    expect(pvc.status?.phase).toBe('Pending'); // WaitForFirstConsumer: nothing until a pod uses it
    const claim: k8s.V1Volume = { name: 'data', persistentVolumeClaim: { claimName: 'data' } };
    const token = `persisted-${Date.now()}`;
    await core.createNamespacedPod({
      namespace: NS,
      body: restricted('writer', `echo ${token} > /data/msg && echo "wrote uid=$(id -u)"; exec sleep 3600`, claim),
    });
    await logsOf('writer', /wrote uid=999/, 90_000);
    const bound = await core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: 'data' });
    expect(bound.status?.phase).toBe('Bound');
    const pv = await core.readPersistentVolume({ name: bound.spec?.volumeName ?? '' });
    expect(pv.metadata?.annotations?.['pv.kubernetes.io/provisioned-by']).toBe(LOCAL_PATH_PROVISIONER);
    const hostDir = pv.spec?.hostPath?.path ?? '';
    expect(hostDir.startsWith(`${node.dir}/local-path/`)).toBe(true);
    expect(JSON.stringify(pv.spec?.nodeAffinity)).toContain(node.name);
    expect(fs.readFileSync(`${hostDir}/msg`, 'utf8').trim()).toBe(token);
    expect(fs.statSync(`${hostDir}/msg`).uid).toBe(999);

    await core.deleteNamespacedPod({ namespace: NS, name: 'writer', gracePeriodSeconds: 0 });
    await eventually('pod writer gone', async () => {
      try {
        await core.readNamespacedPod({ namespace: NS, name: 'writer' });
        return undefined;
      } catch (err) {
        return isNotFound(err) ? true : undefined;
      }
    }, { timeoutMs: 60_000 });
    await core.createNamespacedPod({ namespace: NS, body: restricted('reader', 'echo "read $(cat /data/msg)"; exec sleep 3600', claim) });
    expect(await logsOf('reader', /read \S+/, 90_000)).toContain(`read ${token}`);

    // reclaimPolicy Delete: the provisioner's teardown helper pod removes the directory
    await core.deleteNamespacedPod({ namespace: NS, name: 'reader', gracePeriodSeconds: 0 });
    await core.deleteNamespacedPersistentVolumeClaim({ namespace: NS, name: 'data' });
    await eventually('volume and its directory removed', async () => {
      const pvGone = await core.readPersistentVolume({ name: pv.metadata?.name ?? '' }).then(() => false, (err) => isNotFound(err));
      return pvGone && !fs.existsSync(hostDir) ? true : undefined;
    }, { timeoutMs: 90_000 });
  });
});
