// Runs a planned switchover through the InstanceSet's Engine (Redis with or without Sentinel,
// MariaDB: controller/engines/<engine>/engine.ts). The caller resolves the pods' engine addresses.
import type { InstanceSet } from '../../schemas/types/index.js';
import { engineFor } from '../engines/index.js';
import type { EngineTarget, PriorityJournal, SwitchoverResult } from '../engines/types.js';

export interface SwitchoverTargets {
  primary: EngineTarget;
  replicas: EngineTarget[];
  /** Redis with Sentinel: the sentinels watching this shard. */
  sentinels?: EngineTarget[];
}

export async function executeSwitchover(
  is: InstanceSet,
  t: SwitchoverTargets,
  candidate: string | undefined,
  timeoutMs = 30_000,
  journal?: PriorityJournal,
): Promise<SwitchoverResult> {
  const engine = engineFor(is.spec.engine.type);
  if (engine === undefined) throw new Error(`${is.metadata.name} (${is.spec.engine.type}) has no roles; nothing to switch over`);
  try {
    return await engine.switchover({
      primary: t.primary,
      replicas: t.replicas,
      spec: is.spec.engine,
      timeoutMs,
      ...(candidate !== undefined ? { candidate } : {}),
      ...(t.sentinels !== undefined ? { sentinels: t.sentinels } : {}),
      ...(journal !== undefined ? { journal } : {}),
    });
  } finally {
    await engine.close();
  }
}
