// MariaDB failover without Sentinel on real mariadbd processes: the role loop's round
// (controller/roles/round.ts, what the controller runs, with labels kept in memory) detects a
// lost primary, promotes the most advanced replica, and fences the old primary when it comes
// back — after kill -9 and after SIGSTOP / SIGCONT. A writer runs throughout; no acknowledged
// (semi-sync) commit is lost.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlPool } from '../../controller/engines/mysql/client.js';
import { MysqlEngine } from '../../controller/engines/mysql/engine.js';
import type { ProbeHistory } from '../../controller/roles/failover.js';
import type { Role } from '../../schemas/types/index.js';
import { bareRound } from '../support/bare-shard.js';
import { probeMysql } from '../../controller/engines/mysql/probe.js';
import type { EngineTarget } from '../../controller/engines/types.js';
import { agreedMysqlPrimary, missingRows, mysqlReplicaSet, mysqlSpec } from './support/mysql-set.js';
import { sleep, stopAll, type EngineProc } from './support/procs.js';
import { MysqlWriter } from './support/writers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-mysql-failover-'));
const procs: EngineProc[] = [];
const pool = new MysqlPool();
let set: { procs: EngineProc[]; all: EngineTarget[] };
const PERIOD_MS = 300;
const THRESHOLD = 3;
const engine = new MysqlEngine();

/** What the test follows across rounds: the probe history and the pod labelled primary. */
interface FailoverState extends ProbeHistory {
  labels?: Map<string, Role>;
  labelledPrimary?: string;
}

/** One round, as the test reads it. */
interface RoundResult {
  decision: { action: 'none' | 'wait' | 'promote' };
  failover?: { steps: string[] };
  splitBrain?: { event: { message: string } };
  /** Pods fenced or repointed to the primary this round. */
  fenced: Array<{ pod: string }>;
  /** The pod labelled primary after the round. */
  primary?: string;
}

async function round(state: FailoverState): Promise<RoundResult> {
  const labels = (state.labels ??= new Map(state.labelledPrimary !== undefined ? [[state.labelledPrimary, 'primary' as Role]] : []));
  const out = await bareRound({ engine, spec: mysqlSpec, targets: set.all, labels, history: state, failureThreshold: THRESHOLD, probeTimeoutMs: 500 });
  const primary = [...labels].find(([, r]) => r === 'primary')?.[0];
  if (primary !== undefined) state.labelledPrimary = primary;
  const message = (reason: string): string | undefined => out.events.find((e) => e.reason === reason)?.message;
  const fenced = out.operations.flatMap((op) => (op.kind === 'fence' ? op.pods : op.kind === 'wire' ? op.follow.map((f) => f.replica) : [])).map((pod) => ({ pod }));
  const failover = message('Failover');
  const splitBrain = message('SplitBrain');
  return {
    decision: { action: out.ran.includes('failover') ? 'promote' : out.state === 'PrimaryLost' ? 'wait' : 'none' },
    ...(failover !== undefined ? { failover: { steps: [failover] } } : {}),
    ...(splitBrain !== undefined ? { splitBrain: { event: { message: splitBrain } } } : {}),
    fenced,
    ...(primary !== undefined ? { primary } : {}),
  };
}

beforeAll(async () => {
  set = await mysqlReplicaSet(root, 'fo', procs);
});
afterAll(async () => {
  await engine.close();
  await pool.close();
  await stopAll(procs);
  fs.rmSync(root, { recursive: true, force: true });
});

/** The controller's probe loop, in the test: rounds every PERIOD_MS until `until` holds (bounded). */
async function keepRoles(state: FailoverState, until: (r: RoundResult) => boolean, maxRounds = 100): Promise<RoundResult[]> {
  const rounds: RoundResult[] = [];
  for (let i = 0; i < maxRounds; i++) {
    const started = Date.now();
    const r = await round(state);
    rounds.push(r);
    if (process.env['DEBUG_ROUNDS']) console.log(Date.now() - started, JSON.stringify(r).slice(0, 300));
    if (until(r)) return rounds;
    await sleep(Math.max(0, PERIOD_MS - (Date.now() - started)));
  }
  throw new Error(`roles did not settle in ${maxRounds} rounds: ${JSON.stringify(rounds.at(-1))}`);
}

const byName = (n: string | undefined): EngineTarget => set.all.find((t) => t.podName === n)!;
const procOf = (t: EngineTarget): EngineProc => set.procs.find((p) => p.name === t.podName)!;

describe('MariaDB failover and fencing', () => {
  it('a replica of the primary whose replication was stopped (a failover cut off by a kill) is started again', async () => {
    const state: FailoverState = { history: new Map() };
    const first = await keepRoles(state, (r) => r.primary !== undefined);
    const primary = byName(first.at(-1)!.primary);
    // A replica replicating now. This test runs first: a primary killed below comes back diverged.
    let found: EngineTarget | undefined;
    for (const t of set.all.filter((x) => x !== primary)) if ((await probeMysql(pool, t, 2_000)).following?.linkUp === true) found = t;
    if (found === undefined) throw new Error('no replica of the primary replicates; the earlier tests left none');
    const replica = found;
    // What executeFailover leaves on a replica when the controller dies between its steps.
    await pool.query(replica, 'STOP SLAVE', 5_000);
    expect((await probeMysql(pool, replica, 2_000)).following).toMatchObject({ host: primary.host, port: primary.port, linkUp: false });
    await pool.query(primary, 'CREATE TABLE IF NOT EXISTS test.restarted (id INT PRIMARY KEY)', 5_000);
    await pool.query(primary, 'REPLACE INTO test.restarted VALUES (1)', 5_000);
    const rounds = await keepRoles(state, (r) => r.fenced.some((f) => f.pod === replica.podName), 10);
    let p = await probeMysql(pool, replica, 2_000);
    for (let i = 0; i < 50 && p.following?.linkUp !== true; i++) {
      await sleep(100);
      p = await probeMysql(pool, replica, 2_000);
    }
    expect(p.following).toMatchObject({ host: primary.host, port: primary.port, linkUp: true });
    const [row] = await waitRow(replica);
    expect(row).toEqual({ id: 1 });
    console.log(`[mysql-failover] stopped replica ${replica.podName} wired again in ${rounds.length} round(s)`);
  });

  it('kill -9 of the primary: the most advanced replica is promoted, no acknowledged commit is lost, the old primary comes back fenced', async () => {
    const state: FailoverState = { history: new Map(), labelledPrimary: set.all[0]!.podName };
    await keepRoles(state, (r) => r.primary === set.all[0]!.podName);
    const writer = new MysqlWriter(async () => (state.labelledPrimary ? byName(state.labelledPrimary) : undefined));
    writer.start();
    await sleep(800);
    const old = byName(state.labelledPrimary);
    const killedAt = Date.now();
    procOf(old).kill('SIGKILL');
    await procOf(old).waitExit();
    const rounds = await keepRoles(state, (r) => r.failover !== undefined);
    const promotedAfterMs = Date.now() - killedAt;
    const promoted = byName(state.labelledPrimary);
    expect(promoted.podName).not.toBe(old.podName);
    await sleep(800);
    const report = await writer.stop();
    expect(await missingRows(promoted, report.acknowledged)).toEqual([]);
    expect(report.acknowledged.length).toBeGreaterThan(5);
    console.log(
      `[mysql-failover] kill -9: new primary ${promoted.podName} after ${promotedAfterMs} ms (${rounds.length} probe rounds of ${PERIOD_MS} ms, threshold ${THRESHOLD}); ` +
        `writes acknowledged ${report.acknowledged.length}, failed ${report.errors}, longest write outage ${report.longestOutageMs} ms; ${rounds.at(-1)!.failover!.steps.join('; ')}`,
    );

    // The old primary restarts (read_only=1 at boot) and is made a replica of the new one.
    await procOf(old).start(60_000);
    const back = await keepRoles(state, (r) => r.fenced.some((f) => f.pod === old.podName) || (r.primary === promoted.podName && agreedOk(r)));
    const p = await probeMysql(pool, old, 2_000);
    expect(p).toMatchObject({ reachable: true, role: 'secondary', readOnly: true });
    expect(p.following).toMatchObject({ host: promoted.host, port: promoted.port });
    console.log(`[mysql-failover] restarted old primary ${old.podName}: ${JSON.stringify(back.flatMap((r) => r.fenced))}; link ${p.following?.linkUp ? 'up' : `down (${p.error ?? 'connecting'})`}`);
  });

  it('SIGSTOP of the primary: failover happens; after SIGCONT the old primary is fenced in the engine before it is labelled', async () => {
    const state: FailoverState = { history: new Map() };
    const first = await keepRoles(state, (r) => r.primary !== undefined && r.fenced.length === 0);
    const old = byName(first.at(-1)!.primary);
    const writer = new MysqlWriter(async () => (state.labelledPrimary ? byName(state.labelledPrimary) : undefined));
    writer.start();
    await sleep(800);
    const stoppedAt = Date.now();
    procOf(old).kill('SIGSTOP');
    const rounds = await keepRoles(state, (r) => r.failover !== undefined);
    const promotedAfterMs = Date.now() - stoppedAt;
    const promoted = byName(state.labelledPrimary);
    await sleep(500);
    // The frozen server wakes up still believing it is a writable primary.
    procOf(old).kill('SIGCONT');
    const contAt = Date.now();
    const after = await keepRoles(state, (r) => r.splitBrain !== undefined || r.fenced.some((f) => f.pod === old.podName));
    const fencedAfterMs = Date.now() - contAt;
    await sleep(500);
    const report = await writer.stop();
    expect(state.labelledPrimary).toBe(promoted.podName);
    // Never labelled: every round after the failover named the promoted pod (or nobody).
    for (const r of after) expect([undefined, promoted.podName]).toContain(r.primary);
    const p = await probeMysql(pool, old, 2_000);
    expect(p).toMatchObject({ reachable: true, role: 'secondary', readOnly: true });
    expect(p.following).toMatchObject({ host: promoted.host, port: promoted.port });
    expect(await missingRows(promoted, report.acknowledged)).toEqual([]);
    expect(report.acknowledged.length).toBeGreaterThan(5);
    const how = after.at(-1)!.splitBrain?.event.message ?? JSON.stringify(after.at(-1)!.fenced);
    console.log(
      `[mysql-failover] SIGSTOP: new primary ${promoted.podName} after ${promotedAfterMs} ms (${rounds.length} rounds); old primary fenced ${fencedAfterMs} ms after SIGCONT (${how}); ` +
        `link ${p.following?.linkUp ? 'up' : `down (${p.error ?? 'connecting'})`}; writes acknowledged ${report.acknowledged.length}, failed ${report.errors}, longest write outage ${report.longestOutageMs} ms`,
    );
    expect((await agreedMysqlPrimary(pool, set.all.filter((t) => t !== old)))?.podName).toBe(promoted.podName);
  });

});

function agreedOk(r: RoundResult): boolean {
  return r.decision.action === 'none' && r.fenced.length === 0;
}

/** The row the primary wrote, once the replica applied it (bounded: 5 s). */
async function waitRow(t: EngineTarget): Promise<Array<Record<string, unknown>>> {
  for (let i = 0; i < 50; i++) {
    const rows = await pool.query(t, 'SELECT id FROM test.restarted', 2_000).catch(() => []);
    if (rows.length > 0) return rows;
    await sleep(100);
  }
  throw new Error(`${t.podName} never applied the row written on the primary`);
}
