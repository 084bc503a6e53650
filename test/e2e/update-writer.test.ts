// A client writing continuously through a rolling update (template change) of a 3-member
// Redis + Sentinel (sessions-cache) and a 3-member semi-sync MariaDB (orders-db), from the
// rendered prod manifests, on the real control plane with the test kubelet and the controller.
// The writer re-resolves the `-primary` Service's EndpointSlice after every error, as a client
// behind a Service reconnects. The longest stretch without an acknowledged write is compared
// with the switchover window the controller reports in its SwitchoverDone Event.
import * as k8s from '@kubernetes/client-node';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../cluster/helpers.js';
import { allReady, loadRendered, onePrimaryServed, startEngineEnv, watchPrimaryLabels, type EngineEnv } from './engines-helpers.js';
import { eventReasons, rollOut } from './rollout-helpers.js';
import { missingMysqlRows, missingRedisKeys, startMysqlWriter, startRedisWriter, type Writer } from './writers.js';

/**
 * Allowed beyond the reported switchover: after the engine switched, the controller relabels at
 * its next role probe (period 2 s), the EndpointSlice controller then publishes the new address
 * (batching up to ~1 s on the test control plane) and the writer, which re-resolves after each
 * error, reconnects (well under 1 s): 2 s + 2 s.
 */
const SLACK_MS = 2_000 + 2_000;

/** Longest stretch without an acknowledged write allowed while the secondaries are replaced (load noise, no primary change). */
const BEFORE_SWITCHOVER_MS = 2_000;

/** The window of the last SwitchoverDone Event: "primary moved from a to b in <total> ms (writes paused <paused> ms)". */
function switchoverWindow(events: string[]): { totalMs: number; pausedMs: number; note: string } {
  const note = events.filter((e) => e.startsWith('SwitchoverDone:')).at(-1);
  const m = note?.match(/in (\d+) ms \(writes paused (\d+) ms\)/);
  if (note === undefined || m === null || m === undefined) throw new Error(`no SwitchoverDone Event with a window; events: ${events.join(' | ')}`);
  return { totalMs: Number(m[1]), pausedMs: Number(m[2]), note };
}

/** Wall-clock ms of the last SwitchoverDone Event of `set`. */
async function switchoverDoneAt(env: EngineEnv, set: string): Promise<number> {
  const list = await env.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
  const times = list.items
    .filter((e) => e.regarding?.name === set && e.reason === 'SwitchoverDone')
    .map((e) => new Date(e.eventTime ?? e.deprecatedLastTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime());
  if (times.length === 0) throw new Error(`no SwitchoverDone Event for ${set}`);
  return Math.max(...times);
}

/** The set's Events in time order, as "<ms since t0> Reason: note" (printed when a bound is exceeded, to see why). */
async function eventTimeline(env: EngineEnv, set: string, t0: number): Promise<string[]> {
  const list = await env.kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: env.namespace });
  const offset = Date.now() - performance.now();
  return list.items
    .filter((e) => e.regarding?.name === set)
    .map((e) => ({ at: new Date(e.eventTime ?? e.deprecatedLastTimestamp ?? e.metadata?.creationTimestamp ?? 0).getTime() - offset - t0, text: `${e.reason}: ${e.note ?? ''}` }))
    .sort((a, b) => a.at - b.at)
    .map((e) => `${e.at.toFixed(0)} ms ${e.text}`);
}

async function rollWithWriter(env: EngineEnv, set: string, label: string, writer: Writer): Promise<{ acked: number[]; primary: k8s.V1Pod }> {
  const watch = watchPrimaryLabels(env.core, env.namespace, set);
  let report;
  try {
    // Start the rollout only once writes are acknowledged (right after set-up the replicas may
    // still be syncing, and WAIT 1 would return 0).
    const ready = performance.now();
    for (let i = 0; i < 600 && (writer.firstAckAfter(ready) === undefined || writer.firstAckAfter(ready + 1_000) === undefined); i++) await new Promise((res) => setTimeout(res, 100));
    const t0 = performance.now();
    const r = await rollOut(env, set, 3, 150_000);
    const primary = await onePrimaryServed(env, set, 3, 60_000);
    // Writes acknowledged after the rollout: the writer reached the final primary.
    const after = performance.now();
    for (let i = 0; i < 100 && writer.firstAckAfter(after) === undefined; i++) await new Promise((res) => setTimeout(res, 100));
    report = await writer.stop();
    const events = await eventReasons(env, set);
    const w = switchoverWindow(events);
    // The longest stretch without an acknowledged write while the rollout ran.
    const duringMs = Math.max(0, ...report.gaps.filter((g) => g.to >= t0).map((g) => g.to - Math.max(g.from, t0)));
    // The stretch around the switchover: the one overlapping [done - total, done], where done is
    // the SwitchoverDone Event's time (wall clock, converted to performance.now()).
    const doneAt = (await switchoverDoneAt(env, set)) - (Date.now() - performance.now());
    const around = report.gaps.filter((g) => g.to >= doneAt - w.totalMs && g.from <= doneAt + SLACK_MS);
    const switchoverGapMs = Math.max(0, ...around.map((g) => g.to - g.from));
    const beforeSwitchoverMs = Math.max(0, ...report.gaps.filter((g) => g.from >= t0 && g.to < doneAt - w.totalMs).map((g) => g.to - g.from));
    console.log(
      `[update-writer] ${label}: rollout ${r.ms} ms, primary ${r.primaryBefore} → ${r.primaryAfter}; ${w.note.replace('SwitchoverDone: ', 'controller: ')}; ` +
        `writer ${report.acked.length} acknowledged / ${report.failures} failed; longest stretch without an acknowledged write around the switchover ${switchoverGapMs.toFixed(0)} ms ` +
        `(allowed: switchover ${w.totalMs} ms + ${SLACK_MS} ms), before the switchover ${beforeSwitchoverMs.toFixed(0)} ms (allowed ${BEFORE_SWITCHOVER_MS} ms), during the whole rollout ${duringMs.toFixed(0)} ms`,
    );
    const gaps = report.gaps.filter((g) => g.to - g.from > 500).map((g) => `${(g.from - t0).toFixed(0)}–${(g.to - t0).toFixed(0)} ms`);
    console.log(`[update-writer] ${label}: replaced ${r.replaced.map((x) => `${x.pod}(${x.roleWhenDeleted ?? 'none'} @${x.atMs} ms)`).join(' → ')}; stretches > 500 ms without an acknowledged write: ${gaps.join(', ') || 'none'}; last error: ${report.lastError ?? 'none'}`);
    console.log(`[update-writer] ${label}: why the rollout waited: ${events.filter((e) => e.startsWith('UpdateWaiting:')).map((e) => e.replace('UpdateWaiting: rolling update waits: ', '')).join(' | ')}`);
    if (beforeSwitchoverMs > BEFORE_SWITCHOVER_MS || switchoverGapMs > w.totalMs + SLACK_MS) {
      console.log(`[update-writer] ${label}: events since the rollout started:\n  ${(await eventTimeline(env, set, t0)).join('\n  ')}`);
    }
    expect(report.acked.length).toBeGreaterThan(20);
    expect(writer.firstAckAfter(after)).toBeDefined();
    expect(switchoverGapMs).toBeLessThanOrEqual(w.totalMs + SLACK_MS);
    // The rollout replaces the next pod only when the replaced one replicates and caught up, so a
    // replica acknowledges (semi-sync, WAIT 1) while the secondaries are replaced: before the
    // switchover no stretch without an acknowledged write is longer than a reconnect. (Before
    // the plan waited for catch-up: ~5 s on Redis, ~10 s on semi-sync MariaDB.)
    expect(beforeSwitchoverMs).toBeLessThanOrEqual(BEFORE_SWITCHOVER_MS);
    if (label.startsWith('mariadb')) {
      expect(duringMs).toBeLessThanOrEqual(w.totalMs + SLACK_MS);
      // The old primary's read_only waits for running commits: had a commit been waiting for a
      // semi-sync acknowledgement (no replica linked), the switchover would have lasted
      // rpl_semi_sync_master_timeout (10 s; measured 9.9 s before the rollout waited for catch-up).
      expect(w.pausedMs).toBeLessThanOrEqual(2_000);
      expect(w.totalMs).toBeLessThanOrEqual(5_000);
    }
    // Redis: the whole-rollout figure is printed, not asserted. After a Sentinel switchover the old
    // replicas were sometimes unlinked from the new primary for ~5 s (a full resync, it seems), so
    // WAIT 1 returned 0 and the "around the switchover" bound above failed in 2 of 7 runs
    // (docs/updates.md, findings): a defect of the Redis switchover, left asserted.
    return { acked: report.acked, primary };
  } finally {
    await writer.stop();
    const seen = await watch.stop();
    expect(seen.maxPrimaries).toBe(1);
  }
}

describe('writer through a rolling update of Redis + Sentinel', () => {
  const NS = `updw-redis-${Date.now().toString(36)}`;
  const SET = 'sessions-cache-server';
  const PASSWORD = `pw-${process.pid}`;
  let env: EngineEnv;
  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-identity/sessions-cache', 'db-identity', NS),
      secrets: { 'sessions-cache-auth': { password: PASSWORD } },
    });
    await allReady(env.core, NS, SET, 3, 180_000);
    await allReady(env.core, NS, 'sessions-cache-sentinel', 3, 180_000);
  }, 300_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('the longest write outage stays within the reported switchover window + slack; no acknowledged write lost', async () => {
    await onePrimaryServed(env, SET, 3, 120_000);
    const writer = startRedisWriter(env.kc, NS, `${SET}-primary`, PASSWORD, 'u:');
    const { acked, primary } = await rollWithWriter(env, SET, 'redis+sentinel', writer);
    expect(await missingRedisKeys(primary.status?.podIP ?? '', PASSWORD, 'u:', acked)).toEqual([]);
  }, 240_000);
});

describe('writer through a rolling update of semi-sync MariaDB', () => {
  const NS = `updw-mysql-${Date.now().toString(36)}`;
  const SET = 'orders-db-server';
  const auth = { user: 'orders', password: `pw-${process.pid}` };
  const APP = { user: 'app', password: `app-${process.pid}` };
  let env: EngineEnv;
  beforeAll(async () => {
    env = await startEngineEnv({
      namespace: NS,
      objects: loadRendered('prod/prod-eu-west/db-commerce/orders-db', 'db-commerce', NS),
      secrets: { 'orders-db-admin': { username: auth.user, password: auth.password } },
    });
    await allReady(env.core, NS, SET, 3, 180_000);
  }, 300_000);
  afterAll(async () => {
    await env?.stop();
  });

  it('the longest write outage stays within the reported switchover window + slack; no committed row lost', async () => {
    const p = await onePrimaryServed(env, SET, 3, 120_000);
    const c = await mysql.createConnection({ host: p.status?.podIP ?? '', port: 3306, user: auth.user, password: auth.password, connectTimeout: 2_000 });
    await c.query('CREATE DATABASE IF NOT EXISTS faults');
    await c.query('CREATE TABLE IF NOT EXISTS faults.w (id INT PRIMARY KEY)');
    // Applications write with an account of their own. The admin account (the controller's, with
    // READ_ONLY ADMIN) is neither stopped by read_only nor disconnected by the switchover's fence,
    // so a writer using it would go on committing on the old primary (measured: rows lost).
    await c.query('CREATE USER IF NOT EXISTS app IDENTIFIED BY ?', [APP.password]);
    await c.query('GRANT SELECT, INSERT ON faults.* TO app');
    c.destroy();
    const writer = startMysqlWriter(env.kc, NS, `${SET}-primary`, APP, 'faults.w');
    const { acked, primary } = await rollWithWriter(env, SET, 'mariadb semi-sync', writer);
    expect(await missingMysqlRows(primary.status?.podIP ?? '', auth, 'faults.w', acked)).toEqual([]);
    // Commits were acknowledged under semi-sync: the final primary runs it with a replica attached.
    const n = await mysql.createConnection({ host: primary.status?.podIP ?? '', port: 3306, user: auth.user, password: auth.password, connectTimeout: 2_000 });
    try {
      const read = async (): Promise<Record<string, string>> => {
        const [rows] = await n.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients', 'Rpl_semi_sync_master_yes_tx', 'Rpl_semi_sync_master_no_tx')");
        const [vars] = await n.query('SELECT @@global.rpl_semi_sync_master_enabled AS enabled');
        return { ...Object.fromEntries((rows as Array<{ Variable_name: string; Value: string }>).map((r) => [r.Variable_name, r.Value])), enabled: String((vars as Array<{ enabled: number }>)[0]?.enabled) };
      };
      const st = await eventually('semi-sync on the final primary', async () => {
        const x = await read();
        return x['Rpl_semi_sync_master_status'] === 'ON' ? x : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500 }).catch(read);
      console.log(`[update-writer] final primary semi-sync: ${JSON.stringify(st)}`);
      expect(st['Rpl_semi_sync_master_status']).toBe('ON');
    } finally {
      n.destroy();
    }
  }, 240_000);
});
