// Split brain on real engines: two servers claim primary at once; the role loop's round (what the
// controller runs: SplitBrain → demote) keeps the labelled one and demotes the other IN THE ENGINE
// (Redis REPLICAOF; MariaDB read_only + CHANGE MASTER).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MysqlPool } from '../../controller/engines/mysql/client.js';
import { probeMysql } from '../../controller/engines/mysql/probe.js';
import { RedisPool } from '../../controller/engines/redis/client.js';
import { probeRedis } from '../../controller/engines/redis/probe.js';
import { MysqlEngine } from '../../controller/engines/mysql/engine.js';
import { RedisEngine } from '../../controller/engines/redis/engine.js';
import type { Engine, EngineTarget, ProbeResult } from '../../controller/engines/types.js';
import type { EngineSpec, Role } from '../../schemas/types/index.js';
import { bareRound } from '../support/bare-shard.js';
import { mysqlReplicaSet, mysqlSpec, missingRows } from './support/mysql-set.js';
import { startRedis, stopAll, waitFor, type EngineProc } from './support/procs.js';
import mysql from 'mysql2/promise';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-splitbrain-'));
const procs: EngineProc[] = [];
const rpool = new RedisPool();
const mpool = new MysqlPool();
afterAll(async () => {
  await rpool.close();
  await mpool.close();
  await stopAll(procs);
  fs.rmSync(root, { recursive: true, force: true });
});

const redisSpec: EngineSpec = { type: 'redis', version: '7.0', port: 6379 };

/** One production round over `targets` with the first one labelled primary; the split-brain Event and what ran. */
async function guardRound(engine: Engine, spec: EngineSpec, targets: EngineTarget[]) {
  const labels = new Map<string, Role>(targets.map((t, i) => [t.podName, i === 0 ? 'primary' : 'secondary']));
  try {
    const out = await bareRound({ engine, spec, targets, labels, history: { history: new Map() }, failureThreshold: 3, probeTimeoutMs: 1_000 });
    return { ...out, splitBrain: out.events.find((e) => e.reason === 'SplitBrain'), labels };
  } finally {
    await engine.close();
  }
}

describe('split-brain guard', () => {
  it('Redis: a replica promoted behind our back is demoted to follow the labelled primary', async () => {
    const p = await startRedis(root, 'sb-0');
    const r = await startRedis(root, 'sb-1', ['--replicaof', p.host, '6379']);
    procs.push(p, r);
    const [pt, rt] = [p, r].map((x) => ({ podName: x.name, host: x.host, port: x.port })) as [EngineTarget, EngineTarget];
    await waitFor('link', async () => (await probeRedis(rpool, rt, 1_000)).following?.linkUp);
    await rpool.call(rt, 1_000, 'REPLICAOF', 'NO', 'ONE');
    await rpool.call(rt, 1_000, 'SET', 'only-on-the-rogue', '1');
    const probes = await Promise.all([pt, rt].map((t) => probeRedis(rpool, t, 1_000)));
    expect(probes.map((x) => x.role)).toEqual(['primary', 'primary']);
    const started = Date.now();
    const res = await guardRound(new RedisEngine(), redisSpec, [pt, rt]);
    const demotedMs = Date.now() - started;
    expect(res.ran[0]).toBe('demote');
    expect(res.splitBrain?.message).toMatch(/keeping sb-0/);
    expect(res.labels.get('sb-0')).toBe('primary');
    const after = await probeRedis(rpool, rt, 1_000);
    expect(after).toMatchObject({ role: 'secondary', following: { host: pt.host, port: pt.port } });
    await waitFor('demoted replica resynced', async () => (await probeRedis(rpool, rt, 1_000)).following?.linkUp);
    console.log(`[splitbrain] redis: one primary again ${demotedMs} ms after the guard started, demoted replica resynced after ${Date.now() - started} ms (full sync, repl-diskless-sync-delay); ${res.splitBrain!.message}`);
    // And it took the primary's data set, dropping what only it had.
    expect(await rpool.call(rt, 1_000, 'EXISTS', 'only-on-the-rogue')).toBe(0);
    // Nothing to do once resolved.
    const again = await guardRound(new RedisEngine(), redisSpec, [pt, rt]);
    expect(again.ran).not.toContain('demote');
    expect(again.splitBrain).toBeUndefined();
  });

  it('MariaDB: two writable primaries → the unlabelled one is made read-only and follows the other; its writers are cut off', async () => {
    const { all } = await mysqlReplicaSet(root, 'sbm', procs);
    const [p, r1] = all as [EngineTarget, EngineTarget, EngineTarget];
    // r1 turned writable and stopped replicating (an operator's mistake, or a confused failover).
    await mpool.query(r1, 'STOP SLAVE');
    await mpool.query(r1, 'RESET SLAVE ALL');
    await mpool.query(r1, 'SET GLOBAL read_only = 0');
    const app = await mysql.createConnection({ host: r1.host, port: r1.port, user: 'app', password: 'app', database: 'test' });
    app.on('error', () => undefined);
    await app.query('SELECT 1');
    const probes: ProbeResult[] = await Promise.all(all.map((t) => probeMysql(mpool, t, 1_000)));
    expect(probes.filter((x) => x.role === 'primary')).toHaveLength(2);
    const started = Date.now();
    const res = await guardRound(new MysqlEngine(), mysqlSpec, all);
    const took = Date.now() - started;
    expect(res.ran[0]).toBe('demote');
    expect(res.splitBrain?.message).toContain(`keeping ${p.podName}`);
    const after = await probeMysql(mpool, r1, 1_000);
    expect(after).toMatchObject({ role: 'secondary', readOnly: true, following: { host: p.host, port: p.port } });
    // The application's session on the demoted server was killed.
    await expect(app.query('INSERT INTO writes VALUES (424242, "late")')).rejects.toThrow();
    app.destroy();
    // Writes on the kept primary reach the demoted one (it had no errant transactions).
    const w = await mysql.createConnection({ host: p.host, port: p.port, user: 'app', password: 'app', database: 'test' });
    await w.query('INSERT INTO writes VALUES (777, "x")');
    await w.end();
    await waitFor('demoted server replicates', async () => (await missingRows(r1, [777])).length === 0);
    console.log(`[splitbrain] mariadb: one writable primary again after ${took} ms; ${res.splitBrain!.message}`);
  });
});
