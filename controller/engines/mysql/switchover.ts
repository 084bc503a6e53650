// Planned MariaDB switchover without losing a committed write:
//  1. old primary, on one dedicated session: kill the other client sessions (a commit waiting for
//     a semi-sync acknowledgement would otherwise hold read_only until the semi-sync timeout),
//     SET GLOBAL read_only=1 (refuses writes of every account without READ_ONLY ADMIN), kill
//     again (so no long statement holds up the lock below), FLUSH TABLES WITH READ LOCK, which
//     stops the writes and commits read_only does not: those of privileged accounts such as the
//     controller's own. The session holds the lock until the old primary is a replica;
//  0. before anything changes, wait (bounded) until the candidate applied what the primary has now,
//     so the freeze below only covers the last transactions (a lagging candidate is refused);
//  2. wait (MASTER_GTID_WAIT, bounded) until the candidate applied the old primary's gtid_binlog_pos;
//  3. promote the candidate (STOP SLAVE; RESET SLAVE ALL; read_only=0);
//  4. still under the lock, make the old primary a replica (CHANGE MASTER TO …
//     MASTER_USE_GTID=current_pos) and repoint the other replicas; kill every session waiting on
//     the lock (their statements fail: nothing commits after the freeze), then UNLOCK TABLES.
// If anything fails before the promotion, the lock is released and the old primary made writable again.
import type { EngineSpec } from '../../../schemas/types/index.js';
import { chooseCandidate, type ReplicaView } from '../../update/candidate.js';
import type { EngineTarget, SwitchoverResult } from '../types.js';
import mysql from 'mysql2/promise';
import { MysqlPool, type Row } from './client.js';
import { clientSessionsToKill } from './fence.js';
import { gtidToOffset, probeMysql } from './probe.js';
import { MysqlDriver } from './replication.js';

export type { SwitchoverResult };

const TIMEOUT_MS = 5_000;

export interface MysqlSwitchoverRequest {
  primary: EngineTarget;
  replicas: EngineTarget[];
  /** Pod to promote; undefined or 'any' = the most advanced healthy replica. */
  candidate?: string;
  spec: EngineSpec;
  /** Bound of the catch-up wait (and so of the write outage when a replica lags). */
  timeoutMs?: number;
}


/** Gtid_IO_Pos of a replica: what it has received, which may be ahead of what it applied. */
export async function receivedGtid(pool: MysqlPool, t: EngineTarget): Promise<string | undefined> {
  const [row] = await pool.query(t, 'SHOW SLAVE STATUS', TIMEOUT_MS);
  const v = row?.['Gtid_IO_Pos'];
  return v === undefined || v === null ? undefined : String(v);
}

export async function replicaViews(pool: MysqlPool, replicas: EngineTarget[], timeoutMs = TIMEOUT_MS): Promise<ReplicaView[]> {
  return await Promise.all(
    replicas.map(async (t) => {
      const probe = await probeMysql(pool, t, timeoutMs);
      const io = probe.reachable ? await receivedGtid(pool, t).catch(() => undefined) : undefined;
      const received = io === undefined ? undefined : gtidToOffset(io);
      return { target: t, probe, ...(received !== undefined ? { received } : {}) };
    }),
  );
}

/** Waits until `t` applied `gtid`; false on timeout. */
export async function waitApplied(pool: MysqlPool, t: EngineTarget, gtid: string, timeoutMs: number): Promise<boolean> {
  if (gtid.trim() === '') return true;
  const seconds = Math.max(0.1, timeoutMs / 1000);
  const [row] = await pool.query(t, 'SELECT MASTER_GTID_WAIT(?, ?) AS r', timeoutMs + TIMEOUT_MS, [gtid, seconds]);
  return Number(row?.['r']) === 0;
}

/** One session on the old primary: it holds the global read lock, so it must not be pooled. */
class FreezeSession {
  private constructor(private readonly conn: mysql.Connection, readonly id: number) {}

  /** `lockWaitS` bounds FLUSH TABLES WITH READ LOCK behind a statement that holds a table. */
  static async open(t: EngineTarget, lockWaitS: number): Promise<FreezeSession> {
    const conn = await mysql.createConnection({
      host: t.host,
      port: t.port,
      user: t.username ?? 'root',
      ...(t.password !== undefined ? { password: t.password } : {}),
      connectTimeout: TIMEOUT_MS,
    });
    conn.on('error', () => undefined);
    const [rows] = await conn.query({ sql: 'SELECT CONNECTION_ID() AS id', timeout: TIMEOUT_MS });
    await conn.query({ sql: `SET SESSION lock_wait_timeout = ${Math.max(1, Math.ceil(lockWaitS))}`, timeout: TIMEOUT_MS });
    return new FreezeSession(conn, Number((rows as Row[])[0]?.['id']));
  }

  async query(sql: string, timeoutMs = TIMEOUT_MS, values: unknown[] = []): Promise<Row[]> {
    const [rows] = await this.conn.query({ sql, timeout: timeoutMs, values });
    return Array.isArray(rows) ? (rows as Row[]) : [];
  }

  /**
   * Kills every client session but this one, of every account (the admin account included: its
   * writes are the ones read_only lets through); replication and server threads are spared.
   */
  async killOthers(): Promise<number> {
    const rows = await this.query('SELECT ID, USER, COMMAND FROM information_schema.PROCESSLIST');
    // '' is no account name we run under: every user's sessions are candidates.
    const ids = clientSessionsToKill(rows, this.id, '');
    for (const id of ids) await this.query(`KILL CONNECTION ${Number(id)}`).catch(() => undefined);
    return ids.length;
  }

  async alive(): Promise<boolean> {
    return await this.query('SELECT 1', 1_000).then(
      () => true,
      () => false,
    );
  }

  async close(): Promise<void> {
    // Closing the session also drops the global read lock if UNLOCK TABLES did not run.
    await this.conn.end().catch(() => this.conn.destroy());
  }
}

export async function switchoverMysql(req: MysqlSwitchoverRequest): Promise<SwitchoverResult> {
  const started = Date.now();
  const timeoutMs = req.timeoutMs ?? 30_000;
  const pool = new MysqlPool();
  const driver = new MysqlDriver();
  const steps: string[] = [];
  const { primary } = req;
  let session: FreezeSession | undefined;
  let fenced = false;
  let promoted = false;
  try {
    const lockWait = Math.max(1, Math.ceil(Math.min(timeoutMs, 10_000) / 1000));
    session = await FreezeSession.open(primary, lockWait).catch((err: unknown) => {
      throw new Error(`cannot reach the primary ${primary.podName} (${err instanceof Error ? err.message : String(err)}); retry when it answers`);
    });
    const [state] = await session.query('SELECT @@global.read_only AS ro');
    const [slave] = await session.query('SHOW SLAVE STATUS');
    if (Number(state?.['ro'] ?? 1) !== 0 || (slave !== undefined && String(slave['Master_Host'] ?? '') !== '')) {
      const p = await probeMysql(pool, primary, TIMEOUT_MS);
      throw new Error(`${primary.podName} is not a primary (${p.error ?? p.role ?? 'no role'}); re-read the roles and retry`);
    }
    const candidate = chooseCandidate(primary, await replicaViews(pool, req.replicas), req.candidate);
    steps.push(`candidate ${candidate.podName}`);

    // Catch up before the freeze, so writes stop only while the last few transactions arrive; a
    // candidate that cannot catch up now is refused before anything changed.
    const [early] = await session.query('SELECT @@global.gtid_binlog_pos AS pos');
    const earlyPos = String(early?.['pos'] ?? '');
    const preStarted = Date.now();
    if (!(await waitApplied(pool, candidate, earlyPos, Math.max(1_000, Math.floor(timeoutMs / 2))))) {
      throw new Error(`${candidate.podName} did not apply ${earlyPos} within ${Math.floor(timeoutMs / 2)} ms before the switchover; nothing was changed, retry when replication lag is low`);
    }
    steps.push(`${candidate.podName} caught up before the freeze in ${Date.now() - preStarted} ms`);

    // Sessions before read_only: a commit waiting for a semi-sync acknowledgement would hold
    // SET GLOBAL read_only until rpl_semi_sync_master_timeout; killed, it ends at once (what
    // it wrote is in the binlog, so the candidate gets it). Sessions opened in between die next try.
    const readOnlyFrom = Date.now();
    let killed = 0;
    for (let attempt = 1; ; attempt++) {
      killed += await session.killOthers();
      fenced = true;
      try {
        await session.query('SET GLOBAL read_only = 1', 2_000);
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        // A timed-out statement closes the session: open a new one.
        if (!(await session.alive())) {
          await session.close();
          session = await FreezeSession.open(primary, lockWait);
        }
      }
    }
    const readOnlyAt = Date.now();
    killed += await session.killOthers();
    await session.query('FLUSH TABLES WITH READ LOCK', lockWait * 1000 + TIMEOUT_MS);
    const frozenAt = Date.now();
    steps.push(`read_only=1 on ${primary.podName} after ${readOnlyAt - readOnlyFrom} ms, killed ${killed} client session(s), global read lock after ${frozenAt - readOnlyAt} ms`);

    const [row] = await session.query('SELECT @@global.gtid_binlog_pos AS pos');
    const pos = String(row?.['pos'] ?? '');
    if (!(await waitApplied(pool, candidate, pos, Math.max(1_000, started + timeoutMs - Date.now())))) {
      throw new Error(`${candidate.podName} did not apply ${pos} within ${timeoutMs} ms; the switchover was rolled back, retry when replication lag is low`);
    }
    steps.push(`${candidate.podName} applied ${pos || '(empty)'}`);

    await driver.promote(candidate, req.spec);
    promoted = true;
    const pausedMs = Date.now() - readOnlyFrom;
    steps.push(`promoted ${candidate.podName}`);

    await repointOldPrimary(session, candidate, req.spec);
    for (const r of req.replicas) {
      if (r.podName === candidate.podName) continue;
      await driver.follow(r, candidate, req.spec).catch((err: unknown) => {
        steps.push(`could not repoint ${r.podName}: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
    // Last: sessions that queued on the lock would commit on the (now replica) old primary once
    // it is released; kill them until none is left, then unlock.
    let blocked = 0;
    for (let i = 0; i < 5; i++) {
      const n = await session.killOthers();
      blocked += n;
      if (n === 0) break;
    }
    await session.query('UNLOCK TABLES');
    const releasedAt = Date.now();
    steps.push(`${primary.podName} and the other replicas follow ${candidate.podName}; killed ${blocked} session(s) waiting on the lock, unlocked after ${Date.now() - frozenAt} ms frozen`);
    return { from: primary.podName, to: candidate.podName, pausedMs, totalMs: Date.now() - started, steps, releasedAt };
  } catch (err) {
    if (session !== undefined && fenced && !promoted) {
      await session.query('UNLOCK TABLES').catch(() => undefined);
      // A timed-out statement closes the session (and with it the lock): fall back to the pool.
      await session
        .query('SET GLOBAL read_only = 0')
        .catch(() => pool.query(primary, 'SET GLOBAL read_only = 0', TIMEOUT_MS))
        .catch(() => undefined);
    }
    throw err;
  } finally {
    await session?.close();
    await pool.close();
    await driver.close();
  }
}

/**
 * Makes the frozen old primary a replica of `to` on the session that holds the global read lock
 * (a second session would wait for that lock): semi-sync master side off, start from its own
 * newest position, CHANGE MASTER, START SLAVE. The SQL thread applies once the lock is released.
 */
async function repointOldPrimary(session: FreezeSession, to: EngineTarget, spec: EngineSpec): Promise<void> {
  await session.query('SET GLOBAL rpl_semi_sync_master_enabled = 0');
  if (spec.replication?.mode === 'semi-sync') await session.query('SET GLOBAL rpl_semi_sync_slave_enabled = 1');
  // SET GLOBAL gtid_slave_pos writes a table, which the lock forbids; current_pos starts from the
  // newest position the server has (its own binlog included) without writing anything.
  await session.query(
    'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1',
    TIMEOUT_MS,
    [to.host, to.port, to.username ?? 'root', to.password ?? ''],
  );
  await session.query('START SLAVE');
}
