// reconcile(InstanceSet key) as a chain, in the shape of KubeBlocks' kubebuilderx reconciler:
// load the tree from the caches → desiredPods() and planPods() (pure) → the steps below, each with
// a precondition, in order → status, always. Level-triggered and idempotent: every run starts again
// from what the caches show, so a killed controller resumes where it was.
//
// The ordering contract, whole:
//   1. PVCs before pods (a pod's claim must exist when the pod is admitted);
//   2. creates before deletes (scale-out before scale-in, as the change plan orders them);
//   3. the primary is handed off before its pod may go (plan.ts holds the pod back meanwhile);
//   4. the rolling update last: it deletes outdated pods that the next pass recreates;
//   5. status is written after the steps and also when one of them failed: the error stops the
//      steps after it (the work queue retries with backoff), never the report of what is there.
// Deletes carry the pod's or claim's uid as a precondition, so a newer object of the same name is
// never hit; a create that finds the object already there (our cache was behind) is success.
import { ANNOTATIONS, FIELD_MANAGER_CONTROLLER, LABELS, type InstanceSet, type KubeObject } from '../../../schemas/types/index.js';
import { forgetInstanceSet, keyOf, splitKey, type ControllerContext } from '../../runtime/context.js';
import { isConflict, KubeError, resourcePath } from '../../runtime/kube.js';
import type { ReconcileResult } from '../../runtime/workqueue.js';
import { desiredPods, type DesiredPod } from './desired.js';
import { planPods, type PodPlan } from './plan.js';
import { isTerminating } from './pods.js';
import { computeStatus, statusEqual } from './status.js';
import { expectDeletion, switchoverBeforeRemoval, updateStep, type UpdateStepResult } from './update.js';

/** What the steps read (the observed tree and the pure plan) and what they leave for the status. */
interface Tree {
  is: InstanceSet;
  pods: KubeObject[];
  pvcs: KubeObject[];
  desired: DesiredPod[];
  plan: PodPlan;
  update?: UpdateStepResult;
}

interface Step {
  name: string;
  when(t: Tree): boolean;
  run(ctx: ControllerContext, t: Tree): Promise<void>;
}

const STEPS: readonly Step[] = [
  {
    name: 'create PVCs and pods',
    when: (t) => t.plan.createPvcs.length > 0 || t.plan.createPods.length > 0,
    async run(ctx, t) {
      const ns = t.is.metadata.namespace;
      for (const pvc of t.plan.createPvcs) {
        if (await createIgnoringExisting(ctx, resourcePath('PersistentVolumeClaim', ns), pvc)) ctx.log.info({ instanceSet: keyOf(ns, t.is.metadata.name), pvc: pvc.metadata.name }, 'created PVC');
      }
      for (const pod of t.plan.createPods) {
        if (await createIgnoringExisting(ctx, resourcePath('Pod', ns), pod)) {
          ctx.log.info({ instanceSet: keyOf(ns, t.is.metadata.name), pod: pod.metadata.name }, 'created pod');
          ctx.events.emit(t.is, 'Normal', 'SuccessfulCreate', 'Create', `created pod ${pod.metadata.name}`);
        }
      }
    },
  },
  {
    name: 'remove unwanted pods and claims',
    when: (t) => t.plan.deletePods.length > 0 || t.plan.deletePvcs.length > 0,
    async run(ctx, t) {
      const ns = t.is.metadata.namespace;
      for (const ref of t.plan.deletePods) {
        if (await ctx.client.delete(resourcePath('Pod', ns, ref.name), ref.uid)) {
          ctx.log.info({ instanceSet: keyOf(ns, t.is.metadata.name), pod: ref.name }, 'deleted pod');
          ctx.events.emit(t.is, 'Normal', 'SuccessfulDelete', 'Delete', `deleted pod ${ref.name} (scale in / offline)`);
        }
      }
      for (const ref of t.plan.deletePvcs) {
        if (await ctx.client.delete(resourcePath('PersistentVolumeClaim', ns, ref.name), ref.uid)) {
          ctx.log.info({ instanceSet: keyOf(ns, t.is.metadata.name), pvc: ref.name }, 'deleted PVC (whenScaled: Delete)');
          ctx.events.emit(t.is, 'Normal', 'SuccessfulDelete', 'Delete', `deleted PVC ${ref.name} (whenScaled: Delete)`);
        }
      }
    },
  },
  {
    // Never remove the primary's pod as the primary: hand the role to a pod that stays first.
    name: 'hand off the primary of a pod that goes',
    when: (t) => t.plan.switchoverFrom !== undefined,
    async run(ctx, t) {
      await switchoverBeforeRemoval(ctx, t.is, t.pods, t.plan.switchoverFrom!, t.plan.switchoverTo);
    },
  },
  {
    // Rolling update and switchover requests (UPDATES: controller/reconcile/instanceset/update.ts).
    name: 'rolling update',
    when: () => true,
    async run(ctx, t) {
      t.update = await updateStep(ctx, t.is, t.desired, t.pods);
      for (const ref of t.update.deletePods) {
        if (await ctx.client.delete(resourcePath('Pod', t.is.metadata.namespace, ref.name), ref.uid)) {
          expectDeletion(ctx, ref.uid);
          ctx.log.info({ instanceSet: keyOf(t.is.metadata.namespace, t.is.metadata.name), pod: ref.name }, 'deleted outdated pod (rolling update)');
        }
      }
    },
  },
];

async function createIgnoringExisting(ctx: ControllerContext, path: string, obj: KubeObject): Promise<boolean> {
  try {
    await ctx.client.create(path, obj, FIELD_MANAGER_CONTROLLER);
    return true;
  } catch (err) {
    // AlreadyExists: our cache was behind; the object is there, which is all we wanted.
    if (err instanceof KubeError && err.code === 409 && err.reason === 'AlreadyExists') return false;
    throw err;
  }
}

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
  const tree: Tree = { is, pods, pvcs, desired, plan: planPods(is, desired, pods, pvcs) };
  if (tree.plan.waiting !== undefined) log.debug({ waiting: tree.plan.waiting }, 'holding back');

  let failed: { step: string; err: unknown } | undefined;
  for (const step of STEPS) {
    if (!step.when(tree)) continue;
    try {
      await step.run(ctx, tree);
    } catch (err) {
      failed = { step: step.name, err };
      break;
    }
  }

  const error = failed !== undefined ? `${failed.step}: ${failed.err instanceof Error ? failed.err.message : String(failed.err)}` : undefined;
  const { status, recheckAfterMs } = computeStatus(is, desired, pods, ctx.now(), {
    ...(tree.update?.waiting !== undefined ? { updateWaiting: tree.update.waiting } : {}),
    ...(ctx.memory.switchovers.has(key) ? { switchover: ctx.memory.switchovers.get(key)! } : {}),
    ...(error !== undefined ? { error } : {}),
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
