// Planned MariaDB switchovers on real mariadbd processes (GTID, semi-sync), with a writer
// running throughout: no acknowledged commit is lost and the write outage is printed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlPool } from '../../controller/engines/mysql/client.js';
import { switchoverMysql } from '../../controller/engines/mysql/switchover.js';
import type { EngineTarget } from '../../controller/engines/types.js';
import { agreedMysqlPrimary, missingRows, mysqlReplicaSet, mysqlSpec } from './support/mysql-set.js';
import { sleep, stopAll, waitFor, type EngineProc } from './support/procs.js';
import { MysqlWriter, type WriterReport } from './support/writers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-mysql-switchover-'));
const procs: EngineProc[] = [];
const pool = new MysqlPool();
let all: EngineTarget[] = [];

function print(scenario: string, r: WriterReport, extra: string): void {
  console.log(`[mysql-switchover] ${scenario}: ${extra}; writes attempted ${r.attempted}, acknowledged ${r.acknowledged.length}, failed ${r.errors}, longest write outage ${r.longestOutageMs} ms, longest gap between acknowledged writes ${r.longestGapMs} ms`);
}

beforeAll(async () => {
  ({ all } = await mysqlReplicaSet(root, 'my', procs));
});
afterAll(async () => {
  await pool.close();
  await stopAll(procs);
  fs.rmSync(root, { recursive: true, force: true });
});

describe('MariaDB switchover', () => {
  it('moves the primary to the named replica under write load; no acknowledged commit is lost', async () => {
    const [p, r1, r2] = all as [EngineTarget, EngineTarget, EngineTarget];
    let current: EngineTarget = p;
    const writer = new MysqlWriter(async () => current);
    writer.start();
    await sleep(500);
    const res = await switchoverMysql({ primary: p, replicas: [r1, r2], candidate: r2.podName, spec: mysqlSpec, timeoutMs: 10_000 });
    current = r2;
    await sleep(500);
    const report = await writer.stop();
    expect(res.to).toBe(r2.podName);
    expect(await agreedMysqlPrimary(pool, all)).toEqual(r2);
    expect(report.acknowledged.length).toBeGreaterThan(10);
    expect(await missingRows(r2, report.acknowledged)).toEqual([]);
    // Replication works from the new primary: the former primary gets the new rows.
    const last = report.acknowledged.at(-1)!;
    await waitFor('former primary to replicate from the new one', async () => (await missingRows(p, [last])).length === 0);
    print('named candidate', report, `read-only window ${res.pausedMs} ms, switchover took ${res.totalMs} ms`);
  });

  it('picks the most advanced replica when none is named; refuses a replica as the primary and an unknown candidate', async () => {
    const primary = (await agreedMysqlPrimary(pool, all))!;
    const replicas = all.filter((t) => t !== primary);
    await expect(switchoverMysql({ primary: replicas[0]!, replicas: [primary], spec: mysqlSpec })).rejects.toThrow(/not a primary/);
    await expect(switchoverMysql({ primary, replicas, candidate: 'x-7', spec: mysqlSpec })).rejects.toThrow(/not a replica of/);
    // Nothing changed by the refusals: the primary is still writable.
    expect(await agreedMysqlPrimary(pool, all)).toEqual(primary);
    const res = await switchoverMysql({ primary, replicas, spec: mysqlSpec });
    expect((await agreedMysqlPrimary(pool, all))?.podName).toBe(res.to);
  });
});
