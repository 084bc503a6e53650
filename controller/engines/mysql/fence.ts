// Fencing a MariaDB server that must not take writes: read_only=1 first (immediate, blocks every
// account without READ_ONLY ADMIN), then its client connections are killed so no writer keeps a
// session open or waits for a semi-sync acknowledgement that would turn into a late "OK", then it
// is made to follow the primary the controller chose. Used when a former primary comes back after
// a failover (before it is ever labelled) and by the split-brain guard.
//
// A former primary that committed transactions nobody else has (it was cut off while clients
// still wrote to it) cannot replicate under gtid_strict_mode: it stays read-only with the
// replication error in its status (returned as `linkError`) and must be rebuilt from the primary.
import type { EngineSpec } from '../../../schemas/types/index.js';
import type { EngineTarget } from '../types.js';
import { MysqlPool, type Row } from './client.js';
import { readState } from './probe.js';
import { MysqlDriver } from './replication.js';

const TIMEOUT_MS = 5_000;

/** Threads that are not client sessions: replication, the event scheduler, server internals. */
const SERVER_COMMANDS = new Set(['Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker']);

/** Pure: the processlist ids of client sessions to kill (not ours, not the admin account, not server threads). */
export function clientSessionsToKill(rows: Row[], ownId: number, adminUser: string): number[] {
  return rows
    .filter((r) => {
      const id = Number(r['Id'] ?? r['ID']);
      const user = String(r['User'] ?? r['USER'] ?? '');
      const cmd = String(r['Command'] ?? r['COMMAND'] ?? '');
      return id !== ownId && user !== adminUser && user !== 'system user' && user !== 'event_scheduler' && !SERVER_COMMANDS.has(cmd);
    })
    .map((r) => Number(r['Id'] ?? r['ID']));
}

/** Kills the client sessions of `t` (see clientSessionsToKill); returns how many. */
export async function killClientSessions(pool: MysqlPool, t: EngineTarget): Promise<number> {
  const [own] = await pool.query(t, 'SELECT CONNECTION_ID() AS id', TIMEOUT_MS);
  const rows = await pool.query(t, 'SELECT ID, USER, COMMAND FROM information_schema.PROCESSLIST', TIMEOUT_MS);
  const ids = clientSessionsToKill(rows, Number(own?.['id']), t.username ?? 'root');
  for (const id of ids) {
    // The session may have ended by itself in between.
    await pool.query(t, `KILL CONNECTION ${Number(id)}`, TIMEOUT_MS).catch(() => undefined);
  }
  return ids.length;
}

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
      // Sessions first: a commit waiting for a semi-sync acknowledgement that will never come
      // would hold SET GLOBAL read_only for rpl_semi_sync_master_timeout, and when the wait ended
      // the client would get an OK for a transaction no replica has. Killing the session ends
      // the wait with an error instead. A session opened in between is killed by the next try.
      for (let attempt = 1; ; attempt++) {
        const killed = await killClientSessions(pool, old);
        if (killed > 0) steps.push(`killed ${killed} client session(s) on ${old.podName}`);
        try {
          await pool.query(old, 'SET GLOBAL read_only = 1', 2_000);
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
        }
      }
      steps.push(`read_only=1 on ${old.podName}`);
      changed = true;
      const late = await killClientSessions(pool, old);
      if (late > 0) steps.push(`killed ${late} more client session(s) on ${old.podName}`);
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
