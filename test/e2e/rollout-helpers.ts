// Rolling an InstanceSet's template in the e2e tests: patch, then follow the replacements (polling,
// bounded) until every pod was replaced and the roles settled; and the set's Events.
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { LABELS } from '../../schemas/types/index.js';
import { KubeClient, resourcePath } from '../../controller/runtime/kube.js';
import { eventually, testKubeconfigs } from '../cluster/helpers.js';
import { restartApiServer } from '../cluster/launcher.js';
import { pods, rolesSettled, type EngineEnv } from './engines-helpers.js';

export interface Replacement {
  pod: string;
  roleWhenDeleted: string | undefined;
  atMs: number;
}

/** Starts a rollout of `set`: a changed annotation in its pod template. */
export async function patchTemplate(client: KubeClient, namespace: string, set: string, value: string): Promise<void> {
  await client.mergePatch(resourcePath('InstanceSet', namespace, set), { spec: { template: { metadata: { annotations: { 'dbtopo.dev/rollout-test': value } } } } }, 'e2e');
}

interface SetStatus {
  updateRevision?: string;
  currentRevision?: string;
  updatedReplicas?: number;
  readyReplicas?: number;
}

export async function setStatus(client: KubeClient, namespace: string, set: string): Promise<SetStatus> {
  return ((await client.get(resourcePath('InstanceSet', namespace, set))) as { status?: SetStatus }).status ?? {};
}

/** Where a rollout starts from: the set's updateRevision and each pod's revision label. */
export interface RevisionMark {
  set?: string;
  pods: Map<string, string | undefined>;
}

export async function revisionMark(env: EngineEnv, client: KubeClient, set: string): Promise<RevisionMark> {
  const rev = (await setStatus(client, env.namespace, set)).updateRevision;
  const byPod = new Map((await pods(env.core, env.namespace, set)).map((p) => [p.metadata?.name ?? '', p.metadata?.labels?.[LABELS.revision]]));
  return { ...(rev !== undefined ? { set: rev } : {}), pods: byPod };
}

/**
 * Waits until the rollout from `before` converged: status on a new updateRevision with every one
 * of `count` pods updated and Ready, each pod on a revision other than its own before (a pod's
 * revision hashes its own template: instance templates differ), one primary and count-1
 * secondaries by label. `describe` adds what the set was waiting for to a timeout.
 */
export async function waitConverged(env: EngineEnv, client: KubeClient, set: string, count: number, before: RevisionMark, what: string, timeoutMs: number, describe?: () => Promise<string>): Promise<void> {
  await eventually(`${what} converged`, async () => {
    const st = await setStatus(client, env.namespace, set);
    if (st.updateRevision === undefined || st.updateRevision === before.set || st.currentRevision !== st.updateRevision) return undefined;
    if (st.updatedReplicas !== count || st.readyReplicas !== count) return undefined;
    const ps = await pods(env.core, env.namespace, set);
    const roles = ps.map((p) => p.metadata?.labels?.[LABELS.role]);
    const onRevision = ps.every((p) => p.metadata?.labels?.[LABELS.revision] !== undefined && p.metadata.labels[LABELS.revision] !== before.pods.get(p.metadata?.name ?? ''));
    return ps.length === count && onRevision && roles.filter((r) => r === 'primary').length === 1 && roles.filter((r) => r === 'secondary').length === count - 1 ? true : undefined;
  }, { timeoutMs, intervalMs: 200 }).catch(async (err: unknown) => {
    throw describe === undefined ? err : new Error(`${err instanceof Error ? err.message : String(err)}\n${await describe()}`);
  });
}

/** Patches the template, then watches (polling, bounded) until every pod was replaced and the roles settled. */
export async function rollOut(env: EngineEnv, set: string, count: number, timeoutMs: number): Promise<{ replaced: Replacement[]; ms: number; primaryBefore: string; primaryAfter: string }> {
  const { primary } = await rolesSettled(env.core, env.namespace, set, count, 120_000);
  const primaryBefore = primary.metadata!.name!;
  const client = new KubeClient(env.kc);
  const seen = new Map<string, { uid: string; role: string | undefined }>();
  for (const p of await pods(env.core, env.namespace, set)) seen.set(p.metadata!.name!, { uid: p.metadata!.uid!, role: p.metadata!.labels?.[LABELS.role] });
  const started = Date.now();
  await patchTemplate(client, env.namespace, set, String(started));
  const replaced: Replacement[] = [];
  try {
    for (let i = 0; Date.now() - started < timeoutMs && i < 10_000; i++) {
      const now = await pods(env.core, env.namespace, set);
      for (const p of now) {
        const name = p.metadata!.name!;
        const prev = seen.get(name);
        const gone = p.metadata!.deletionTimestamp !== undefined || (prev !== undefined && prev.uid !== p.metadata!.uid);
        if (prev && gone && !replaced.some((r) => r.pod === name)) replaced.push({ pod: name, roleWhenDeleted: prev.role, atMs: Date.now() - started });
        if (!gone) seen.set(name, { uid: p.metadata!.uid!, role: p.metadata!.labels?.[LABELS.role] });
      }
      const is = (await client.get(resourcePath('InstanceSet', env.namespace, set))) as { status?: { updateRevision?: string } };
      const rev = is.status?.updateRevision;
      const settled =
        replaced.length === count &&
        now.length === count &&
        now.every((p) => p.metadata!.deletionTimestamp === undefined && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') && p.metadata!.labels?.[LABELS.role] !== undefined) &&
        now.filter((p) => p.metadata!.labels?.[LABELS.role] === 'primary').length === 1;
      if (settled && rev !== undefined) {
        const primaryAfter = now.find((p) => p.metadata!.labels?.[LABELS.role] === 'primary')!.metadata!.name!;
        return { replaced, ms: Date.now() - started, primaryBefore, primaryAfter };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    client.close();
  }
  throw new Error(`rollout of ${set} not finished after ${timeoutMs} ms; replaced so far: ${JSON.stringify(replaced)}`);
}

export async function eventReasons(env: EngineEnv, set: string): Promise<string[]> {
  const api = env.kc.makeApiClient(k8s.EventsV1Api);
  const list = await api.listNamespacedEvent({ namespace: env.namespace });
  return list.items.filter((e) => e.regarding?.name === set).map((e) => `${e.reason}: ${e.note ?? ''}`);
}

/**
 * Starts a rollout of `set` with `patch()` and restarts the API server of the test's member
 * cluster once it is under way (a first pod replaced); then waits for `converged()`. Returns how
 * long the API server was away and how long the rollout took from the patch.
 */
export async function rollOutAcrossApiServerRestart(env: EngineEnv, set: string, patch: () => Promise<void>, converged: () => Promise<void>): Promise<{ downMs: number; rolledMs: number }> {
  const uids = new Map((await pods(env.core, env.namespace, set)).map((p) => [p.metadata?.name ?? '', p.metadata?.uid ?? '']));
  const started = performance.now();
  await patch();
  await eventually('a first pod replaced', async () => {
    const ps = await pods(env.core, env.namespace, set);
    return ps.some((p) => uids.get(p.metadata?.name ?? '') !== p.metadata?.uid) || ps.length < uids.size ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100 });
  const { downMs } = await restartApiServer(path.dirname(testKubeconfigs()['member-a'] ?? ''));
  await converged();
  return { downMs, rolledMs: performance.now() - started };
}
