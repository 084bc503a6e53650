// The switchover record's I/O (the record itself: switchover-record.ts). This controller's last
// record is kept in ctx.memory.switchovers as well as written to status.switchover: the cache
// lags the write by a watch event, and the update step, the role loop and status computation
// must all see the newer one meanwhile.
import type { InstanceSet, SwitchoverStatus } from '../../../schemas/types/index.js';
import { FIELD_MANAGER_CONTROLLER } from '../../../schemas/types/index.js';
import { keyOf, type ControllerContext } from '../../runtime/context.js';
import { resourcePath } from '../../runtime/kube.js';
import { newerRecord } from './switchover-record.js';

/** The newer of the record in status and the one this controller wrote last. */
export function currentRecord(ctx: ControllerContext, is: InstanceSet): SwitchoverStatus | undefined {
  return newerRecord(is.status?.switchover, ctx.memory.switchovers.get(keyOf(is.metadata.namespace, is.metadata.name)));
}

/** Keeps the record in memory, then writes it to status (a merge patch: only status.switchover). */
export async function writeRecord(ctx: ControllerContext, is: InstanceSet, rec: SwitchoverStatus): Promise<void> {
  ctx.memory.switchovers.set(keyOf(is.metadata.namespace, is.metadata.name), rec);
  await ctx.client.mergePatch(resourcePath('InstanceSet', is.metadata.namespace, is.metadata.name, 'status'), { status: { switchover: rec } }, FIELD_MANAGER_CONTROLLER);
}
