// MySQL / MariaDB role probe: @@read_only, SHOW SLAVE STATUS and @@gtid_current_pos; on a
// semi-sync primary, how long its oldest commit has waited for an acknowledgement.
// A server is primary exactly when it is writable and replicates from nobody.
import type { EngineTarget, ProbeResult } from '../types.js';
import type { MysqlPool, Row } from './client.js';

/** Pure: a MariaDB GTID list "0-1-42,1-2-7" → the sum of sequence numbers (monotonic while domains only grow). */
export function gtidToOffset(gtid: string): number | undefined {
  const s = gtid.trim();
  if (s === '') return 0;
  let sum = 0;
  for (const part of s.split(',')) {
    const seq = part.trim().split('-')[2];
    const n = seq === undefined ? Number.NaN : Number(seq);
    if (!Number.isFinite(n)) return undefined;
    sum += n;
  }
  return sum;
}

export interface ReplicaStatus {
  configured: boolean;
  host: string;
  port: number;
  /** IO thread connected to the primary. */
  ioRunning: boolean;
  /** IO thread started (connected or still connecting): START SLAVE would not change it. */
  ioStarted: boolean;
  sqlRunning: boolean;
  usingGtid: string;
  lastError: string;
}

function str(r: Row | undefined, k: string): string {
  const v = r?.[k];
  return v === undefined || v === null ? '' : String(v);
}

/** Pure: the first row of SHOW SLAVE STATUS (undefined when the server replicates from nobody). */
export function parseReplicaStatus(row: Row | undefined): ReplicaStatus {
  const host = str(row, 'Master_Host');
  return {
    configured: row !== undefined && host !== '',
    host,
    port: Number(str(row, 'Master_Port')) || 0,
    ioRunning: str(row, 'Slave_IO_Running') === 'Yes',
    ioStarted: ['Yes', 'Connecting', 'Preparing'].includes(str(row, 'Slave_IO_Running')),
    sqlRunning: str(row, 'Slave_SQL_Running') === 'Yes',
    usingGtid: str(row, 'Using_Gtid'),
    lastError: str(row, 'Last_IO_Error') || str(row, 'Last_SQL_Error'),
  };
}

/**
 * Pure: engine answers → ProbeResult. Writable and replicating from nobody: primary. Replicating:
 * secondary. Read-only and replicating from nobody (a fresh server — the rendered my.cnf starts
 * every server read-only — or a fenced old primary): no role, the engine claims neither.
 */
export function toProbeResult(readOnly: boolean, gtid: string, rs: ReplicaStatus, semiSyncPrimarySide?: boolean, semiSyncReplicaSide?: boolean, serverId?: number, commitWaitMs?: number): ProbeResult {
  const offset = gtidToOffset(gtid);
  const base: ProbeResult = {
    reachable: true,
    readOnly,
    ...(offset !== undefined ? { offset } : {}),
    ...(semiSyncPrimarySide !== undefined ? { semiSyncPrimarySide } : {}),
    ...(semiSyncReplicaSide !== undefined ? { semiSyncReplicaSide } : {}),
    ...(serverId !== undefined ? { serverId } : {}),
    ...(commitWaitMs !== undefined ? { commitWaitMs } : {}),
  };
  if (!rs.configured) return readOnly ? base : { ...base, role: 'primary' };
  return {
    ...base,
    role: 'secondary',
    following: { host: rs.host, port: rs.port, linkUp: rs.ioRunning && rs.sqlRunning },
    ...(rs.lastError !== '' ? { error: rs.lastError } : {}),
  };
}

export async function readState(
  pool: MysqlPool,
  t: EngineTarget,
  timeoutMs: number,
): Promise<{ readOnly: boolean; gtid: string; replica: ReplicaStatus; semiSyncPrimarySide: boolean; semiSyncReplicaSide: boolean; serverId?: number; commitWaitMs?: number }> {
  const [vars] = await pool.query(
    t,
    'SELECT @@global.read_only AS ro, @@global.gtid_current_pos AS gtid, @@global.rpl_semi_sync_master_enabled AS ssm, @@global.rpl_semi_sync_slave_enabled AS sss, @@global.server_id AS sid, ' +
      "(SELECT COALESCE(MAX(TIME_MS), 0) FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for semi-sync ACK%') AS ackwait",
    timeoutMs,
  );
  const status = await pool.query(t, 'SHOW SLAVE STATUS', timeoutMs);
  return {
    readOnly: Number(vars?.['ro'] ?? 0) !== 0,
    gtid: str(vars, 'gtid'),
    replica: parseReplicaStatus(status[0]),
    semiSyncPrimarySide: Number(vars?.['ssm'] ?? 0) !== 0,
    semiSyncReplicaSide: Number(vars?.['sss'] ?? 0) !== 0,
    ...(vars?.['sid'] !== undefined && vars['sid'] !== null ? { serverId: Number(vars['sid']) } : {}),
    ...(vars?.['ackwait'] !== undefined && vars['ackwait'] !== null ? { commitWaitMs: Math.round(Number(vars['ackwait'])) } : {}),
  };
}

/**
 * One probe, answered within `timeoutMs` whatever the server does: a frozen server (SIGSTOP, a
 * hung host) accepts TCP but never sends its handshake, and the query timeout only starts once a
 * connection exists, so the connect alone would take the pool's connectTimeout. Without this
 * bound one probe round of a frozen primary lasts seconds and a failover waits
 * failureThreshold times that.
 */
export async function probeMysql(pool: MysqlPool, t: EngineTarget, timeoutMs: number): Promise<ProbeResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from ${t.host}:${t.port} in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const s = await Promise.race([readState(pool, t, timeoutMs), late]);
    return toProbeResult(s.readOnly, s.gtid, s.replica, s.semiSyncPrimarySide, s.semiSyncReplicaSide, s.serverId, s.commitWaitMs);
  } catch (err) {
    return { reachable: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}
