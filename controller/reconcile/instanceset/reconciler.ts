// reconcile(InstanceSet key), in the shape of KubeBlocks' instanceset reconcile chain:
// load the tree from the caches → compute the desired pods (pure) → plan creates/deletes (pure) →
// apply the plan → write status last, only when it changed. Level-triggered and idempotent: every
// run starts again from what the caches show, so a killed controller resumes where it was.
import { ANNOTATIONS, FIELD_MANAGER_CONTROLLER, LABELS, type InstanceSet, type KubeObject } from '../../../schemas/types/index.js';
import { splitKey, type ControllerContext } from '../../runtime/context.js';
import { isConflict, KubeError, resourcePath } from '../../runtime/kube.js';
import type { ReconcileResult } from '../../runtime/workqueue.js';
import { desiredPods } from './desired.js';
import { planPods } from './plan.js';
import { isTerminating } from './pods.js';
import { computeStatus, statusEqual } from './status.js';
import { expectDeletion, switchoverBeforeRemoval, updateStep } from './update.js';

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
  if (is === undefined) return {}; // deleted: owner references let the garbage collector remove pods
  const log = ctx.log.child({ instanceSet: key });
  const pods = ctx.caches.pods.byLabel(namespace, name);
  const pvcs = ctx.caches.pvcs.byLabel(namespace, name);
  const desired = desiredPods(is);
  const plan = planPods(is, desired, pods, pvcs);

  for (const pvc of plan.createPvcs) {
    if (await createIgnoringExisting(ctx, resourcePath('PersistentVolumeClaim', namespace), pvc)) {
      log.info({ pvc: pvc.metadata.name }, 'created PVC');
    }
  }
  for (const pod of plan.createPods) {
    if (await createIgnoringExisting(ctx, resourcePath('Pod', namespace), pod)) {
      log.info({ pod: pod.metadata.name }, 'created pod');
      ctx.events.emit(is, 'Normal', 'SuccessfulCreate', 'Create', `created pod ${pod.metadata.name}`);
    }
  }
  for (const ref of plan.deletePods) {
    if (await ctx.client.delete(resourcePath('Pod', namespace, ref.name), ref.uid)) {
      log.info({ pod: ref.name }, 'deleted pod');
      ctx.events.emit(is, 'Normal', 'SuccessfulDelete', 'Delete', `deleted pod ${ref.name} (scale in / offline)`);
    }
  }
  for (const ref of plan.deletePvcs) {
    if (await ctx.client.delete(resourcePath('PersistentVolumeClaim', namespace, ref.name), ref.uid)) {
      log.info({ pvc: ref.name }, 'deleted PVC (whenScaled: Delete)');
      ctx.events.emit(is, 'Normal', 'SuccessfulDelete', 'Delete', `deleted PVC ${ref.name} (whenScaled: Delete)`);
    }
  }
  if (plan.waiting !== undefined) log.debug({ waiting: plan.waiting }, 'holding back');
  // Never remove the primary's pod as the primary: hand the role to a pod that stays first.
  if (plan.switchoverFrom !== undefined) await switchoverBeforeRemoval(ctx, is, pods, plan.switchoverFrom, plan.switchoverTo);

  // Rolling update and switchover requests (UPDATES: controller/reconcile/instanceset/update.ts).
  const update = await updateStep(ctx, is, desired, pods);
  for (const ref of update.deletePods) {
    if (await ctx.client.delete(resourcePath('Pod', namespace, ref.name), ref.uid)) {
      expectDeletion(ctx, ref.uid);
      log.info({ pod: ref.name }, 'deleted outdated pod (rolling update)');
    }
  }

  const { status, recheckAfterMs } = computeStatus(is, desired, pods, ctx.now(), update.waiting, ctx.memory.switchovers.get(key));
  if (!statusEqual(is.status, status)) await writeStatus(ctx, is, status);
  // The update step polls while a rollout or switchover is under way (it waits on engines, which
  // send no watch events). With every pod at its revision, what is left to wait for is pod
  // readiness, which pod events report: no polling then, so a set at rest costs nothing.
  const revisionOf = new Map(desired.map((d) => [d.name, d.revision]));
  const rolling =
    is.metadata.annotations?.[ANNOTATIONS.switchover] !== undefined ||
    pods.some((p) => !isTerminating(p) && revisionOf.has(p.metadata.name) && revisionOf.get(p.metadata.name) !== p.metadata.labels?.[LABELS.revision]);
  const requeue = Math.min(
    recheckAfterMs !== undefined ? recheckAfterMs + 50 : Infinity,
    rolling ? (update.requeueAfterMs ?? Infinity) : Infinity,
    // the role moves in the engines first; the labels follow with the next probe, not a watch event
    plan.switchoverFrom !== undefined ? 1_000 : Infinity,
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
