// `dbtopo status` against two real API servers: a shard spread over both member clusters (one
// primary across them), a set mid-update with a switchover requested, read through kubeconfig
// contexts (one named like its member cluster, one mapped with --context); then a member cluster
// whose context is missing and one that does not answer, reported without hiding the others.
// Read with --namespace: other tests' objects live on the same control planes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStatus } from '../../compiler/cli/status.js';
import type { StatusReport } from '../../compiler/cli/status-report.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import { ANNOTATIONS, LABELS, type KubeObject } from '../../schemas/types/index.js';
import { installCrds, testInstanceSet } from '../e2e/controller-helpers.js';
import { createTestNamespace, deleteTestNamespace, kubeConfigFor, restrictedPod } from './helpers.js';

const NS = `status-${Date.now().toString(36)}`;
const MEMBERS = ['member-a', 'member-b'] as const;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-status-'));
const kubeconfig = path.join(dir, 'kubeconfig');
const repo = path.join(dir, 'repo');
const clients = new Map<string, KubeClient>();

async function pod(client: KubeClient, set: string, i: number, role: string, revision: string): Promise<void> {
  const p = restrictedPod(`${set}-${i}`) as unknown as KubeObject;
  p.metadata = { name: `${set}-${i}`, namespace: NS, labels: { [LABELS.instanceSet]: set, [LABELS.role]: role, [LABELS.revision]: revision } };
  await client.create(resourcePath('Pod', NS), p);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.mergePatch(resourcePath('Pod', NS, `${set}-${i}`, 'status'), { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } }, 'dbtopo-test');
}

async function status(...args: string[]): Promise<{ code: number; report: StatusReport; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runStatus(
    { env: 'test', namespace: NS, repo, kubeconfig, format: 'json', timeout: '5', ...parse(args) },
    (t) => (stdout += t),
    (l) => (stderr += `${l}\n`),
  );
  return { code, report: JSON.parse(stdout || '{}') as StatusReport, stderr };
}
function parse(args: string[]): { context: string[] } {
  const context: string[] = [];
  for (let i = 0; i < args.length; i += 2) if (args[i] === '--context') context.push(args[i + 1] ?? '');
  return { context };
}

/** One kubeconfig with a context per control plane: member-a by its own name, member-b as "ctx-b". */
function mergedKubeconfig(extra: Array<{ name: string; server: string }> = []): void {
  const merged = new k8s.KubeConfig();
  const clusters = [];
  const users = [];
  const contexts = [];
  for (const m of MEMBERS) {
    const kc = kubeConfigFor(m);
    const c = kc.getCurrentCluster();
    const u = kc.getCurrentUser();
    if (c === null || u === null) throw new Error(`kubeconfig of ${m} has no current cluster or user`);
    const name = m === 'member-b' ? 'ctx-b' : m;
    clusters.push({ ...c, name });
    users.push({ ...u, name });
    contexts.push({ name, cluster: name, user: name });
  }
  for (const e of extra) {
    clusters.push({ name: e.name, server: e.server, skipTLSVerify: true });
    users.push({ name: e.name, token: 'none' });
    contexts.push({ name: e.name, cluster: e.name, user: e.name });
  }
  merged.loadFromOptions({ clusters, users, contexts, currentContext: 'member-a' });
  fs.writeFileSync(kubeconfig, merged.exportConfig(), { mode: 0o600 });
}

function env(members: string[]): void {
  fs.mkdirSync(path.join(repo, 'envs'), { recursive: true });
  fs.mkdirSync(path.join(repo, 'topologies'), { recursive: true });
  const list = members.map((m) => `  - name: ${m}\n    destination:\n      server: https://${m}.example\n`).join('');
  fs.writeFileSync(path.join(repo, 'envs', 'test.yaml'), `name: test\nmemberClusters:\n${list}namespace: db\n`);
}

beforeAll(async () => {
  mergedKubeconfig();
  env([...MEMBERS]);
  for (const m of MEMBERS) {
    const kc = kubeConfigFor(m);
    const client = new KubeClient(kc);
    clients.set(m, client);
    await installCrds(client);
    await createTestNamespace(kc, NS);
    // the shard: orders-0 in both member clusters, its primary in member-a
    const spread = testInstanceSet(NS, 'orders-0', { replicas: 2, roles: [{ name: 'primary', isExclusive: true, updatePriority: 2, participatesInQuorum: false }, { name: 'secondary', isExclusive: false, updatePriority: 1, participatesInQuorum: false }] });
    spread.metadata.labels = { ...spread.metadata.labels, [LABELS.cluster]: 'orders', [LABELS.shard]: '0', [LABELS.component]: 'server' };
    await client.create(resourcePath('InstanceSet', NS), spread as unknown as KubeObject);
    await pod(client, 'orders-0', 0, m === 'member-a' ? 'primary' : 'secondary', 'r1');
    await pod(client, 'orders-0', 1, 'secondary', 'r1');
  }
  // member-a also runs a cache mid-update (1 of 2 pods on r2) with a switchover requested
  const a = clients.get('member-a')!;
  const cache = testInstanceSet(NS, 'cache-server', { replicas: 2, roles: [{ name: 'primary', isExclusive: true, updatePriority: 2, participatesInQuorum: false }, { name: 'secondary', isExclusive: false, updatePriority: 1, participatesInQuorum: false }] });
  cache.metadata.labels = { ...cache.metadata.labels, [LABELS.cluster]: 'cache', [LABELS.component]: 'server' };
  cache.metadata.annotations = { [ANNOTATIONS.switchover]: 'cache-server-1' };
  await a.create(resourcePath('InstanceSet', NS), cache as unknown as KubeObject);
  await a.mergePatch(resourcePath('InstanceSet', NS, 'cache-server', 'status'), { status: { updateRevision: 'r2', currentRevision: 'r1' } }, 'dbtopo-test');
  await pod(a, 'cache-server', 0, 'primary', 'r1');
  await pod(a, 'cache-server', 1, 'secondary', 'r2');
}, 120_000);

afterAll(async () => {
  for (const m of MEMBERS) {
    await deleteTestNamespace(kubeConfigFor(m), NS).catch(() => undefined);
    clients.get(m)?.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('dbtopo status on real API servers', () => {
  it('shows one shard over two member clusters with one primary, and the update and switchover in progress', async () => {
    const { code, report, stderr } = await status('--context', 'member-b=ctx-b');
    expect(stderr).toBe('');
    expect(report.members).toEqual([
      { member: 'member-a', context: 'member-a', instanceSets: 2 },
      { member: 'member-b', context: 'ctx-b', instanceSets: 1 },
    ]);
    const orders = report.shards.find((s) => s.namespace === NS && s.topology === 'orders');
    expect(orders?.shard).toBe('0');
    expect(orders?.sets.map((s) => [s.member, s.primary ?? '-', s.ready])).toEqual([['member-a', 'orders-0-0', 2], ['member-b', '-', 2]]);
    expect(orders?.problems).toEqual([]);
    const cache = report.shards.find((s) => s.namespace === NS && s.topology === 'cache');
    expect(cache?.sets[0]).toMatchObject({ primary: 'cache-server-0', switchover: 'cache-server-1', updating: { updated: 1, of: 2, revision: 'r2' } });
    expect(cache?.sets[0]?.pods.map((p) => [p.name, p.role, p.ready, p.revision])).toEqual([['cache-server-0', 'primary', true, 'r1'], ['cache-server-1', 'secondary', true, 'r2']]);
    expect(code).toBe(0);
  });

  it('a member cluster without a context, or one that does not answer, is reported, the others still shown, exit 1', async () => {
    mergedKubeconfig([{ name: 'member-dead', server: 'https://127.0.0.1:9' }]);
    env([...MEMBERS, 'member-dead']);
    const missing = await status();
    expect(missing.code).toBe(1);
    expect(missing.report.members.find((m) => m.member === 'member-b')?.error).toMatch(/no kubeconfig context "member-b" \(pass --context member-b=<context>/);
    expect(missing.report.members.find((m) => m.member === 'member-dead')?.error).toMatch(/ECONNREFUSED|no answer/);
    expect(missing.report.shards.find((s) => s.topology === 'orders')?.sets.map((s) => s.member)).toEqual(['member-a']);
    const usage = await status('--context', 'member-b');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/expected <member-cluster>=<kubeconfig-context>/);
    env([...MEMBERS]);
  });
});
