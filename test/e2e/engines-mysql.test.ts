// MariaDB replication end to end: the compiler's rendered manifests (prod, billing-db: 3 servers
// and the HAProxy in front), a real control plane, the test kubelet running real mariadbd and
// haproxy processes, and the controller wiring GTID replication and labelling roles.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../cluster/helpers.js';
import { allReady, loadRendered, rolesSettled, serviceAddresses, startEngineEnv, type EngineEnv } from './engines-helpers.js';

const NS = `e2e-mysql-${Date.now().toString(36)}`;
const SERVER = 'billing-db-server';
const PROXY = 'billing-db-proxy';
const USER = 'dbadmin';
const PASSWORD = `pw-${process.pid}`;

describe('MariaDB primary + 2 replicas end to end', () => {
  let env: EngineEnv;
  const ipOf = (p: k8s.V1Pod): string => p.status?.podIP ?? '';
  const query = async (host: string, sql: string, port = 3306): Promise<Array<Record<string, unknown>>> => {
    const c = await mysql.createConnection({ host, port, user: USER, password: PASSWORD, connectTimeout: 3_000 });
    try {
      const [rows] = await c.query(sql);
      return Array.isArray(rows) ? (rows as Array<Record<string, unknown>>) : [];
    } finally {
      c.destroy(); // mysql2's end() can hang after a failed query; polling loops must not
    }
  };

  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-central/db-billing/billing-db', 'db-billing', NS),
      secrets: { 'billing-db-admin': { username: USER, password: PASSWORD } },
    });
  });
  afterAll(async () => {
    await env?.stop();
  });

  it('servers become Ready, exactly one is labelled primary, and the others replicate from it', async () => {
    const t0 = performance.now();
    await allReady(env.core, NS, SERVER, 3, 180_000);
    const { primary, secondaries } = await rolesSettled(env.core, NS, SERVER, 3, 120_000);
    console.log(`set-up done → 3 MariaDB pods Ready and labelled: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const [p] = await query(ipOf(primary), 'SELECT @@global.read_only AS ro');
    expect(Number(p?.['ro'])).toBe(0);
    for (const s of secondaries) {
      const st = await eventually(`${s.metadata?.name} replicating`, async () => {
        const [row] = await query(ipOf(s), 'SHOW SLAVE STATUS');
        return row?.['Slave_IO_Running'] === 'Yes' && row['Slave_SQL_Running'] === 'Yes' ? row : undefined;
      }, { timeoutMs: 30_000 });
      expect(st['Master_Host']).toBe(ipOf(primary));
      expect(st['Using_Gtid']).toBe('Slave_Pos');
      const [ro] = await query(ipOf(s), 'SELECT @@global.read_only AS ro');
      expect(Number(ro?.['ro'])).toBe(1);
    }
  });

  it('rows written on the primary (through its Service endpoint) appear on both replicas', async () => {
    const { primary, secondaries } = await rolesSettled(env.core, NS, SERVER, 3);
    const addrs = await eventually('primary endpoint', async () => {
      const a = await serviceAddresses(env.kc, NS, `${SERVER}-primary`);
      return a.length === 1 && a[0] === ipOf(primary) ? a : undefined;
    });
    const via = addrs[0]!;
    await query(via, 'CREATE DATABASE billing');
    await query(via, 'CREATE TABLE billing.invoices (id INT PRIMARY KEY, amount INT)');
    await query(via, 'INSERT INTO billing.invoices VALUES (1, 100), (2, 250), (3, 75)');
    for (const s of secondaries) {
      const sum = await eventually(`rows on ${s.metadata?.name}`, async () => {
        try {
          const [r] = await query(ipOf(s), 'SELECT COUNT(*) AS n, SUM(amount) AS total FROM billing.invoices');
          return Number(r?.['n']) === 3 ? Number(r?.['total']) : undefined;
        } catch {
          return undefined;
        }
      }, { timeoutMs: 20_000 });
      expect(sum).toBe(425);
    }
  });

  it('the HAProxy pods forward to the primary', async () => {
    const proxies = await allReady(env.core, NS, PROXY, 3, 60_000);
    const { primary } = await rolesSettled(env.core, NS, SERVER, 3);
    for (const p of proxies) {
      const [row] = await eventually(`via ${p.metadata?.name}`, async () => {
        try {
          return await query(ipOf(p), 'SELECT @@global.report_host AS host, @@global.read_only AS ro', 3306);
        } catch {
          return undefined;
        }
      }, { timeoutMs: 20_000 });
      expect(row?.['host']).toBe(ipOf(primary));
      expect(Number(row?.['ro'])).toBe(0);
    }
  });
});
