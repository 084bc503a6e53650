// The role label and, on the primary only, the prevent-delete marker the admission guard
// protects it by, written in one request: applied together, so a later apply without the marker
// (the pod became a secondary) removes it.
import { FIELD_MANAGER_CONTROLLER, GUARD_ANNOTATIONS, LABELS, type InstanceSet, type Role } from '../../schemas/types/index.js';
import type { ControllerContext } from '../runtime/context.js';
import { resourcePath } from '../runtime/kube.js';

export async function writeRole(ctx: ControllerContext, namespace: string, podName: string, role: Role | undefined): Promise<void> {
  const path = resourcePath('Pod', namespace, podName);
  const marker = GUARD_ANNOTATIONS.preventDelete;
  if (role === undefined) {
    await ctx.client.mergePatch(path, { metadata: { labels: { [LABELS.role]: null }, annotations: { [marker]: null } } }, FIELD_MANAGER_CONTROLLER);
  } else {
    const annotations = role === 'primary' ? { annotations: { [marker]: 'true' } } : {};
    await ctx.client.apply(path, { apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace, labels: { [LABELS.role]: role }, ...annotations } }, FIELD_MANAGER_CONTROLLER);
  }
}

/** A role label change, with its metric, log line and Event on the pod. */
export async function relabel(ctx: ControllerContext, is: InstanceSet, namespace: string, podName: string, role: Role | undefined): Promise<void> {
  await writeRole(ctx, namespace, podName, role);
  ctx.metrics.roleChanges.inc({ instanceset: is.metadata.name, role: role ?? 'none' });
  ctx.log.info({ instanceSet: `${namespace}/${is.metadata.name}`, pod: podName, role: role ?? null }, 'role label changed');
  const pod = ctx.caches.pods.get(namespace, podName);
  if (pod !== undefined) ctx.events.emit(pod, 'Normal', 'RoleChanged', 'Label', `role label set to ${role ?? '(none)'} from the engine's report`);
}
