// A killed run leaves nothing: a process holding a control plane and a real node with running pods
// is SIGKILLed; the watchdog runs cleanup-node.sh, which removes processes, pod network
// namespaces, mounts, the bridge, iptables chains and cgroups, and restores the sysctls the
// kubelet changed.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { BUSYBOX_IMAGE, nodeLeftovers } from './node.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops', 'net/ipv4/ip_forward'];
const read = (): Record<string, string> => Object.fromEntries(SYSCTLS.map((k) => [k, fs.readFileSync(`/proc/sys/${k}`, 'utf8').trim()]));

describe('cleanup-node.sh', () => {
  it('removes everything a SIGKILLed run left, and restores the sysctls', async () => {
    expect(nodeLeftovers()).toEqual([]);
    const before = read();
    const child = spawn(process.execPath, ['--import', './schemas/run-ts.mjs', 'test/node/hold-node.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kubeconfig = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hold-node.ts not READY in 120 s:\n${stderr}`)), 120_000);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.on('exit', (code) => reject(new Error(`hold-node.ts exited ${code}:\n${stderr}`)));
    });
    try {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(kubeconfig);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'left-behind' },
          spec: { containers: [{ name: 'main', image: BUSYBOX_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
        },
      });
      await eventually('pod left-behind Running', async () => {
        const p = await core.readNamespacedPod({ namespace: 'default', name: 'left-behind' });
        return p.status?.phase === 'Running' ? true : undefined;
      }, { timeoutMs: 60_000 });
      // the kubelet changed the machine while it ran (the sysctls it insists on)
      expect(read()['kernel/panic']).toBe('10');
      expect(nodeLeftovers()).toEqual(expect.arrayContaining(['containerd shims', 'cni netns', 'mounts', 'cgroups', 'iptables chains']));
    } finally {
      child.kill('SIGKILL');
    }
    const left = await eventually('the watchdog cleaned up', async () => (nodeLeftovers().length === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
    }).catch(() => nodeLeftovers());
    expect(left).toBe(true);
    expect(read()).toEqual(before);
  });
});
