// reconcile(InstanceSet key) as a chain, in the shape of KubeBlocks' kubebuilderx reconciler:
// load the tree from the caches → desiredPods() and planPods() (pure) → the steps below, each with
// a precondition, in order; a step reads (the tree, the engines) and adds writes to the tree's
// Commit (commit.ts) → one commit applies them → status, always. Level-triggered and idempotent:
// every run starts again from what the caches show, so a killed controller resumes where it was.
//
// The ordering contract, whole:
//   1. PVCs before pods (a pod's claim must exist when the pod is admitted);
//   2. creates before deletes (scale-out before scale-in, as the change plan orders them);
//   3. the primary is handed off before its pod may go (plan.ts holds the pod back meanwhile):
//      the step files a switchover request in status (Requested) that the role loop carries out;
//   4. the rolling update last: it deletes outdated pods that the next pass recreates, and files
//      the switchover before the primary's turn the same way;
//   5. the commit applies the writes in the order the steps added them and stops at the first
//      that fails (the work queue retries with backoff); status is written after it, also when a
//      step or a write failed: an error stops what comes after it, never the report of what is there.
import { ANNOTATIONS, FIELD_MANAGER_CONTROLLER, LABELS, type InstanceSet, type KubeObject } from '../../../schemas/types/index.js';
import { forgetInstanceSet, splitKey, type ControllerContext } from '../../runtime/context.js';
import { isConflict, resourcePath } from '../../runtime/kube.js';
import type { ReconcileResult } from '../../runtime/workqueue.js';
import { Commit } from './commit.js';
import { desiredPods, type DesiredPod } from './desired.js';
import { heldMessage, planPods, type PodPlan } from './plan.js';
import { isTerminating } from './pods.js';
import { computeStatus, statusEqual } from './status.js';
import { expectDeletion, switchoverBeforeRemoval, updateStep, type UpdateStepResult } from './update.js';

/** What the steps read (the observed tree and the pure plan), the writes they add, and what they leave for the status. */
interface Tree {
  is: InstanceSet;
  pods: KubeObject[];
  pvcs: KubeObject[];
  desired: DesiredPod[];
  plan: PodPlan;
  commit: Commit;
  update?: UpdateStepResult;
}

interface Step {
  name: string;
  when(t: Tree): boolean;
  run(ctx: ControllerContext, t: Tree): void | Promise<void>;
}

const STEPS: readonly Step[] = [
  {
    name: 'create PVCs and pods',
    when: (t) => t.plan.createPvcs.length > 0 || t.plan.createPods.length > 0,
    run(_ctx, t) {
      for (const pvc of t.plan.createPvcs) t.commit.create('PersistentVolumeClaim', pvc);
      for (const pod of t.plan.createPods) t.commit.create('Pod', pod);
    },
  },
  {
    // Spread shards: a pod that left spec waits for the federation manager's release (plan.ts
    // heldUntilReleased); one Event per change of what is held (the Held condition carries it).
    name: 'hold leaving pods until the federation releases them',
    when: (t) => (t.plan.held?.length ?? 0) > 0,
    run(ctx, t) {
      const msg = heldMessage(t.plan.held!);
      if (t.is.status?.conditions?.find((c) => c.type === 'Held')?.message !== msg) ctx.events.emit(t.is, 'Normal', 'WaitingForFederation', 'ScaleIn', msg);
    },
  },
  {
    name: 'remove unwanted pods and claims',
    when: (t) => t.plan.deletePods.length > 0 || t.plan.deletePvcs.length > 0,
    run(_ctx, t) {
      for (const ref of t.plan.deletePods) t.commit.delete('Pod', ref, 'scale in / offline');
      for (const ref of t.plan.deletePvcs) t.commit.delete('PersistentVolumeClaim', ref, 'whenScaled: Delete');
    },
  },
  {
    // Never remove the primary's pod as the primary: ask for the role to move to a pod that stays first.
    name: 'hand off the primary of a pod that goes',
    when: (t) => t.plan.switchoverFrom !== undefined,
    run(ctx, t) {
      switchoverBeforeRemoval(ctx, t.commit, t.is, t.plan.switchoverFrom!, t.plan.switchoverTo);
    },
  },
  {
    // Rolling update and switchover requests (UPDATES: controller/reconcile/instanceset/update.ts).
    name: 'rolling update',
    when: () => true,
    async run(ctx, t) {
      t.update = await updateStep(ctx, t.commit, t.is, t.desired, t.pods);
      for (const ref of t.update.deletePods) t.commit.delete('Pod', ref, 'rolling update', { event: false, deleted: () => expectDeletion(ctx, ref.uid) });
    },
  },
];

export async function reconcileInstanceSet(ctx: ControllerContext, key: string): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const is = ctx.caches.instanceSets.get(namespace, name);
  if (is === undefined) {
    // Deleted: owner references let the garbage collector remove pods; nothing of it is kept here.
    forgetInstanceSet(ctx.memory, key);
    return {};
  }
  const log = ctx.log.child({ instanceSet: key });
  const pods = ctx.caches.pods.byLabel(namespace, name);
  const pvcs = ctx.caches.pvcs.byLabel(namespace, name);
  const desired = desiredPods(is);
  const tree: Tree = { is, pods, pvcs, desired, plan: planPods(is, desired, pods, pvcs), commit: new Commit(ctx, is) };
  if (tree.plan.waiting !== undefined) log.debug({ waiting: tree.plan.waiting }, 'holding back');

  let failed: { step: string; err: unknown } | undefined;
  for (const step of STEPS) {
    if (!step.when(tree)) continue;
    tree.commit.step = step.name;
    try {
      await step.run(ctx, tree);
    } catch (err) {
      failed = { step: step.name, err };
      break;
    }
  }
  // What the steps before a failed one planned is still written: each stands on its own.
  const writeFailed = await tree.commit.commit();
  if (writeFailed !== undefined) failed ??= { step: writeFailed.what, err: writeFailed.err };

  const error = failed !== undefined ? `${failed.step}: ${failed.err instanceof Error ? failed.err.message : String(failed.err)}` : undefined;
  const { status, recheckAfterMs } = computeStatus(is, desired, pods, ctx.now(), {
    ...(tree.update?.waiting !== undefined ? { updateWaiting: tree.update.waiting } : {}),
    ...(ctx.memory.switchovers.has(key) ? { switchover: ctx.memory.switchovers.get(key)! } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(tree.plan.held !== undefined ? { held: tree.plan.held } : {}),
  });
  if (!statusEqual(is.status, status)) await writeStatus(ctx, is, status);
  if (failed !== undefined) throw failed.err instanceof Error ? failed.err : new Error(String(failed.err));

  // The update step polls while a rollout or switchover is under way (it waits on engines, which
  // send no watch events). With every pod at its revision, what is left to wait for is pod
  // readiness, which pod events report: no polling then, so a set at rest costs nothing.
  const revisionOf = new Map(desired.map((d) => [d.name, d.revision]));
  const rolling =
    is.metadata.annotations?.[ANNOTATIONS.switchover] !== undefined ||
    pods.some((p) => !isTerminating(p) && revisionOf.has(p.metadata.name) && revisionOf.get(p.metadata.name) !== p.metadata.labels?.[LABELS.revision]);
  const requeue = Math.min(
    recheckAfterMs !== undefined ? recheckAfterMs + 50 : Infinity,
    rolling ? (tree.update?.requeueAfterMs ?? Infinity) : Infinity,
    // the role moves in the engines first; the labels follow with the next probe, not a watch event
    tree.plan.switchoverFrom !== undefined ? 1_000 : Infinity,
  );
  return Number.isFinite(requeue) ? { requeueAfter: requeue } : {};
}

async function writeStatus(ctx: ControllerContext, is: InstanceSet, status: InstanceSet['status']): Promise<void> {
  const ns = is.metadata.namespace;
  try {
    await ctx.client.apply(
      resourcePath('InstanceSet', ns, is.metadata.name, 'status'),
      { apiVersion: is.apiVersion, kind: 'InstanceSet', metadata: { name: is.metadata.name, namespace: ns }, status },
      FIELD_MANAGER_CONTROLLER,
    );
  } catch (err) {
    if (isConflict(err)) throw new Error(`status of ${ns}/${is.metadata.name} changed meanwhile; retrying`);
    throw err;
  }
}
