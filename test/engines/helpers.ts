// Starts real engine processes on their own 127.x addresses for the engine tests (no Kubernetes),
// with the same command lines the test kubelet uses (each in its own directory with its own
// TMPDIR / --tmpdir); everything started is stopped by stopAll().
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EngineTarget } from '../../controller/engines/types.js';
import { ensureMariadbTemplate, prepareEngine, type EngineKind } from '../kubelet/engines.js';
import { AddressPool, waitForPort } from '../kubelet/net.js';
import { Supervisor } from '../kubelet/supervisor.js';
import { until } from '../support/eventually.js';

export interface Running {
  target: EngineTarget;
  supervisor: Supervisor;
  dir: string;
}

export class EngineFarm {
  private readonly addresses = new AddressPool(process.pid + Math.floor(Math.random() * 1000));
  private readonly running: Running[] = [];
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-engines-'));

  async start(kind: EngineKind, name: string, opts: { port?: number; config?: string; serverId?: number } = {}): Promise<Running> {
    const ip = this.addresses.allocate();
    const port = opts.port ?? (kind === 'sentinel' ? 26379 : kind === 'mariadb' ? 3306 : 6379);
    const dir = path.join(this.root, name);
    const template = kind === 'mariadb' ? await ensureMariadbTemplate(path.join(os.tmpdir(), 'dbtopo-mariadb-template-engines')) : undefined;
    const spec = prepareEngine(
      { kind, ip, port, dir, ...(opts.config !== undefined ? { config: opts.config } : {}), serverId: opts.serverId ?? this.running.length + 1 },
      template,
    );
    const supervisor = new Supervisor(spec);
    supervisor.start();
    const r = { target: { podName: name, host: ip, port }, supervisor, dir };
    this.running.push(r);
    await waitForPort(ip, port, 30_000, `${kind} ${name}`);
    return r;
  }

  log(r: Running): string {
    try {
      return fs.readFileSync(path.join(r.dir, 'engine.log'), 'utf8').split('\n').slice(-30).join('\n');
    } catch {
      return '';
    }
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((r) => r.supervisor.stop()));
    this.addresses.release();
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Polls `check` every 50 ms until it returns a value (not undefined); throws after `timeoutMs`. */
export function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  return until(what, timeoutMs, check, 50);
}
