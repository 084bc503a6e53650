// Helpers of the controller e2e tests: CRDs on the test control plane, InstanceSets that pass
// Pod Security `restricted`, and a stand-in for the kubelet that marks pods Ready (for the tests
// that need no engine process).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import { API_VERSION, LABELS, type InstanceSet, type KubeObject } from '../../schemas/types/index.js';
import { KubeClient, isConflict, resourcePath } from '../../controller/runtime/kube.js';
import { eventually, pollUntilStopped } from '../cluster/helpers.js';

/** Creates (or keeps) the dbtopo CRDs and waits until they are Established. */
export async function installCrds(client: KubeClient): Promise<void> {
  for (const crd of [instanceSetCrd, clusterCrd]) {
    const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`;
    await client.apply(path, crd, 'dbtopo-test');
    await eventually(`CRD ${crd.metadata.name} established`, async () => {
      const got = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(path);
      return got?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true ? true : undefined;
    });
  }
  // Discovery of the new group can lag behind Established: wait until a list answers.
  await eventually('instancesets served', async () => {
    await client.list(resourcePath('InstanceSet'));
    await client.list(resourcePath('Cluster'));
    return true;
  });
}

const restrictedContainer = {
  name: 'redis',
  image: 'redis:7.2',
  ports: [{ name: 'redis', containerPort: 6379 }],
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
  resources: { requests: { cpu: '100m', memory: '64Mi' } },
};

export function testInstanceSet(namespace: string, name: string, spec: Partial<InstanceSet['spec']> = {}): InstanceSet {
  return {
    apiVersion: API_VERSION,
    kind: 'InstanceSet',
    metadata: { name, namespace, labels: { [LABELS.cluster]: 'c1' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { [LABELS.instanceSet]: name } },
      template: {
        metadata: { labels: { [LABELS.instanceSet]: name, app: 'db' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [structuredClone(restrictedContainer)],
        },
      },
      podManagementPolicy: 'Parallel',
      memberUpdateStrategy: 'Serial',
      serviceName: `${name}-headless`,
      engine: { type: 'redis', version: '7.2', port: 6379 },
      ...spec,
    },
  };
}

export async function createInstanceSet(client: KubeClient, is: InstanceSet): Promise<InstanceSet> {
  return await client.create<InstanceSet & KubeObject>(resourcePath('InstanceSet', is.metadata.namespace), is as unknown as KubeObject);
}

/** Changes the spec with a JSON merge patch (as `kubectl patch --type merge` would). */
export async function patchSpec(client: KubeClient, namespace: string, name: string, spec: Partial<InstanceSet['spec']>): Promise<void> {
  await client.mergePatch(resourcePath('InstanceSet', namespace, name), { spec }, 'dbtopo-test');
}

export async function getInstanceSet(client: KubeClient, namespace: string, name: string): Promise<InstanceSet | undefined> {
  return (await client.get<InstanceSet & KubeObject>(resourcePath('InstanceSet', namespace, name))) as InstanceSet | undefined;
}

export async function podsOf(client: KubeClient, namespace: string, set: string): Promise<KubeObject[]> {
  const list = await client.list<KubeObject>(resourcePath('Pod', namespace), { labelSelector: `${LABELS.instanceSet}=${set}` });
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
}

export async function pvcsOf(client: KubeClient, namespace: string, set: string): Promise<KubeObject[]> {
  const list = await client.list<KubeObject>(resourcePath('PersistentVolumeClaim', namespace), { labelSelector: `${LABELS.instanceSet}=${set}` });
  return list.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
}

export const names = (objs: KubeObject[]): string[] => objs.map((o) => o.metadata.name);
export const live = (objs: KubeObject[]): KubeObject[] => objs.filter((o) => o.metadata.deletionTimestamp === undefined);

/** What a kubelet would write once a pod's containers answer: Running, an IP, Ready. */
export async function markReady(client: KubeClient, pod: KubeObject): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  try {
    await client.mergePatch(
      resourcePath('Pod', pod.metadata.namespace, pod.metadata.name, 'status'),
      {
        status: {
          phase: 'Running',
          podIP: '127.0.0.1',
          conditions: [
            { type: 'Ready', status: 'True', lastTransitionTime: now },
            { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
          ],
        },
      },
      'dbtopo-test',
    );
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

const isPodReady = (p: KubeObject): boolean =>
  ((p['status'] as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

/** Marks every not-yet-Ready pod of the namespace Ready, every `intervalMs`, until stopped. */
export function fakeKubelet(client: KubeClient, namespace: string, intervalMs = 100): { stop(): Promise<void> } {
  return pollUntilStopped(async () => {
    const pods = await client.list<KubeObject>(resourcePath('Pod', namespace));
    for (const p of pods.items) if (!isPodReady(p) && p.metadata.deletionTimestamp === undefined) await markReady(client, p).catch(() => undefined);
  }, intervalMs);
}

export function clientFor(kc: k8s.KubeConfig): KubeClient {
  return new KubeClient(kc);
}

export { isPodReady };

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'dist/controller/main.js');

/** Newest mtime of the controller's sources, to rebuild dist only when it is stale. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (tsc) when a controller source is newer than dist/controller/main.js. */
export function ensureControllerBuilt(): void {
  const built = fs.existsSync(MAIN) ? fs.statSync(MAIN).mtimeMs : 0;
  if (built > newestSource(path.join(ROOT, 'controller'))) return;
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], { stdio: 'pipe', timeout: 240_000 });
  } catch {
    // tsc exits non-zero on type errors anywhere in the project but still emits; main.js is what we need.
  }
  if (!fs.existsSync(MAIN)) throw new Error(`${MAIN} missing after tsc: run \`npx tsc -p ${ROOT}\` and read its errors`);
}

/** The controller as a child process (node dist/controller/main.js), as it runs in a pod; stderr inherited. */
export function spawnController(kubeconfigPath: string, namespace: string): ChildProcess {
  return spawn(process.execPath, [MAIN, '--kubeconfig', kubeconfigPath, '--namespace', namespace, '--metrics-port', '-1', '--health-port', '-1', '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/**
 * The controllers a test runs as child processes and SIGKILLs at will (as a node failure would
 * kill a pod); `killAll()` also stops them at the end of the test.
 */
export class ControllerChildren {
  private readonly children = new Set<ChildProcess>();

  constructor(
    private readonly kubeconfigPath: string,
    private readonly namespace: string,
  ) {}

  async start(): Promise<ChildProcess> {
    // On a shared development machine another build may have cleaned dist/ for a moment; a child
    // started then would exit at once and leave the set without a controller.
    for (let i = 0; i < 600 && !fs.existsSync(MAIN); i++) await new Promise((r) => setTimeout(r, 200));
    const child = spawnController(this.kubeconfigPath, this.namespace);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * Rollouts with the controller SIGKILLed at random moments, `kills` in all: `rollout(n)` starts
   * rollout n and says how to wait for it and what to check after; each rollout gets up to
   * `perRollout` kills 0.3–3.3 s apart, each followed by a restart 0–0.3 s later.
   */
  async killDuringRollouts(
    kills: number,
    perRollout: number,
    rollout: (n: number) => Promise<{ converged: () => Promise<void>; check?: () => Promise<void> }>,
  ): Promise<{ killedAfter: number[]; killedAt: number[]; convergeMs: number[] }> {
    const out = { killedAfter: [] as number[], killedAt: [] as number[], convergeMs: [] as number[] };
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    for (let n = 0; out.killedAt.length < kills && n < kills; n++) {
      const started = performance.now();
      const { converged, check } = await rollout(n);
      for (let k = 0; k < perRollout && out.killedAt.length < kills; k++) {
        await sleep(300 + Math.floor(Math.random() * 3_000));
        out.killedAfter.push(Math.round(performance.now() - started));
        out.killedAt.push(performance.now());
        await this.killAll();
        await sleep(Math.floor(Math.random() * 300));
        await this.start();
      }
      const restartedAt = performance.now();
      await converged();
      out.convergeMs.push(performance.now() - restartedAt);
      await check?.();
    }
    return out;
  }

  /** SIGKILLs every running child and waits (bounded) until each has exited. */
  async killAll(): Promise<void> {
    for (const child of [...this.children]) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGKILL');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
  }
}
