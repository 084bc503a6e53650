// A targeted Redis switchover under Sentinel makes the other replicas unelectable
// (replica-priority 0) for a few seconds. Should the controller die in that window, nothing in the
// engine says the 0 was temporary, and the replica would never again be promoted. So the original
// value is written on the pod (annotation) before the change and removed after the restore; the
// role-probe loop of whichever controller runs next restores what is still noted.
import { ANNOTATIONS, FIELD_MANAGER_CONTROLLER, type KubeObject } from '../../../schemas/types/index.js';
import { RedisPool } from './client.js';
import type { EngineTarget, PriorityJournal } from '../types.js';
import type { KubeClient } from '../../runtime/kube.js';
import { resourcePath } from '../../runtime/kube.js';

const TIMEOUT_MS = 2_000;

const annotate = async (client: KubeClient, namespace: string, podName: string, value: string | null): Promise<void> => {
  await client.mergePatch(resourcePath('Pod', namespace, podName), { metadata: { annotations: { [ANNOTATIONS.restoreReplicaPriority]: value } } }, FIELD_MANAGER_CONTROLLER);
};

/** The journal a switchover of pods in `namespace` writes to. */
export function podAnnotationJournal(client: KubeClient, namespace: string): PriorityJournal {
  return {
    saved: async (podName, value) => await annotate(client, namespace, podName, value),
    restored: async (podName) => await annotate(client, namespace, podName, null),
  };
}

/** Pure: pods that carry a replica-priority to restore, with the value. */
export function pendingRestores(pods: KubeObject[]): Array<{ podName: string; value: string }> {
  return pods.flatMap((p) => {
    const v = p.metadata.annotations?.[ANNOTATIONS.restoreReplicaPriority];
    return v !== undefined && /^\d+$/.test(v) ? [{ podName: p.metadata.name, value: v }] : [];
  });
}

/**
 * Makes `podNames` unelectable (replica-priority 0), noting each current value on its pod first.
 * A replica already at 0 is left alone (configured so, or noted by a running switchover). Returns
 * the pods changed.
 */
export async function unelect(client: KubeClient, namespace: string, podNames: string[], targets: Map<string, EngineTarget>): Promise<string[]> {
  if (podNames.length === 0) return [];
  const pool = new RedisPool();
  const done: string[] = [];
  try {
    for (const podName of podNames) {
      const t = targets.get(podName);
      if (t === undefined) continue;
      try {
        const reply = await pool.call(t, TIMEOUT_MS, 'CONFIG', 'GET', 'replica-priority');
        const cur = Array.isArray(reply) ? String(reply[1] ?? '') : '';
        if (!/^\d+$/.test(cur) || cur === '0') continue;
        await annotate(client, namespace, podName, cur);
        await pool.call(t, TIMEOUT_MS, 'CONFIG', 'SET', 'replica-priority', '0');
        done.push(podName);
      } catch {
        // not answering now: the next probe round tries again
      }
    }
  } finally {
    await pool.close();
  }
  return done;
}

/**
 * Restores the noted replica-priority of the pods in `only` (default: every noted pod) whose engine
 * answers, then drops the note. Call only while no switchover of the set runs. Returns the pods restored.
 */
export async function restoreNoted(client: KubeClient, namespace: string, pods: KubeObject[], targets: Map<string, EngineTarget>, only?: string[]): Promise<string[]> {
  const pending = pendingRestores(pods).filter((p) => only === undefined || only.includes(p.podName));
  if (pending.length === 0) return [];
  const pool = new RedisPool();
  const done: string[] = [];
  try {
    for (const { podName, value } of pending) {
      const t = targets.get(podName);
      if (t === undefined) continue;
      try {
        await pool.call(t, TIMEOUT_MS, 'CONFIG', 'SET', 'replica-priority', value);
      } catch {
        continue; // not answering: try again next round
      }
      await annotate(client, namespace, podName, null);
      done.push(podName);
    }
  } finally {
    await pool.close();
  }
  return done;
}
