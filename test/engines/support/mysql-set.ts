// A 3-server MariaDB replica set wired with the ENGINES driver: semi-sync with a long timeout
// (an acknowledged commit is on a replica; it never silently degrades to async during a test),
// and read_only=1 at boot so a restarted former primary never comes up writable.
import mysql from 'mysql2/promise';
import { MysqlPool } from '../../../controller/engines/mysql/client.js';
import { probeMysql } from '../../../controller/engines/mysql/probe.js';
import { MysqlDriver } from '../../../controller/engines/mysql/replication.js';
import type { EngineTarget } from '../../../controller/engines/types.js';
import type { EngineSpec } from '../../../schemas/types/index.js';
import { startMariadb, waitFor, type EngineProc } from './procs.js';

export const mysqlSpec: EngineSpec = { type: 'mysql', version: '10.11', port: 3306, replication: { mode: 'semi-sync' } };

export const SEMI_SYNC_ARGS = [
  '--read-only=1',
  // Only a primary may have the master side on: a replica with it (and log_slave_updates) would
  // hold every applied transaction waiting for an acknowledgement nobody sends.
  '--rpl-semi-sync-slave-enabled=1',
  '--rpl-semi-sync-master-timeout=120000',
  '--rpl-semi-sync-master-wait-point=AFTER_SYNC',
];

export function mysqlTarget(p: EngineProc): EngineTarget {
  return { podName: p.name, host: p.host, port: p.port, username: 'root', password: '' };
}

export async function mysqlReplicaSet(root: string, prefix: string, procs: EngineProc[]): Promise<{ procs: EngineProc[]; all: EngineTarget[] }> {
  const started = await Promise.all([0, 1, 2].map((i) => startMariadb(root, `${prefix}-${i}`, i + 1, SEMI_SYNC_ARGS)));
  procs.push(...started);
  const all = started.map(mysqlTarget);
  const driver = new MysqlDriver();
  const pool = new MysqlPool();
  try {
    await driver.promote(all[0]!, mysqlSpec);
    for (const r of all.slice(1)) await driver.follow(r, all[0]!, mysqlSpec);
    await waitFor('MariaDB replicas linked', async () => {
      const ps = await Promise.all(all.slice(1).map((t) => probeMysql(pool, t, 1_000)));
      return ps.every((p) => p.following?.linkUp);
    }, { timeoutMs: 20_000, intervalMs: 100 });
  } finally {
    await driver.close();
    await pool.close();
  }
  return { procs: started, all };
}

/** Acknowledged ids that are not in `writes` on `t`. */
export async function missingRows(t: EngineTarget, acknowledged: number[]): Promise<number[]> {
  const c = await mysql.createConnection({ host: t.host, port: t.port, user: 'root', password: '', database: 'test' });
  try {
    const [rows] = await c.query('SELECT id FROM writes');
    const have = new Set((rows as Array<{ id: number }>).map((r) => Number(r.id)));
    return acknowledged.filter((id) => !have.has(id));
  } finally {
    await c.end();
  }
}

/** The pod every engine agrees is primary (one writable primary, every other one following it). */
export async function agreedMysqlPrimary(pool: MysqlPool, all: EngineTarget[]): Promise<EngineTarget | undefined> {
  const ps = await Promise.all(all.map(async (t) => ({ t, p: await probeMysql(pool, t, 1_000) })));
  const primaries = ps.filter((x) => x.p.role === 'primary');
  if (primaries.length !== 1) return undefined;
  const pt = primaries[0]!.t;
  return ps.filter((x) => x.t !== pt).every((x) => x.p.following?.host === pt.host && x.p.following.port === pt.port) ? pt : undefined;
}
