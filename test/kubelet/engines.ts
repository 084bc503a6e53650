// Command lines for the real engine processes the test kubelet (and the engine tests) run.
// Each engine gets its config file (the rendered ConfigMap file, or a minimal one) in the pod's
// directory, and the command line overrides what must differ on one machine: the bind address,
// the port, the data directory, the temporary directory (TMPDIR for every engine, and MariaDB's
// --tmpdir: mariadbd deletes every `#sql*` file in its tmpdir when it starts, so servers sharing
// /tmp destroy each other's temporary tables), socket, pid and log files, and the addresses the
// engine announces. A container has its own /tmp; here each pod has `<pod dir>/tmp`.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProcessSpec } from './supervisor.js';

export type EngineKind = 'redis' | 'sentinel' | 'mariadb' | 'twemproxy' | 'haproxy';

export interface EngineInstance {
  kind: EngineKind;
  /** The pod's address (127.x.y.z). */
  ip: string;
  port: number;
  /** The pod's own directory: config, data, logs. */
  dir: string;
  /** Rendered config file content; a minimal default when absent (not for proxies). */
  config?: string;
  /** MariaDB server-id. */
  serverId?: number;
  /** MariaDB: SQL run at every start (init-file), e.g. accounts from Secrets. */
  initSql?: string;
}

const MARIADB_SIZING = ['--innodb-log-file-size=4M', '--innodb-buffer-pool-size=16M'];

/** Writes the files `inst` needs and returns how to run it. */
export function prepareEngine(inst: EngineInstance, mariadbTemplate?: string): ProcessSpec {
  fs.mkdirSync(inst.dir, { recursive: true });
  const data = path.join(inst.dir, 'data');
  fs.mkdirSync(data, { recursive: true });
  const logFile = path.join(inst.dir, 'engine.log');
  const tmp = path.join(inst.dir, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  const base = { cwd: inst.dir, logFile, env: { TMPDIR: tmp } };
  switch (inst.kind) {
    case 'redis': {
      const conf = path.join(inst.dir, 'redis.conf');
      // Redis chdirs to `dir` while it reads the file, so the container path must go before it starts.
      fs.writeFileSync(conf, localDir(inst.config ?? 'appendonly no\nsave ""\nrepl-diskless-sync-delay 0\n', data));
      return {
        ...base,
        command: 'redis-server',
        args: [
          conf,
          ...['--bind', inst.ip, '--port', String(inst.port), '--dir', data, '--daemonize', 'no'],
          ...['--pidfile', path.join(inst.dir, 'redis.pid'), '--logfile', '', '--protected-mode', 'no'],
          // All pods share the container port, so replicas must announce (and connect from) their own IP.
          ...['--replica-announce-ip', inst.ip, '--bind-source-addr', inst.ip],
        ],
      };
    }
    case 'sentinel': {
      // Sentinel rewrites its config file: it must be a writable copy in the pod dir.
      const conf = path.join(inst.dir, 'sentinel.conf');
      const text = localDir(inst.config ?? '', inst.dir);
      fs.writeFileSync(conf, `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}sentinel announce-ip ${inst.ip}\n`);
      return {
        ...base,
        command: 'redis-server',
        args: [
          conf,
          '--sentinel',
          ...['--bind', inst.ip, '--port', String(inst.port), '--dir', inst.dir, '--daemonize', 'no'],
          ...['--pidfile', path.join(inst.dir, 'sentinel.pid'), '--logfile', '', '--protected-mode', 'no'],
          ...['--bind-source-addr', inst.ip],
        ],
      };
    }
    case 'mariadb': {
      if (mariadbTemplate === undefined) throw new Error('mariadb needs a template datadir: call ensureMariadbTemplate() first');
      if (!fs.existsSync(path.join(data, 'mysql'))) fs.cpSync(mariadbTemplate, data, { recursive: true });
      const cnf = path.join(inst.dir, 'my.cnf');
      fs.writeFileSync(cnf, inst.config ?? '[mysqld]\n');
      const args = [
        `--defaults-file=${cnf}`,
        `--datadir=${data}`,
        `--socket=${path.join(inst.dir, 'mysqld.sock')}`,
        `--pid-file=${path.join(inst.dir, 'mysqld.pid')}`,
        `--tmpdir=${tmp}`,
        `--port=${inst.port}`,
        `--bind-address=${inst.ip}`,
        `--report-host=${inst.ip}`,
        `--log-error=${path.join(inst.dir, 'mysqld.err')}`,
        '--user=root',
        ...MARIADB_SIZING,
      ];
      // Only when the config does not set them: the rendered my.cnf carries its own.
      const cfg = inst.config ?? '';
      if (!/^\s*server[-_]id\s*=/m.test(cfg)) args.push(`--server-id=${inst.serverId ?? 1}`);
      if (!/^\s*log[-_]bin\b/m.test(cfg)) args.push('--log-bin=mysql-bin', '--log-slave-updates=ON', '--binlog-format=ROW');
      if (inst.initSql !== undefined) {
        const init = path.join(inst.dir, 'init.sql');
        fs.writeFileSync(init, inst.initSql);
        args.push(`--init-file=${init}`);
      }
      return { ...base, command: '/usr/sbin/mariadbd', args };
    }
    case 'twemproxy': {
      if (inst.config === undefined) throw new Error('twemproxy needs a rendered nutcracker.yml');
      const conf = path.join(inst.dir, 'nutcracker.yml');
      fs.writeFileSync(conf, rebindListen(inst.config, inst.ip, inst.port));
      return {
        ...base,
        command: 'nutcracker',
        args: ['-c', conf, '-p', path.join(inst.dir, 'nutcracker.pid'), '-a', inst.ip],
      };
    }
    case 'haproxy': {
      if (inst.config === undefined) throw new Error('haproxy needs a rendered haproxy.cfg');
      const conf = path.join(inst.dir, 'haproxy.cfg');
      fs.writeFileSync(conf, inst.config.replace(/^(\s*bind\s+)\S*:(\d+)/gm, `$1${inst.ip}:${inst.port}`));
      return { ...base, command: 'haproxy', args: ['-db', '-f', conf] };
    }
  }
}

/** Redis/Sentinel `dir <container path>` lines → the pod's directory. */
export function localDir(conf: string, dir: string): string {
  return conf.replace(/^(\s*dir\s+).*$/gm, `$1${dir}`);
}

/** nutcracker's `listen: host:port` lines → the pod's address. */
export function rebindListen(yml: string, ip: string, port: number): string {
  return yml.replace(/^(\s*listen:\s*)\S+$/gm, `$1${ip}:${port}`);
}

function run(cmd: string, args: string[], env: Record<string, string>, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 60_000, env: { ...process.env, ...env } }, (err, _out, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const TEMPLATE_SQL =
  'USE mysql;\nINSERT INTO global_priv (Host, User, Priv) VALUES ' +
  `('%', 'root', '{"access":18446744073709551615,"plugin":"mysql_native_password","authentication_string":""}');\n`;

/** Builds in progress or done, per cache dir; `done` once the promise has settled. */
const templates = new Map<string, { p: Promise<string>; done: boolean }>();

const isTemplate = (dir: string): boolean => fs.existsSync(path.join(dir, 'mysql', 'global_priv.frm')) || fs.existsSync(path.join(dir, 'mysql', 'global_priv.MAI'));

let recipe: string | undefined;
/**
 * What the template depends on: the installed server's version and this recipe. The cache dir
 * may outlive a run (and be shared by runs): a template from another MariaDB or another recipe
 * is not reused.
 */
function recipeKey(): string {
  if (recipe === undefined) {
    let version = 'unknown';
    try {
      version = execFileSync('/usr/sbin/mariadbd', ['--version'], { encoding: 'utf8', timeout: 20_000 }).trim();
    } catch {
      // reported by the build itself
    }
    recipe = createHash('sha256').update(JSON.stringify([version, MARIADB_SIZING, TEMPLATE_SQL])).digest('hex').slice(0, 12);
  }
  return recipe;
}

/**
 * A MariaDB datadir initialised once (per cache dir) and copied for every pod:
 * mariadb-install-db takes ~1 s and 20 MB; a copy takes milliseconds. It has root@'%' without
 * a password (tests reach only local addresses) so replicas can connect from their own address.
 * Callers in one process that ask at once share one build (they used to start one each: three
 * concurrent mariadb-install-db on a fresh machine). Built in a private directory, with a private
 * tmpdir, and renamed into place, so parallel test processes sharing the cache dir never see a
 * half-built template and never delete each other's temporary tables.
 */
export function ensureMariadbTemplate(cacheDir = path.join(os.tmpdir(), `dbtopo-mariadb-template-${process.pid}`)): Promise<string> {
  const dir = path.join(cacheDir, `datadir-${recipeKey()}`);
  let entry = templates.get(cacheDir);
  // A finished build whose cache someone removed since: build again. A build in progress is shared.
  if (entry !== undefined && entry.done && !isTemplate(dir)) entry = undefined;
  if (entry === undefined) {
    const e = { p: buildTemplate(cacheDir, dir), done: false };
    e.p.then(
      () => (e.done = true),
      () => {
        e.done = true;
        if (templates.get(cacheDir) === e) templates.delete(cacheDir);
      },
    );
    templates.set(cacheDir, e);
    entry = e;
  }
  return entry.p;
}

async function buildTemplate(cacheDir: string, dir: string): Promise<string> {
  if (isTemplate(dir)) return dir;
  fs.mkdirSync(cacheDir, { recursive: true });
  const build = fs.mkdtempSync(path.join(cacheDir, 'build-'));
  const tmp = fs.mkdtempSync(path.join(cacheDir, 'tmp-'));
  const env = { TMPDIR: tmp };
  try {
    await run(
      'mariadb-install-db',
      ['--no-defaults', `--datadir=${build}`, `--tmpdir=${tmp}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--user=root', ...MARIADB_SIZING],
      env,
    );
    // Grant tables are off in bootstrap mode, so the account row is written directly (as mariadb-install-db does).
    await run('/usr/sbin/mariadbd', ['--no-defaults', '--bootstrap', `--datadir=${build}`, `--tmpdir=${tmp}`, '--user=root', ...MARIADB_SIZING], env, TEMPLATE_SQL);
    try {
      fs.renameSync(build, dir);
    } catch (err) {
      // Another process finished first: use its template.
      if (!isTemplate(dir)) throw err;
    }
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}
