// Real engine processes for the engine tests: redis-server, redis-sentinel and mariadbd, each on
// its own loopback address (from a machine-wide claimed 127.<b> block) so the default ports never
// collide, and its own directory for data, sockets, pid file and temporary files (TMPDIR, and
// MariaDB's --tmpdir: mariadbd deletes every `#sql*` file in its tmpdir when it starts, so a shared
// /tmp lets one server destroy another's temporary tables). Every process gets its own process
// group and is killed by stop(), by stopAll(), or at exit.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { diesWithParent } from '../../support/pdeathsig.js';
import { AddressPool } from '../../kubelet/net.js';
import { eventually, sleep } from '../../support/eventually.js';

const run = promisify(execFile);
const live = new Set<EngineProc>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

let pool: AddressPool | undefined;
/** A fresh loopback address from a block this process claimed (no other run on the machine uses it). */
export function allocHost(): string {
  pool ??= new AddressPool();
  return pool.allocate();
}

/** Waits for `fn` to return a value (not undefined or false); every 50 ms, 10 s unless told. */
export function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  return eventually(what, fn, { timeoutMs, intervalMs });
}

export { sleep };

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(500, () => done(false));
  });
}

export class EngineProc {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly host: string,
    readonly port: number,
    readonly dir: string,
    private readonly command: string,
    private readonly args: string[],
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts the process and waits (bounded) until its port accepts connections. */
  async start(timeoutMs = 30_000): Promise<this> {
    if (this.child) return this;
    const log = fs.openSync(path.join(this.dir, 'stdout.log'), 'a');
    const run = diesWithParent(this.command, this.args);
    const env = { ...process.env, TMPDIR: privateTmp(this.dir) };
    const child = spawn(run.command, run.args, { cwd: this.dir, env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child = child;
    live.add(this);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    await waitFor(`${this.name} to listen on ${this.host}:${this.port}`, async () => {
      if (!this.child) throw new Error(`${this.name} exited; see ${this.dir}/stdout.log`);
      return await portOpen(this.host, this.port);
    }, { timeoutMs });
    return this;
  }

  /** Sends `signal` to the process group (SIGKILL, SIGSTOP, SIGCONT…). */
  kill(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  /** Waits (bounded) for the process to exit after a kill. */
  async waitExit(timeoutMs = 10_000): Promise<void> {
    await Promise.race([this.exited, sleep(timeoutMs).then(() => Promise.reject(new Error(`${this.name} did not exit in ${timeoutMs} ms`)))]);
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
    this.kill('SIGTERM');
    try {
      await this.waitExit(10_000);
    } catch {
      this.kill('SIGKILL');
      await this.waitExit(5_000);
    }
    live.delete(this);
  }
}

export async function stopAll(procs: EngineProc[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

/** `<dir>/tmp`, created: the process's own temporary directory. */
export function privateTmp(dir: string): string {
  const tmp = path.join(dir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  return tmp;
}

export function makeDir(root: string, name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export async function startRedis(root: string, name: string, extra: string[] = []): Promise<EngineProc> {
  const host = allocHost();
  const dir = makeDir(root, name);
  // Outgoing connections would leave from 127.0.0.1 and every replica would look alike to the
  // primary and to Sentinel: announce the own address, and connect from it.
  const args = ['--bind', host, '--port', '6379', '--replica-announce-ip', host, '--bind-source-addr', host, '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--logfile', path.join(dir, 'redis.log'), ...extra];
  return await new EngineProc(name, host, 6379, dir, 'redis-server', args).start();
}

/** A Sentinel monitoring `masterName` at `primary` with short timers, so tests fail over in seconds. */
export async function startSentinel(
  root: string,
  name: string,
  masterName: string,
  primary: { host: string; port: number },
  quorum: number,
): Promise<EngineProc> {
  const host = allocHost();
  const dir = makeDir(root, name);
  const conf = path.join(dir, 'sentinel.conf');
  fs.writeFileSync(
    conf,
    [
      `bind ${host}`,
      'port 26379',
      `dir ${dir}`,
      'protected-mode no',
      `sentinel announce-ip ${host}`,
      `bind-source-addr ${host}`,
      `logfile ${path.join(dir, 'sentinel.log')}`,
      `sentinel monitor ${masterName} ${primary.host} ${primary.port} ${quorum}`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 10000`,
      `sentinel parallel-syncs ${masterName} 2`,
      '',
    ].join('\n'),
  );
  return await new EngineProc(name, host, 26379, dir, 'redis-sentinel', [conf]).start();
}

/**
 * A MariaDB data directory with a TCP root account (no password) and an `app` account that may
 * write the `test` schema but lacks READ_ONLY ADMIN, so read_only=1 really stops it. Built once
 * per root and copied per server.
 */
const templates = new Map<string, Promise<string>>();
function templateDatadir(root: string): Promise<string> {
  let p = templates.get(root);
  if (!p) {
    p = buildTemplate(root);
    templates.set(root, p);
  }
  return p;
}

async function buildTemplate(root: string): Promise<string> {
  const tpl = path.join(root, 'mariadb-template');
  if (fs.existsSync(path.join(tpl, '.ready'))) return tpl;
  fs.mkdirSync(tpl, { recursive: true });
  // Outside the datadir (it is copied per server), private to the build.
  const tmp = privateTmp(path.join(root, 'mariadb-template-build'));
  const env = { ...process.env, TMPDIR: tmp };
  await run('mariadb-install-db', ['--no-defaults', `--datadir=${tpl}`, `--tmpdir=${tmp}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 120_000, env });
  const sock = path.join(root, 'tpl.sock');
  const child = spawn('/usr/sbin/mariadbd', ['--no-defaults', `--datadir=${tpl}`, `--tmpdir=${tmp}`, `--socket=${sock}`, '--skip-networking', '--user=root', `--log-error=${path.join(root, 'tpl.err')}`], { env, detached: true, stdio: 'ignore' });
  try {
    await waitFor('template mariadbd socket', async () => fs.existsSync(sock), { timeoutMs: 60_000 });
    const sql = [
      "CREATE USER 'root'@'%' IDENTIFIED BY ''",
      "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION",
      'CREATE DATABASE test',
      "CREATE USER 'app'@'%' IDENTIFIED BY 'app'",
      "GRANT ALL ON test.* TO 'app'@'%'",
      'CREATE TABLE test.writes (id INT PRIMARY KEY, v VARCHAR(32)) ENGINE=InnoDB',
    ].join(';');
    await waitFor('template mariadbd accepting SQL', async () => {
      await run('mariadb', [`--socket=${sock}`, '-uroot', '-e', 'SELECT 1'], { timeout: 5_000 });
      return true;
    }, { timeoutMs: 60_000, intervalMs: 200 });
    await run('mariadb', [`--socket=${sock}`, '-uroot', '-e', sql], { timeout: 30_000 });
    await run('mariadb-admin', [`--socket=${sock}`, '-uroot', 'shutdown'], { timeout: 60_000 });
  } finally {
    await waitFor('template mariadbd exit', async () => child.exitCode !== null || child.signalCode !== null, { timeoutMs: 60_000 }).catch(() => {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    });
  }
  fs.writeFileSync(path.join(tpl, '.ready'), '');
  return tpl;
}

export async function startMariadb(root: string, name: string, serverId: number, extra: string[] = []): Promise<EngineProc> {
  const tpl = await templateDatadir(root);
  const host = allocHost();
  const dir = makeDir(root, name);
  const data = path.join(dir, 'data');
  fs.cpSync(tpl, data, { recursive: true });
  const args = [
    '--no-defaults',
    `--datadir=${data}`,
    `--socket=${path.join(dir, 'mysqld.sock')}`,
    `--pid-file=${path.join(dir, 'mysqld.pid')}`,
    `--tmpdir=${privateTmp(dir)}`,
    `--log-error=${path.join(dir, 'error.log')}`,
    `--bind-address=${host}`,
    '--port=3306',
    '--user=root',
    `--server-id=${serverId}`,
    '--log-bin=mysql-bin',
    '--log-slave-updates',
    '--binlog-format=ROW',
    '--gtid-strict-mode=1',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=32M',
    '--innodb-flush-log-at-trx-commit=1',
    '--sync-binlog=1',
    '--skip-slave-start',
    ...extra,
  ];
  return await new EngineProc(name, host, 3306, dir, '/usr/sbin/mariadbd', args).start(60_000);
}
