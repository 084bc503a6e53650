// Fencing a MariaDB server that must not take writes: its client sessions killed, read_only=1,
// killed again (sessions.ts: why in that order), then it is made to follow the primary the
// controller chose. Used when a former primary comes back after a failover (before it is ever
// labelled) and by the split-brain guard.
//
// A former primary that committed transactions nobody else has (it was frozen or cut off while
// a client's commit was under way) cannot replicate: the new primary's binlog lacks the GTID it
// asks to start from (error 1236). It stays read-only with the replication error in its status
// (returned as `linkError`) and must be rebuilt from the primary.
import type { EngineSpec } from '../../../schemas/types/index.js';
import type { EngineTarget } from '../types.js';
import { MysqlPool } from './client.js';
import { readState } from './probe.js';
import { MysqlDriver } from './replication.js';
import { stopWrites } from './sessions.js';

const TIMEOUT_MS = 5_000;

export { clientSessionsToKill, killClientSessions } from './sessions.js';

/**
 * Turns the master side of semi-sync off on a server that now replicates. Left on, its SQL
 * thread (log_slave_updates) would wait for replica acknowledgements on every applied
 * transaction, so it would stop applying for rpl_semi_sync_master_timeout each time.
 */
export async function disableSemiSyncMaster(pool: MysqlPool, t: EngineTarget): Promise<boolean> {
  const [row] = await pool.query(t, 'SELECT @@global.rpl_semi_sync_master_enabled AS v', TIMEOUT_MS);
  if (Number(row?.['v'] ?? 0) === 0) return false;
  await pool.query(t, 'SET GLOBAL rpl_semi_sync_master_enabled = 0', TIMEOUT_MS);
  return true;
}

export interface FenceResult {
  changed: boolean;
  steps: string[];
  /** The replication error of the fenced server, if it cannot follow (e.g. errant transactions). */
  linkError?: string;
}

export async function fence(old: EngineTarget, primary: EngineTarget, spec: EngineSpec): Promise<FenceResult> {
  const pool = new MysqlPool();
  const driver = new MysqlDriver();
  const steps: string[] = [];
  try {
    const s = await readState(pool, old, TIMEOUT_MS);
    let changed = false;
    if (!s.readOnly) {
      steps.push(...(await stopWrites(pool, old)));
      changed = true;
    }
    if (await driver.follow(old, primary, spec)) {
      steps.push(`${old.podName} follows ${primary.podName}`);
      changed = true;
    }
    if (await disableSemiSyncMaster(pool, old)) {
      steps.push(`semi-sync master side off on ${old.podName}`);
      changed = true;
    }
    const after = await driver.probe(old, TIMEOUT_MS);
    const result: FenceResult = { changed, steps };
    if (after.error) result.linkError = after.error;
    return result;
  } finally {
    await pool.close();
    await driver.close();
  }
}
