// MariaDB failover, carried out (the decision is the role loop's: controller/roles/failover.ts):
// the candidate first applies everything it received (bounded), then is promoted; the other
// reachable replicas follow it. The lost primary is not touched: it may be frozen or cut off
// rather than dead; when it answers again the role loop fences it (fence.ts) before it is ever
// labelled.
import type { EngineSpec } from '../../../schemas/types/index.js';
import { withTimeout } from '../timeout.js';
import type { EngineTarget, FailoverResult } from '../types.js';
import { MysqlPool } from './client.js';
import { MysqlDriver } from './replication.js';
import { gtidToOffset } from './probe.js';
import { receivedGtid, waitApplied } from './switchover.js';

/**
 * Carries out a `promote` decision: the candidate first applies everything it received (bounded),
 * then is promoted; the other reachable replicas follow it. The lost primary is skipped.
 */
export async function executeFailover(
  candidate: EngineTarget,
  others: EngineTarget[],
  spec: EngineSpec,
  timeoutMs = 10_000,
): Promise<FailoverResult> {
  const started = Date.now();
  const pool = new MysqlPool();
  const driver = new MysqlDriver();
  const steps: string[] = [];
  const at = (): string => `+${Date.now() - started} ms`;
  try {
    const io = (await receivedGtid(pool, candidate)) ?? '';
    // No more events from the (possibly half-alive) old primary while we promote. Stopping an IO
    // thread blocked on a frozen primary takes seconds, so every replica is stopped at once.
    await Promise.all(
      [candidate, ...others].map((t) => pool.query(t, 'STOP SLAVE IO_THREAD', timeoutMs).catch(() => undefined)),
    );
    steps.push(`stopped the IO threads ${at()}`);
    if (!(await waitApplied(pool, candidate, io, timeoutMs))) {
      steps.push(`${candidate.podName} had not applied ${io} after ${timeoutMs} ms; promoting anyway`);
    } else {
      steps.push(`${candidate.podName} applied ${io || '(empty)'} ${at()}`);
    }
    await driver.promote(candidate, spec);
    steps.push(`promoted ${candidate.podName} ${at()}`);
    await Promise.all(
      others.map((r) =>
        driver.follow(r, candidate, spec).then(
          () => steps.push(`${r.podName} follows ${candidate.podName} ${at()}`),
          (err: unknown) => steps.push(`could not repoint ${r.podName}: ${err instanceof Error ? err.message : String(err)}`),
        ),
      ),
    );
    return { promoted: candidate.podName, steps, totalMs: Date.now() - started };
  } finally {
    await pool.close();
    await driver.close();
  }
}

/** Received positions (Gtid_IO_Pos) of `replicas`, each bounded; missing ones are left out. */
export async function receivedPositions(replicas: EngineTarget[], timeoutMs: number): Promise<Map<string, number>> {
  const pool = new MysqlPool();
  try {
    const out = new Map<string, number>();
    await Promise.all(
      replicas.map(async (t) => {
        const io = await withTimeout(receivedGtid(pool, t), timeoutMs, `SHOW SLAVE STATUS on ${t.host}:${t.port}`).catch(() => undefined);
        const n = io === undefined ? undefined : gtidToOffset(io);
        if (n !== undefined) out.set(t.podName, n);
      }),
    );
    return out;
  } finally {
    // Do not wait for connections stuck on a frozen server; they time out on their own.
    void pool.close();
  }
}
