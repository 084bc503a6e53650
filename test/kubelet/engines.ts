// Command lines for the real engine processes the test kubelet (and the engine tests) run.
// Each engine gets its config file (the rendered ConfigMap file, or a minimal one) in the pod's
// directory, and the command line overrides what must differ on one machine: the bind address,
// the port, the data directory, pid and log files, and the addresses the engine announces.
import { execFile } from 'node:child_process';
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
  const base = { cwd: inst.dir, logFile };
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

function run(cmd: string, args: string[], input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 60_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

const templates = new Map<string, Promise<string>>();

const isTemplate = (dir: string): boolean => fs.existsSync(path.join(dir, 'mysql', 'global_priv.frm')) || fs.existsSync(path.join(dir, 'mysql', 'global_priv.MAI'));

/**
 * A MariaDB datadir initialised once (per cache dir) and copied for every pod:
 * mariadb-install-db takes ~1 s and 20 MB; a copy takes milliseconds. It has root@'%' without
 * a password (tests reach only local addresses) so replicas can connect from their own address.
 * Built in a private directory and renamed into place, so parallel test processes sharing the
 * cache dir never see a half-built template.
 */
export function ensureMariadbTemplate(cacheDir = path.join(os.tmpdir(), `dbtopo-mariadb-template-${process.pid}`)): Promise<string> {
  const dir = path.join(cacheDir, 'datadir');
  let p = templates.get(cacheDir);
  // Someone may have removed the cache since: check it is still there.
  if (p !== undefined && !isTemplate(dir)) p = undefined;
  if (p === undefined) {
    p = (async () => {
      if (isTemplate(dir)) return dir;
      fs.mkdirSync(cacheDir, { recursive: true });
      const build = fs.mkdtempSync(path.join(cacheDir, 'build-'));
      try {
        await run('mariadb-install-db', [
          '--no-defaults',
          `--datadir=${build}`,
          '--auth-root-authentication-method=normal',
          '--skip-test-db',
          '--user=root',
          ...MARIADB_SIZING,
        ]);
        await run(
          '/usr/sbin/mariadbd',
          ['--no-defaults', '--bootstrap', `--datadir=${build}`, '--user=root', ...MARIADB_SIZING],
          // Grant tables are off in bootstrap mode, so the account row is written directly (as mariadb-install-db does).
          'USE mysql;\nINSERT INTO global_priv (Host, User, Priv) VALUES ' +
            `('%', 'root', '{"access":18446744073709551615,"plugin":"mysql_native_password","authentication_string":""}');\n`,
        );
        try {
          fs.renameSync(build, dir);
        } catch (err) {
          // Another process finished first: use its template.
          if (!isTemplate(dir)) throw err;
        }
      } finally {
        fs.rmSync(build, { recursive: true, force: true });
      }
      return dir;
    })();
    templates.set(cacheDir, p);
    p.catch(() => templates.delete(cacheDir));
  }
  return p;
}
