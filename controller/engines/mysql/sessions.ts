// Stopping client writes on a MariaDB server: kill its client sessions, SET GLOBAL read_only=1,
// kill again. Used whenever a server that may still be writable must stop taking writes (a
// fenced former primary, a second claimant made to follow, a switchover's old primary).
//
// Sessions go first: a commit waiting for a semi-sync acknowledgement that will never come (its
// replicas follow somebody else now) holds SET GLOBAL read_only for rpl_semi_sync_master_timeout
// (10 s by default), the server stays writable all that time, and when the wait ends the client
// gets an OK for a transaction no replica has. Killing the session ends the wait with an error.
import type { EngineTarget } from '../types.js';
import type { MysqlPool, Row } from './client.js';

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
 * Kill sessions, read_only=1 (a session opened in between and holding it up is killed by the next
 * try), kill the sessions that slipped in. Returns what was done, for Events.
 */
export async function stopWrites(pool: MysqlPool, t: EngineTarget): Promise<string[]> {
  const steps: string[] = [];
  for (let attempt = 1; ; attempt++) {
    const killed = await killClientSessions(pool, t);
    if (killed > 0) steps.push(`killed ${killed} client session(s) on ${t.podName}`);
    try {
      await pool.query(t, 'SET GLOBAL read_only = 1', 2_000);
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
  steps.push(`read_only=1 on ${t.podName}`);
  const late = await killClientSessions(pool, t);
  if (late > 0) steps.push(`killed ${late} more client session(s) on ${t.podName}`);
  return steps;
}
