// MysqlDriver against real mariadbd processes: roles from read_only + replica status, GTID
// replication wired by follow(), idempotence, promote, a former primary rejoining, semi-sync.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlDriver } from '../../controller/engines/mysql/replication.js';
import type { EngineSpec } from '../../schemas/types/index.js';
import { EngineFarm, eventually, type Running } from './helpers.js';

const asyncSpec: EngineSpec = { type: 'mysql', version: '10.11', port: 3306, replication: { mode: 'async' } };
const semiSpec: EngineSpec = { ...asyncSpec, replication: { mode: 'semi-sync' } };

describe('MysqlDriver with real mariadbd', () => {
  const farm = new EngineFarm();
  const driver = new MysqlDriver();
  const conns: mysql.Connection[] = [];
  let a: Running;
  let b: Running;
  let c: Running;
  const sql = async (r: Running, q: string): Promise<Array<Record<string, unknown>>> => {
    const conn = await mysql.createConnection({ host: r.target.host, port: r.target.port, user: 'root', connectTimeout: 3_000 });
    conns.push(conn);
    try {
      const [rows] = await conn.query(q);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    } finally {
      conn.destroy(); // mysql2's end() can hang after a failed query; polling loops must not
    }
  };
  const rowCount = async (r: Running): Promise<number | undefined> => {
    try {
      const rows = await sql(r, 'SELECT COUNT(*) AS n FROM app.t');
      return Number(rows[0]?.['n']);
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    [a, b, c] = await Promise.all([
      farm.start('mariadb', 'm-0', { serverId: 1 }),
      farm.start('mariadb', 'm-1', { serverId: 2 }),
      farm.start('mariadb', 'm-2', { serverId: 3 }),
    ]);
  });
  afterAll(async () => {
    await driver.close();
    await farm.stopAll();
  });

  it('a writable server that replicates from nobody is primary; a read-only one claims no role', async () => {
    expect(await driver.probe(a.target, 2_000)).toMatchObject({ reachable: true, role: 'primary', readOnly: false });
    await sql(c, 'SET GLOBAL read_only = 1');
    const p = await driver.probe(c.target, 2_000);
    expect(p).toMatchObject({ reachable: true, readOnly: true });
    expect(p.role).toBeUndefined();
    expect(p.following).toBeUndefined();
  });

  it('promote and follow are idempotent and wire GTID replication', async () => {
    expect(await driver.promote(a.target, asyncSpec)).toBe(false);
    expect(await driver.follow(b.target, a.target, asyncSpec)).toBe(true);
    expect(await driver.follow(c.target, a.target, asyncSpec)).toBe(true);
    for (const r of [b, c]) {
      const p = await eventually('replica threads running', 20_000, async () => {
        const p = await driver.probe(r.target, 2_000);
        return p.following?.linkUp ? p : undefined;
      });
      expect(p).toMatchObject({ role: 'secondary', readOnly: true, following: { host: a.target.host, port: a.target.port, linkUp: true } });
      expect(await driver.follow(r.target, a.target, asyncSpec)).toBe(false);
    }
  });

  it('rows written on the primary appear on both replicas and offsets follow', async () => {
    await sql(a, 'CREATE DATABASE app');
    await sql(a, 'CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20))');
    await sql(a, "INSERT INTO app.t VALUES (1, 'one'), (2, 'two'), (3, 'three')");
    for (const r of [b, c]) expect(await eventually('rows replicated', 15_000, async () => ((await rowCount(r)) === 3 ? 3 : undefined))).toBe(3);
    const pa = await driver.probe(a.target, 2_000);
    expect(pa.offset).toBeGreaterThanOrEqual(3);
    const pb = await driver.probe(b.target, 2_000);
    expect(pb.offset).toBe(pa.offset);
  });

  it('promote makes a replica a writable primary; the old primary and the other replica follow it', async () => {
    expect(await driver.promote(b.target, asyncSpec)).toBe(true);
    expect(await driver.promote(b.target, asyncSpec)).toBe(false);
    expect(await driver.probe(b.target, 2_000)).toMatchObject({ role: 'primary', readOnly: false });
    expect((await driver.probe(b.target, 2_000)).following).toBeUndefined();
    // The former primary has its own transactions in its binlog; follow() must not replay them.
    expect(await driver.follow(a.target, b.target, asyncSpec)).toBe(true);
    expect(await driver.follow(c.target, b.target, asyncSpec)).toBe(true);
    await sql(b, "INSERT INTO app.t VALUES (4, 'four')");
    for (const r of [a, c]) {
      expect(await eventually('row from new primary', 15_000, async () => ((await rowCount(r)) === 4 ? 4 : undefined))).toBe(4);
      const p = await eventually('threads running', 15_000, async () => {
        const p = await driver.probe(r.target, 2_000);
        return p.following?.linkUp ? p : undefined;
      });
      expect(p.error).toBeUndefined();
      expect(p.following?.host).toBe(b.target.host);
    }
  });

  it('semi-sync: follow enables the replica side, promote the primary side, and the primary sees semi-sync clients', async () => {
    expect(await driver.follow(c.target, b.target, semiSpec)).toBe(true);
    expect(await driver.follow(c.target, b.target, semiSpec)).toBe(false);
    expect(await driver.promote(b.target, semiSpec)).toBe(true);
    expect(await driver.promote(b.target, semiSpec)).toBe(false);
    const [vars] = await sql(c, 'SELECT @@global.rpl_semi_sync_slave_enabled AS s');
    expect(Number(vars?.['s'])).toBe(1);
    const clients = await eventually('semi-sync client on the primary', 15_000, async () => {
      const rows = await sql(b, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_clients'");
      const n = Number(rows[0]?.['Value']);
      return n >= 1 ? n : undefined;
    });
    expect(clients).toBeGreaterThanOrEqual(1);
    await sql(b, "INSERT INTO app.t VALUES (5, 'five')");
    const [st] = await sql(b, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'");
    expect(Number(st?.['Value'])).toBeGreaterThanOrEqual(1);
  });

  it('semi-sync: a demoted primary that starts following turns its master side off (else it stalls applying)', async () => {
    // b is the semi-sync primary from the test above; c takes over and b follows it.
    expect(await driver.promote(c.target, semiSpec)).toBe(true);
    const [before] = await sql(b, 'SELECT @@global.rpl_semi_sync_master_enabled AS m');
    expect(Number(before?.['m'])).toBe(1);
    expect(await driver.follow(b.target, c.target, semiSpec)).toBe(true);
    const [after] = await sql(b, 'SELECT @@global.rpl_semi_sync_master_enabled AS m, @@global.rpl_semi_sync_slave_enabled AS s');
    expect(Number(after?.['m'])).toBe(0);
    expect(Number(after?.['s'])).toBe(1);
    expect(await driver.follow(b.target, c.target, semiSpec)).toBe(false);
    // The demoted server applies the new primary's rows without waiting out a semi-sync timeout.
    await sql(c, "INSERT INTO app.t VALUES (6, 'six')");
    const t0 = Date.now();
    await eventually('row 6 on the demoted primary', 15_000, async () => {
      const rows = await sql(b, 'SELECT COUNT(*) AS n FROM app.t WHERE id = 6').catch(() => []);
      return Number(rows[0]?.['n']) === 1 ? true : undefined;
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('two actors wiring one replica at once both succeed (one START SLAVE between the other\'s STOP SLAVE and CHANGE MASTER)', async () => {
    // c is the primary and a one of its replicas (tests above). The role loop fencing an unwired
    // server while whoever chose the primary wires it too is what roles-spread.test.ts does.
    const other = new MysqlDriver();
    let rounds = 0;
    try {
      for (; rounds < 15; rounds++) {
        await sql(a, 'STOP SLAVE');
        await sql(a, 'RESET SLAVE ALL');
        const both = await Promise.allSettled([driver.follow(a.target, c.target, asyncSpec), other.follow(a.target, c.target, asyncSpec)]);
        const failed = both.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
        expect(failed, `round ${rounds}`).toEqual([]);
      }
    } finally {
      await other.close();
    }
    const p = await eventually('a replicates from c', 20_000, async () => {
      const p = await driver.probe(a.target, 2_000);
      return p.following?.linkUp ? p : undefined;
    });
    expect(p.following).toMatchObject({ host: c.target.host, port: c.target.port, linkUp: true });
    console.log(`[mysql] ${rounds} rounds of two concurrent follow() calls on one replica: all succeeded`);
  });

  it('an unreachable server is reported without throwing', async () => {
    const p = await driver.probe({ podName: 'nobody', host: '127.250.250.251', port: 3306 }, 1_000);
    expect(p.reachable).toBe(false);
    expect(p.error).toBeTruthy();
  });
});
