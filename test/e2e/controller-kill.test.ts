// Invariant 5 under fire: the controller runs as a child process (node dist/controller/main.js)
// and is SIGKILLed at a random moment of a scale-out, 20 times, with real redis-server pods run by
// the test kubelet. A watcher samples the pods all the time: never a pod outside the wanted
// names, never two pods labelled primary; after every restart the set converges (all pods Ready,
// exactly one primary, the others secondary, and the engines agree with the labels). The admission
// guard is in force: the test writes as the GitOps sync, the controller as its ServiceAccount, the
// test kubelet as a node.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABELS, type KubeObject } from '../../schemas/types/index.js';
import { resourcePath, type KubeClient } from '../../controller/runtime/kube.js';
import { eventually, sleep } from '../cluster/helpers.js';
import { startTestKubelet, type TestKubelet } from '../kubelet/kubelet.js';
import { clientFor, createInstanceSet, ensureControllerBuilt, spawnController, getInstanceSet, isPodReady, live, patchSpec, podsOf, testInstanceSet } from './controller-helpers.js';
import { guardedNamespace, type GuardedNamespace } from './guarded-namespace.js';

const NS = `ctl-kill-${Date.now().toString(36)}`;
const SET = 'kv';
const KILLS = 20;
const SMALL = 2;
const LARGE = 4;

let ids: GuardedNamespace;
let client: KubeClient;
let kubelet: TestKubelet;
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-ctl-kill-'));
const children = new Set<ChildProcess>();

function startChild(): ChildProcess {
  const child = spawnController(ids.controllerKubeconfig, NS);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

const sigtermExitCodes: Array<number | null> = [];

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code) => {
      if (signal === 'SIGTERM') sigtermExitCodes.push(code);
      r();
    }),
  );
  child.kill(signal);
  await Promise.race([exited, sleep(25_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

const rolesOf = (pods: KubeObject[]): Array<string | undefined> => pods.map((p) => p.metadata.labels?.[LABELS.role]);

/** Right now: all pods Ready, labelled (one primary), status agreeing. */
async function isConverged(replicas: number): Promise<boolean> {
  const pods = live(await podsOf(client, NS, SET));
  const roles = rolesOf(pods);
  const is = await getInstanceSet(client, NS, SET);
  return pods.length === replicas && pods.every(isPodReady) && roles.filter((r) => r === 'primary').length === 1 && roles.filter((r) => r === 'secondary').length === replicas - 1 && is?.status?.readyReplicas === replicas;
}

/** All pods Ready, one primary label, the rest secondary, status agreeing; the engines agree too. */
async function converged(replicas: number): Promise<KubeObject[]> {
  return await eventually(`${replicas} pods converged`, async () => {
    const pods = live(await podsOf(client, NS, SET));
    if (pods.length !== replicas || !pods.every(isPodReady)) return undefined;
    const roles = rolesOf(pods);
    if (roles.filter((r) => r === 'primary').length !== 1 || roles.filter((r) => r === 'secondary').length !== replicas - 1) return undefined;
    const is = await getInstanceSet(client, NS, SET);
    if (is?.status?.readyReplicas !== replicas || is.status.primary === undefined) return undefined;
    return pods;
  }, { timeoutMs: 60_000, intervalMs: 200 });
}

async function engineRole(pod: KubeObject): Promise<string> {
  const ip = (pod['status'] as { podIP: string }).podIP;
  const r = new Redis({ host: ip, port: 6379, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  try {
    await r.connect();
    const info = await r.info('replication');
    return /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    r.disconnect();
  }
}

beforeAll(async () => {
  ensureControllerBuilt();
  ids = await guardedNamespace(NS);
  client = clientFor(ids.gitops);
  kubelet = await startTestKubelet({ kubeconfigPath: ids.nodeKubeconfig, nodeName: `ctl-kill-${process.pid}`, workDir, namespace: NS });
  await client.create(resourcePath('Pod', NS).replace('/pods', '/configmaps'), {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kv-config', namespace: NS },
    data: { 'redis.conf': 'port 6379\ndir /data\nreplica-announce-ip ${POD_IP}\nsave ""\nappendonly no\n' },
  });
  const is = testInstanceSet(NS, SET, {
    replicas: SMALL,
    roles: [
      { name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true },
      { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false },
    ],
    roleProbe: { periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3 },
  });
  const c = is.spec.template.spec.containers[0];
  if (c !== undefined) {
    c['command'] = ['redis-server', '/config/redis.conf'];
    c['securityContext'] = { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } };
  }
  is.spec.template.spec['volumes'] = [{ name: 'config-template', configMap: { name: 'kv-config' } }];
  await createInstanceSet(client, is);
}, 300_000);

afterAll(async () => {
  for (const c of [...children]) await kill(c, 'SIGKILL');
  await kubelet?.stop();
  client?.close();
  await ids?.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
});

describe('controller killed at random moments of a scale-out', () => {
  it(`never duplicates a pod, never labels two primaries, and converges after each of ${KILLS} kills`, async () => {
    const violations: string[] = [];
    let watching = true;
    const allowed = new Set(Array.from({ length: LARGE }, (_, i) => `${SET}-${i}`));
    const watcher = (async () => {
      for (let i = 0; watching && i < 100_000; i++) {
        try {
          const pods = await podsOf(client, NS, SET);
          const names = pods.map((p) => p.metadata.name);
          if (new Set(names).size !== names.length) violations.push(`duplicate pod names: ${names.join(',')}`);
          for (const n of names) if (!allowed.has(n)) violations.push(`unexpected pod ${n}`);
          const primaries = pods.filter((p) => p.metadata.labels?.[LABELS.role] === 'primary').map((p) => p.metadata.name);
          if (primaries.length > 1) violations.push(`two primaries: ${primaries.join(',')}`);
        } catch {
          // API hiccup: sample again
        }
        await sleep(50);
      }
    })();

    // Bootstrap: first controller wires the small set.
    let ctl = startChild();
    await converged(SMALL);
    await kill(ctl, 'SIGTERM');

    const killedAfter: number[] = [];
    let midScaleOut = 0;
    const convergeMs: number[] = [];
    for (let k = 0; k < KILLS; k++) {
      await patchSpec(client, NS, SET, { replicas: LARGE });
      ctl = startChild();
      // Node start + informer sync take ~0.5-1 s, the scale-out ~1-3 s more: kill inside that window.
      const after = 150 + Math.floor(Math.random() * 1500);
      killedAfter.push(after);
      await sleep(after);
      await kill(ctl, 'SIGKILL');
      if (!(await isConverged(LARGE))) midScaleOut++;
      const t0 = performance.now();
      ctl = startChild();
      const pods = await converged(LARGE);
      convergeMs.push(performance.now() - t0);
      // The engines agree with the labels: the labelled primary is a master, the others replicas.
      for (const p of pods) expect(await engineRole(p)).toBe(p.metadata.labels?.[LABELS.role] === 'primary' ? 'master' : 'slave');
      await patchSpec(client, NS, SET, { replicas: SMALL });
      await converged(SMALL);
      await kill(ctl, 'SIGTERM');
    }
    watching = false;
    await watcher;
    console.log(
      `[controller-kill] ${KILLS} kills after ${killedAfter.join(',')} ms (${midScaleOut} of them before the scale-out had converged); convergence after restart: ` +
        `median ${convergeMs.sort((a, b) => a - b)[Math.floor(convergeMs.length / 2)]?.toFixed(0)} ms, max ${Math.max(...convergeMs).toFixed(0)} ms`,
    );
    expect(violations).toEqual([]);
    // The kills did land inside scale-outs (not only after they had finished).
    expect(midScaleOut).toBeGreaterThanOrEqual(5);
    // Graceful shutdown: every SIGTERM ended in exit code 0 (queues drained, informers stopped).
    expect(sigtermExitCodes.length).toBe(KILLS + 1);
    expect(sigtermExitCodes.every((c) => c === 0)).toBe(true);
  }, 1_200_000);
});
