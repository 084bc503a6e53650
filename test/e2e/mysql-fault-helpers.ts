// Helpers of the MariaDB fault e2e tests: what one server says about itself, the application
// account the writers use, and the controller's failover Events.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { gtidToOffset } from '../../controller/engines/mysql/probe.js';
import type { EngineEnv } from './engines-helpers.js';

export interface MysqlAuth {
  user: string;
  password: string;
}

/** The admin account of the rendered orders-db (the controller's; it has READ_ONLY ADMIN). */
export const ADMIN_USER = 'orders';

export interface EngineState {
  readOnly: boolean;
  /** Master_Host of SHOW SLAVE STATUS, '' when it replicates from nobody. */
  masterHost: string;
  ioRunning: boolean;
  sqlRunning: boolean;
  lastError: string;
  /** @@gtid_current_pos */
  gtid: string;
}

export async function engineState(host: string, auth: MysqlAuth): Promise<EngineState> {
  const c = await mysql.createConnection({ host, port: 3306, user: auth.user, password: auth.password, connectTimeout: 2_000 });
  try {
    const [vars] = await c.query({ sql: 'SELECT @@global.read_only AS ro, @@global.gtid_current_pos AS gtid', timeout: 2_000 });
    const [st] = await c.query({ sql: 'SHOW SLAVE STATUS', timeout: 2_000 });
    const v = (vars as Array<Record<string, unknown>>)[0] ?? {};
    const s = (st as Array<Record<string, unknown>>)[0] ?? {};
    const str = (x: unknown): string => (x === undefined || x === null ? '' : String(x));
    return {
      readOnly: Number(v['ro']) === 1,
      masterHost: str(s['Master_Host']),
      ioRunning: s['Slave_IO_Running'] === 'Yes',
      sqlRunning: s['Slave_SQL_Running'] === 'Yes',
      lastError: str(s['Last_IO_Error']) || str(s['Last_SQL_Error']),
      gtid: str(v['gtid']),
    };
  } finally {
    c.destroy(); // no COM_QUIT round trip to a server that may be frozen
  }
}

/** A GTID position as one number (sum of the domains' sequence numbers), -1 when unreadable. */
export const gtidSeq = (gtid: string): number => gtidToOffset(gtid) ?? -1;

/** A fresh table for one scenario's writer (its ids start at 1; a shared table would answer duplicate keys). */
export async function createTable(primaryHost: string, admin: MysqlAuth, table: string): Promise<void> {
  const c = await mysql.createConnection({ host: primaryHost, port: 3306, user: admin.user, password: admin.password, connectTimeout: 2_000 });
  try {
    await c.query(`CREATE TABLE IF NOT EXISTS ${table} (id INT PRIMARY KEY)`);
  } finally {
    c.destroy();
  }
}

/**
 * The database, table and application account of the writers. Applications write with an account
 * of their own: the controller's admin account has READ_ONLY ADMIN and its sessions survive a
 * fence, so it is not what a fault test must see fenced.
 */
export async function createAppAccount(primaryHost: string, admin: MysqlAuth, app: MysqlAuth, table: string): Promise<void> {
  const c = await mysql.createConnection({ host: primaryHost, port: 3306, user: admin.user, password: admin.password, connectTimeout: 2_000 });
  try {
    const db = table.split('.')[0]!;
    await c.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${table} (id INT PRIMARY KEY)`);
    await c.query(`CREATE USER IF NOT EXISTS ${app.user} IDENTIFIED BY ?`, [app.password]);
    await c.query(`GRANT SELECT, INSERT ON ${db}.* TO ${app.user}`);
  } finally {
    c.destroy();
  }
}

/** The Failover / Fenced / SplitBrain Events of the namespace, oldest first, as "reason: note". */
export async function mysqlFaultEvents(env: EngineEnv): Promise<string[]> {
  const list = await env.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
  return list.items
    .filter((e) => ['Failover', 'Fenced', 'SplitBrain', 'SwitchoverFailed'].includes(e.reason ?? ''))
    .sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')))
    .map((e) => `${e.reason}: ${e.note ?? ''}`);
}
