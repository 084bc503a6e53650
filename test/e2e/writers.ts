// Continuous writers for the fault and update e2e tests. A writer behaves like a client behind
// the `-primary` Service: it resolves the Service's EndpointSlice, writes to that address, and on
// any error drops its connection and resolves again. A write counts as acknowledged only when the
// engine confirmed a replica has it (Redis: WAIT 1 returned >= 1; MariaDB: the commit returned
// under semi-sync), so the tests can check that no acknowledged write is lost.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { serviceAddresses } from './engines-helpers.js';

export interface WriterReport {
  attempts: number;
  /** Ids of the acknowledged writes. */
  acked: number[];
  failures: number;
  /** Longest time between two acknowledged writes with failed ones in between, ms. */
  longestGapMs: number;
  /** performance.now() of every acknowledged write. */
  ackTimes: number[];
  /** The server address that acknowledged each write (parallel to ackTimes). */
  ackHosts: string[];
  /** Stretches without an acknowledged write that had failures in them (performance.now()). */
  gaps: Array<{ from: number; to: number }>;
  lastError?: string;
}

export interface Writer {
  /** First acknowledged write at or after `t` (performance.now()), or undefined. */
  firstAckAfter(t: number): number | undefined;
  /**
   * When writes were acknowledged again after a fault at `t` (performance.now()): the end of the
   * longest stretch without an acknowledged write (with failures in it) that ended after `t`, or
   * the first acknowledged write after `t` when none failed; undefined while none.
   */
  servingAgainAfter(t: number): number | undefined;
  stop(): Promise<WriterReport>;
}

interface Conn {
  /** Writes id; true when acknowledged. */
  write(id: number): Promise<boolean>;
  close(): void;
}

/** Bounded by stop() and by `maxMs` (a safety net: a writer never outlives its test). */
function startWriter(resolve: () => Promise<string | undefined>, open: (host: string) => Promise<Conn>, maxMs = 600_000): Writer {
  const report: WriterReport = { attempts: 0, acked: [], failures: 0, longestGapMs: 0, ackTimes: [], ackHosts: [], gaps: [] };
  let stopped = false;
  const started = performance.now();
  const loop = (async () => {
    let conn: Conn | undefined;
    let connHost = '';
    let lastAck = performance.now();
    let failedSinceAck = false;
    for (let id = 1; !stopped && performance.now() - started < maxMs && id < 10_000_000; id++) {
      report.attempts++;
      let ok = false;
      try {
        if (conn === undefined) {
          const host = await resolve();
          if (host === undefined) throw new Error('the -primary Service has no single ready endpoint');
          conn = await open(host);
          connHost = host;
        }
        ok = await conn.write(id);
        if (!ok) throw new Error('write not acknowledged by a replica');
      } catch (err) {
        report.lastError = err instanceof Error ? err.message : String(err);
        conn?.close();
        conn = undefined;
      }
      const now = performance.now();
      if (ok) {
        report.acked.push(id);
        report.ackTimes.push(now);
        report.ackHosts.push(connHost);
        if (failedSinceAck) {
          report.longestGapMs = Math.max(report.longestGapMs, now - lastAck);
          report.gaps.push({ from: lastAck, to: now });
        }
        lastAck = now;
        failedSinceAck = false;
        await new Promise((r) => setTimeout(r, 5));
      } else {
        report.failures++;
        failedSinceAck = true;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    conn?.close();
  })();
  return {
    firstAckAfter(t: number): number | undefined {
      return report.ackTimes.find((x) => x >= t);
    },
    servingAgainAfter(t: number): number | undefined {
      const longest = report.gaps.filter((g) => g.to >= t).sort((a, b) => b.to - b.from - (a.to - a.from))[0];
      return longest?.to ?? report.ackTimes.find((x) => x >= t);
    },
    async stop(): Promise<WriterReport> {
      stopped = true;
      await loop;
      return report;
    },
  };
}

async function resolver(kc: k8s.KubeConfig, namespace: string, service: string): Promise<string | undefined> {
  const a = await serviceAddresses(kc, namespace, service);
  return a.length === 1 ? a[0] : undefined;
}

/**
 * SET <prefix><id> <id>, then WAIT <replicas> <waitMs>: acknowledged when that many replicas have
 * it (1 by default; a spread shard's test asks for every replica, so that one is in another member
 * cluster — Redis cannot ask for a replica in another member cluster by itself).
 */
export function startRedisWriter(kc: k8s.KubeConfig, namespace: string, service: string, password: string, prefix: string, waitMs = 500, replicas = 1): Writer {
  return startWriter(
    () => resolver(kc, namespace, service),
    async (host) => {
      const c = new Redis({ host, port: 6379, password, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 1_000, commandTimeout: waitMs + 1_000 });
      c.on('error', () => undefined);
      await c.connect();
      return {
        async write(id: number): Promise<boolean> {
          await c.set(`${prefix}${id}`, String(id));
          return Number(await c.call('WAIT', String(replicas), String(waitMs))) >= replicas;
        },
        close: () => c.disconnect(),
      };
    },
  );
}

/**
 * Two servers acknowledging writes at the same time, seen from the clients: over the writers'
 * acknowledged writes in time order, a server that acknowledged again after another one had
 * started to (the primary moved away from it and back is not expected in these tests). Returns a
 * description of the first such overlap, or undefined.
 */
export function overlappingPrimaries(reports: WriterReport[]): string | undefined {
  const acks = reports.flatMap((r) => r.ackTimes.map((t, i) => ({ t, host: r.ackHosts[i] ?? '' }))).sort((a, b) => a.t - b.t);
  const retired = new Set<string>();
  let current: string | undefined;
  for (const a of acks) {
    if (a.host === current) continue;
    if (retired.has(a.host)) return `${a.host} acknowledged a write at ${a.t.toFixed(0)} ms after ${current} had taken over`;
    if (current !== undefined) retired.add(current);
    current = a.host;
  }
  return undefined;
}

/** Ids of `ids` whose key is missing on the Redis server at `host`. */
export async function missingRedisKeys(host: string, password: string, prefix: string, ids: number[]): Promise<number[]> {
  const c = new Redis({ host, port: 6379, password, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  c.on('error', () => undefined);
  try {
    const missing: number[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const vals = await c.mget(...chunk.map((id) => `${prefix}${id}`));
      chunk.forEach((id, j) => {
        if (vals[j] !== String(id)) missing.push(id);
      });
    }
    return missing;
  } finally {
    c.disconnect();
  }
}

/**
 * INSERT INTO <table> (id) VALUES (<id>) with autocommit: acknowledged when the commit returns.
 * With `semiSync`, only when semi-sync was still on after the commit returned: a commit that ran
 * out of rpl_semi_sync_master_timeout returns OK without any replica having it and turns
 * semi-sync off (it turns on again only once a replica acknowledged a position at or beyond it),
 * so such a commit is counted as not acknowledged, like a Redis WAIT that returned 0.
 */
export function startMysqlWriter(kc: k8s.KubeConfig, namespace: string, service: string, auth: { user: string; password: string }, table: string, opts: { semiSync?: boolean } = {}): Writer {
  return startWriter(
    () => resolver(kc, namespace, service),
    async (host) => {
      const c = await mysql.createConnection({ host, port: 3306, user: auth.user, password: auth.password, connectTimeout: 1_000 });
      c.on('error', () => undefined);
      return {
        async write(id: number): Promise<boolean> {
          // A commit that hangs (fenced primary, semi-sync wait) is a failure for the client.
          await c.query({ sql: `INSERT INTO ${table} (id) VALUES (?)`, values: [id], timeout: 3_000 });
          if (opts.semiSync !== true) return true;
          const [rows] = await c.query({ sql: "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_status'", timeout: 3_000 });
          return (rows as Array<{ Value?: string }>)[0]?.Value === 'ON';
        },
        close: () => c.destroy(), // end() can hang after a failed query
      };
    },
  );
}

/** Ids of `ids` missing from `table` on the MariaDB server at `host`. */
export async function missingMysqlRows(host: string, auth: { user: string; password: string }, table: string, ids: number[]): Promise<number[]> {
  const c = await mysql.createConnection({ host, port: 3306, user: auth.user, password: auth.password, connectTimeout: 2_000 });
  try {
    const [rows] = await c.query(`SELECT id FROM ${table}`);
    const have = new Set((rows as Array<{ id: number }>).map((r) => Number(r.id)));
    return ids.filter((id) => !have.has(id));
  } finally {
    c.destroy();
  }
}

export interface SettledWrites {
  report: WriterReport;
  /** Acknowledged ids missing on the final primary. */
  missing: number[];
  /** performance.now() when writes were acknowledged again after the fault (servingAgainAfter), if known. */
  servedAgainAt?: number;
}

/**
 * The end of every fault scenario: let the writer reach the settled primary (wait, bounded, for a
 * write acknowledged after this call), take when it served again after the fault at `faultAt`,
 * stop it, and ask `missing` which acknowledged ids the final primary lacks.
 */
export async function settleAndCountLost(w: Writer, missing: (acked: number[]) => Promise<number[]>, opts: { faultAt?: number; settleMs?: number } = {}): Promise<SettledWrites> {
  const now = performance.now();
  const settleMs = opts.settleMs ?? 30_000;
  for (let i = 0; i < settleMs / 100 && w.firstAckAfter(now) === undefined; i++) await new Promise((r) => setTimeout(r, 100));
  const servedAgainAt = opts.faultAt === undefined ? undefined : w.servingAgainAfter(opts.faultAt);
  const report = await w.stop();
  return { report, missing: await missing(report.acked), ...(servedAgainAt !== undefined ? { servedAgainAt } : {}) };
}
