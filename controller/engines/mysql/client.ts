// Pooled mysql2 connections, one small pool per target, with short connect and query timeouts.
import mysql from 'mysql2/promise';
import type { EngineTarget } from '../types.js';

export type Row = Record<string, unknown>;

const DEFAULT_TIMEOUT_MS = 3_000;

function keyOf(t: EngineTarget): string {
  return `${t.username ?? 'root'}@${t.host}:${t.port}`;
}

export class MysqlPool {
  private readonly pools = new Map<string, mysql.Pool>();
  private closed = false;

  private poolFor(t: EngineTarget): mysql.Pool {
    if (this.closed) throw new Error('MysqlPool is closed; create a new driver');
    const key = keyOf(t);
    let p = this.pools.get(key);
    if (p === undefined) {
      p = mysql.createPool({
        host: t.host,
        port: t.port,
        user: t.username ?? 'root',
        ...(t.password !== undefined ? { password: t.password } : {}),
        connectTimeout: DEFAULT_TIMEOUT_MS,
        connectionLimit: 2,
        maxIdle: 1,
        idleTimeout: 30_000,
        // Fail instead of queueing behind a hung connection.
        queueLimit: 4,
        multipleStatements: false,
      });
      this.pools.set(key, p);
    }
    return p;
  }

  /** One statement, bounded by `timeoutMs`; rows of a SELECT / SHOW. */
  async query(t: EngineTarget, sql: string, timeoutMs = DEFAULT_TIMEOUT_MS, values: unknown[] = []): Promise<Row[]> {
    const [rows] = await this.poolFor(t).query({ sql, timeout: timeoutMs, values });
    return Array.isArray(rows) ? (rows as Row[]) : [];
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((p) => p.end().catch(() => undefined)));
  }
}
