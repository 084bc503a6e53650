// MariaDB semi-sync replication end to end: the rendered prod orders-db (3 servers,
// replication.mode semi-sync) with the controller wiring it. The primary must see both replicas
// as semi-sync clients and commit transactions with their acknowledgement.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../cluster/helpers.js';
import { allReady, loadRendered, rolesSettled, startEngineEnv, type EngineEnv } from './engines-helpers.js';

const NS = `e2e-semisync-${Date.now().toString(36)}`;
const SERVER = 'orders-db-server';
const USER = 'orders';
const PASSWORD = `pw-${process.pid}`;

describe('MariaDB semi-sync end to end', () => {
  let env: EngineEnv;
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
  const query = async (host: string, sql: string): Promise<Array<Record<string, unknown>>> => {
    const c = await mysql.createConnection({ host, port: 3306, user: USER, password: PASSWORD, connectTimeout: 3_000 });
    try {
      const [rows] = await c.query(sql);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    } finally {
      c.destroy(); // no COM_QUIT round trip: a polling loop must not wait on a closing connection
    }
  };
  const status = async (host: string, name: string): Promise<string> => String((await query(host, `SHOW GLOBAL STATUS LIKE '${name}'`))[0]?.['Value'] ?? '');

  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-commerce/orders-db', 'db-commerce', NS),
      secrets: { 'orders-db-admin': { username: USER, password: PASSWORD } },
    });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('the primary has both replicas as semi-sync clients and commits with their acknowledgement', async () => {
    await allReady(env.core, NS, SERVER, 3, 180_000);
    const { primary, secondaries } = await rolesSettled(env.core, NS, SERVER, 3, 120_000);
    const p = ipOf(primary);
    expect(await status(p, 'Rpl_semi_sync_master_status')).toBe('ON');
    await eventually('2 semi-sync clients', async () => ((await status(p, 'Rpl_semi_sync_master_clients')) === '2' ? true : undefined), { timeoutMs: 30_000 });
    for (const s of secondaries) expect(await status(ipOf(s), 'Rpl_semi_sync_slave_status')).toBe('ON');
    const before = Number(await status(p, 'Rpl_semi_sync_master_yes_tx'));
    await query(p, 'CREATE DATABASE orders');
    await query(p, 'CREATE TABLE orders.o (id INT PRIMARY KEY)');
    await query(p, 'INSERT INTO orders.o VALUES (1), (2)');
    const after = Number(await status(p, 'Rpl_semi_sync_master_yes_tx'));
    expect(after - before).toBeGreaterThanOrEqual(3);
    expect(Number(await status(p, 'Rpl_semi_sync_master_no_tx'))).toBe(0);
    for (const s of secondaries) {
      // Semi-sync: at commit the replica has received the rows, not necessarily applied them.
      let last: unknown;
      const t0 = performance.now();
      const n = await eventually('applied', async () => {
        try {
          const rows = await query(ipOf(s), 'SELECT COUNT(*) AS n FROM orders.o');
          last = rows;
          return Number(rows[0]?.['n']) === 2 ? 2 : undefined;
        } catch (e) {
          last = e;
          return undefined;
        }
      }, { timeoutMs: 40_000 }).catch(async (err: unknown) => {
        const [st] = await query(ipOf(s), 'SHOW SLAVE STATUS');
        const why = last instanceof Error ? last.message : JSON.stringify(last);
        throw new Error(`${String(err)} (last: ${why}); ${s.metadata?.name}: IO ${String(st?.['Slave_IO_Running'])} SQL ${String(st?.['Slave_SQL_Running'])} ${String(st?.['Last_SQL_Error'])} gtid ${String(st?.['Gtid_IO_Pos'])}`);
      });
      expect(n).toBe(2);
      console.log(`${s.metadata?.name}: rows applied ${(performance.now() - t0).toFixed(0)} ms after the semi-sync commit`);
    }
  });
});
