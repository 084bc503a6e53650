// Writers that keep writing through a switchover or failover, the way an application would:
// each write goes to whatever `resolve()` says the primary is now, and only writes the engine
// acknowledged as replicated (Redis WAIT 1; MariaDB semi-sync commit) count as acknowledged.
// They measure the longest stretch between two successful writes that had failures in it.
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import type { EngineTarget } from '../../../controller/engines/types.js';
import { sleep } from './procs.js';

export interface WriterReport {
  attempted: number;
  acknowledged: number[];
  errors: number;
  /** Longest time from the first failed write to the next acknowledged one, ms. */
  longestOutageMs: number;
  /** Longest time between two acknowledged writes (blocked writes count too), ms. */
  longestGapMs: number;
  lastErrors: string[];
}

let writers = 0;

abstract class Writer {
  /** Each writer of a process writes its own id range, so a second writer never collides with rows of the first. */
  private readonly firstId = ++writers * 1_000_000 + 1;
  protected stopped = false;
  private loop: Promise<void> | undefined;
  protected readonly report: WriterReport = { attempted: 0, acknowledged: [], errors: 0, longestOutageMs: 0, longestGapMs: 0, lastErrors: [] };
  private lastAck: number | undefined;
  private outageSince: number | undefined;

  constructor(protected readonly resolve: () => Promise<EngineTarget | undefined>) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops after the write in flight; bounded by the write timeouts. */
  async stop(): Promise<WriterReport> {
    this.stopped = true;
    await this.loop;
    await this.closeClient();
    return this.report;
  }

  protected abstract write(t: EngineTarget, id: number): Promise<boolean>;
  protected abstract closeClient(): Promise<void>;

  private async run(): Promise<void> {
    for (let id = this.firstId; !this.stopped && id < this.firstId + 999_999; id++) {
      this.report.attempted++;
      let ok = false;
      try {
        const t = await this.resolve();
        if (t) ok = await this.write(t, id);
        else this.note('no primary known');
      } catch (err) {
        this.note(err instanceof Error ? err.message : String(err));
        await this.closeClient();
      }
      if (ok) {
        this.report.acknowledged.push(id);
        const now = Date.now();
        if (this.lastAck !== undefined) this.report.longestGapMs = Math.max(this.report.longestGapMs, now - this.lastAck);
        this.lastAck = now;
        if (this.outageSince !== undefined) {
          this.report.longestOutageMs = Math.max(this.report.longestOutageMs, Date.now() - this.outageSince);
          this.outageSince = undefined;
        }
      } else {
        this.report.errors++;
        this.outageSince ??= Date.now();
        await sleep(20);
      }
      await sleep(2);
    }
    if (this.outageSince !== undefined) this.report.longestOutageMs = Math.max(this.report.longestOutageMs, Date.now() - this.outageSince);
  }

  protected note(msg: string): void {
    this.report.lastErrors.push(msg);
    if (this.report.lastErrors.length > 5) this.report.lastErrors.shift();
  }
}

export class RedisWriter extends Writer {
  private client: Redis | undefined;
  private clientKey = '';

  protected override async write(t: EngineTarget, id: number): Promise<boolean> {
    const key = `${t.host}:${t.port}`;
    if (!this.client || this.clientKey !== key || this.client.status !== 'ready') {
      await this.closeClient();
      this.client = new Redis({ host: t.host, port: t.port, lazyConnect: true, connectTimeout: 1_000, commandTimeout: 3_000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
      this.client.on('error', () => undefined);
      this.clientKey = key;
      await this.client.connect();
    }
    await this.client.set(`k:${id}`, String(id));
    const replicas = Number(await this.client.call('WAIT', '1', '1000'));
    if (replicas < 1) this.note(`write ${id} not replicated in time`);
    return replicas >= 1;
  }

  protected override async closeClient(): Promise<void> {
    this.client?.disconnect();
    this.client = undefined;
  }
}

export class MysqlWriter extends Writer {
  private conn: mysql.Connection | undefined;
  private connKey = '';

  protected override async write(t: EngineTarget, id: number): Promise<boolean> {
    const key = `${t.host}:${t.port}`;
    if (!this.conn || this.connKey !== key) {
      await this.closeClient();
      this.connKey = key;
      this.conn = await mysql.createConnection({ host: t.host, port: t.port, user: 'app', password: 'app', database: 'test', connectTimeout: 1_000 });
      this.conn.on('error', () => undefined);
    }
    // Autocommit INSERT: OK comes back only after a semi-sync replica acknowledged the commit.
    await this.conn.query({ sql: 'INSERT INTO writes (id, v) VALUES (?, ?)', values: [id, `v${id}`], timeout: 5_000 });
    return true;
  }

  protected override async closeClient(): Promise<void> {
    const c = this.conn;
    this.conn = undefined;
    if (c) c.destroy();
  }
}
