// Informers survive an API server that stops answering: the kube-apiserver process is frozen
// (SIGSTOP) for longer than the watch and request timeouts, so every watch and list fails; after
// SIGCONT the informers re-open their watches (client-node's idle timeout, or our restart with
// backoff after a failed watch/list), and the controller acts on changes
// made after the outage without being restarted. The admission guard is in force (the test
// writes as the GitOps sync, the controller as its ServiceAccount).
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startController, type RunningController } from '../../controller/manager.js';
import { makeLogger } from '../../controller/runtime/log.js';
import type { KubeClient } from '../../controller/runtime/kube.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { clientFor, createInstanceSet, live, names, patchSpec, podsOf, testInstanceSet } from './controller-helpers.js';
import { guardedNamespace, type GuardedNamespace } from './guarded-namespace.js';

const NS = `ctl-res-${Date.now().toString(36)}`;
let ids: GuardedNamespace;
let client: KubeClient;
let controller: RunningController;
let apiserverPid = 0;

/** The kube-apiserver process serving `port` (from /proc: the launcher does not export its pids to tests). */
function apiserverPidFor(port: string): number {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if ((argv[0] ?? '').endsWith('kube-apiserver') && argv.includes(`--secure-port=${port}`)) return Number(d);
    } catch {
      // process gone meanwhile
    }
  }
  throw new Error(`no kube-apiserver with --secure-port=${port}`);
}

beforeAll(async () => {
  ids = await guardedNamespace(NS);
  client = clientFor(ids.gitops);
  apiserverPid = apiserverPidFor(new URL(ids.admin.getCurrentCluster()?.server ?? '').port);
  controller = await startController({ kubeconfig: ids.controller, namespace: NS, metricsPort: -1, healthPort: -1, roleProbes: false, log: makeLogger('error') });
});

afterAll(async () => {
  if (apiserverPid > 0) process.kill(apiserverPid, 'SIGCONT');
  await controller?.stop();
  client?.close();
  await ids?.stop();
});

describe('informers across an API server outage', () => {
  it('re-open their watches and keep reconciling after the API server was frozen for 40 s', async () => {
    await createInstanceSet(client, testInstanceSet(NS, 'res', { replicas: 1 }));
    await eventually('res-0', async () => (names(live(await podsOf(client, NS, 'res'))).join(',') === 'res-0' ? true : undefined));
    const watchesBefore = controller.client.counts.get('watch') ?? 0;
    process.kill(apiserverPid, 'SIGSTOP');
    try {
      await sleep(40_000); // > the 30 s watch idle timeout and request timeout
    } finally {
      process.kill(apiserverPid, 'SIGCONT');
    }
    await eventually('API server answers again', async () => {
      await client.list(`/api/v1/namespaces/${NS}/pods`);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await patchSpec(client, NS, 'res', { replicas: 3 });
    await eventually('scaled out after the outage', async () => (names(live(await podsOf(client, NS, 'res'))).join(',') === 'res-0,res-1,res-2' ? true : undefined), { timeoutMs: 90_000, intervalMs: 250 });
    // The informers re-opened their watches (from the last resourceVersion; a 410 Gone would re-list).
    expect(controller.client.counts.get('watch') ?? 0).toBeGreaterThanOrEqual(watchesBefore + 4);
  }, 240_000);
});
