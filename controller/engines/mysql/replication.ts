// MysqlDriver (MariaDB 10.11 dialect): probe, follow (CHANGE MASTER TO … MASTER_USE_GTID=slave_pos)
// and promote (RESET SLAVE ALL, read_only=0), with semi-sync switched on when the spec asks.
// Both writes read the server's state first and only change what differs.
import type { EngineSpec } from '../../../schemas/types/index.js';
import type { EngineTarget, ProbeResult, ServerDriver } from '../types.js';
import { MysqlPool } from './client.js';
import { probeMysql, readState, type ReplicaStatus } from './probe.js';
import { stopWrites } from './sessions.js';

const TIMEOUT_MS = 5_000;
/** "This operation cannot be performed as you have a running slave": CHANGE MASTER or gtid_slave_pos while replication runs. */
const ER_SLAVE_MUST_STOP = 1198;

/** Pure: is the replica already wired to `primary` the way follow() would wire it? */
export function wiredTo(rs: ReplicaStatus, primary: EngineTarget): boolean {
  return rs.configured && rs.host === primary.host && rs.port === primary.port && rs.usingGtid.toLowerCase() === 'slave_pos';
}

export class MysqlDriver implements ServerDriver {
  private readonly pool = new MysqlPool();

  async probe(t: EngineTarget, timeoutMs: number): Promise<ProbeResult> {
    return await probeMysql(this.pool, t, timeoutMs);
  }

  /**
   * Two actors may wire one replica at once (the member cluster's role loop fencing an unwired
   * server onto the primary while whoever chose that primary wires it too; a leader hand-off):
   * one's START SLAVE can land between the other's STOP SLAVE and CHANGE MASTER, which MariaDB
   * refuses with ER_SLAVE_MUST_STOP (seen once in CI, roles-spread.test.ts). The state is read
   * again and the wiring retried, at most 3 times; a replica the other actor already wired to
   * the same primary then needs nothing more.
   */
  async follow(replica: EngineTarget, primary: EngineTarget, spec: EngineSpec, opts: { acknowledges?: boolean } = {}): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.followOnce(replica, primary, spec, opts.acknowledges !== false);
      } catch (err) {
        if (attempt >= 3 || (err as { errno?: number }).errno !== ER_SLAVE_MUST_STOP) throw err;
      }
    }
  }

  private async followOnce(replica: EngineTarget, primary: EngineTarget, spec: EngineSpec, acknowledges: boolean): Promise<boolean> {
    const semi = spec.replication?.mode === 'semi-sync';
    const s = await readState(this.pool, replica, TIMEOUT_MS);
    const q = (sql: string, values: unknown[] = []): Promise<unknown> => this.pool.query(replica, sql, TIMEOUT_MS, values);
    let changed = false;
    if (!s.readOnly) {
      // A writable server made to follow (a former primary back after a failover, a second
      // claimant): stop client writes first, killing sessions before read_only (sessions.ts says
      // why). Accounts with READ_ONLY ADMIN are not affected by read_only.
      await stopWrites(this.pool, replica);
      changed = true;
    }
    if (s.semiSyncPrimarySide) {
      // A demoted primary keeps the master side on otherwise: with log_slave_updates its SQL
      // thread would wait for replica acknowledgements on every applied transaction, stalling
      // replication for rpl_semi_sync_master_timeout each time.
      await q('SET GLOBAL rpl_semi_sync_master_enabled = 0');
      changed = true;
    }
    if (semi && s.semiSyncReplicaSide !== acknowledges) {
      await q(`SET GLOBAL rpl_semi_sync_slave_enabled = ${acknowledges ? 1 : 0}`);
      // The IO thread reads the setting when it starts.
      if (s.replica.ioStarted) {
        await q('STOP SLAVE IO_THREAD');
        await q('START SLAVE IO_THREAD');
      }
      changed = true;
    }
    if (wiredTo(s.replica, primary)) {
      if (!s.replica.ioStarted || !s.replica.sqlRunning) {
        await q('START SLAVE');
        changed = true;
      }
      return changed;
    }
    await q('STOP SLAVE');
    // A former primary's own transactions are in its binlog, not in gtid_slave_pos; start from
    // the newest position it has (what MASTER_USE_GTID=current_pos did before it was deprecated).
    await q('SET GLOBAL gtid_slave_pos = @@global.gtid_current_pos');
    await q(
      'CHANGE MASTER TO MASTER_HOST = ?, MASTER_PORT = ?, MASTER_USER = ?, MASTER_PASSWORD = ?, ' +
        'MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1',
      [primary.host, primary.port, primary.username ?? 'root', primary.password ?? ''],
    );
    await q('START SLAVE');
    return true;
  }

  async promote(t: EngineTarget, spec: EngineSpec): Promise<boolean> {
    const s = await readState(this.pool, t, TIMEOUT_MS);
    const q = (sql: string): Promise<unknown> => this.pool.query(t, sql, TIMEOUT_MS);
    let changed = false;
    if (s.replica.configured || s.replica.ioStarted || s.replica.sqlRunning) {
      await q('STOP SLAVE');
      await q('RESET SLAVE ALL');
      changed = true;
    }
    if (spec.replication?.mode === 'semi-sync' && !s.semiSyncPrimarySide) {
      await q('SET GLOBAL rpl_semi_sync_master_enabled = 1');
      changed = true;
    }
    if (s.readOnly) {
      await q('SET GLOBAL read_only = 0');
      changed = true;
    }
    return changed;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

}
