// A MariaDB server pod as the compiler renders it starts on an empty volume: its init-datadir
// init container (compiler/expand/mysql.ts) makes the data directory with the real
// mariadb-install-db, run as an unprivileged user the way the pod runs it (uid 999 in a pod; the
// machine's mysql user here), and the server then creates the admin account of the Secrets from
// its rendered init file (configmaps.ts mysqlInitSql) at every start. The script runs unchanged;
// only the two directories it is told about by DBTOPO_DATADIR / DBTOPO_CONFIG are the test's,
// and the server runs with the test kubelet's command line (its own address, port and files).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile.js';
import { parseSources, readRepo } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';
import type { KubeObject } from '../../schemas/types/index.js';
import { prepareEngine } from '../kubelet/engines.js';
import { AddressPool, waitForPort } from '../kubelet/net.js';
import { fillPlaceholders } from '../kubelet/render.js';
import { Supervisor } from '../kubelet/supervisor.js';

const EXAMPLE = path.join(import.meta.dirname, '..', '..', 'environments');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-mysql-init-'));
fs.chmodSync(root, 0o755); // mkdtemp's 0700 would keep the unprivileged user out
const addresses = new AddressPool(process.pid + 7919);
const running: Supervisor[] = [];
afterAll(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  addresses.release();
  fs.rmSync(root, { recursive: true, force: true });
});

/** The rendered server pod of billing-db in dev: its init-datadir script and its ConfigMap files. */
async function renderedServer(): Promise<{ script: string; files: Record<string, string> }> {
  const result = compileModel(validate(parseSources(await readRepo(EXAMPLE))), { env: 'dev' });
  const objects = result.files.map((f) => f.object as KubeObject & { spec?: Record<string, unknown>; data?: Record<string, string> });
  const set = objects.find((o) => o.kind === 'InstanceSet' && o.metadata.name === 'billing-db-server');
  const template = set?.spec?.['template'] as { spec: { initContainers: Array<{ name: string; command: string[] }>; volumes: Array<{ configMap?: { name: string } }> } } | undefined;
  if (!template) throw new Error('no billing-db-server InstanceSet in the dev compile');
  const init = template.spec.initContainers.map((c) => c.name);
  expect(init).toEqual(['render-config', 'init-datadir']);
  const script = template.spec.initContainers[1]?.command[2] ?? '';
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === template.spec.volumes.find((v) => v.configMap)?.configMap?.name);
  if (!cm?.data?.['my.cnf'] || !cm.data['init.sql']) throw new Error('the server ConfigMap lacks my.cnf or init.sql');
  return { script, files: cm.data };
}

const MYSQL_USER = 'mysql'; // the machine's MariaDB service user: unprivileged, as the pod's uid 999

function runInit(script: string, dirs: { data: string; config: string; tmp: string }): { status: number | null; out: string } {
  const r = spawnSync('setpriv', ['--reuid', MYSQL_USER, '--regid', MYSQL_USER, '--clear-groups', 'sh', '-c', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DBTOPO_DATADIR: dirs.data, DBTOPO_CONFIG: dirs.config, TMPDIR: dirs.tmp },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the rendered MariaDB server pod on an empty volume', () => {
  it('initialises its data directory unprivileged, creates the admin account at start, and keeps both across restarts', async () => {
    const { script, files } = await renderedServer();
    const pod = path.join(root, 'billing-db-server-0');
    const dirs = { data: path.join(pod, 'data'), config: path.join(pod, 'config'), tmp: path.join(pod, 'tmp') };
    for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
    spawnSync('chown', ['-R', `${MYSQL_USER}:${MYSQL_USER}`, pod]);
    const ip = addresses.allocate();
    const port = 3306;
    const secrets = { username: 'billing-admin', password: 'first-pass' };
    const render = (text: string, s: typeof secrets): string => fillPlaceholders(text, { podIP: ip, podName: 'billing-db-server-0', ...s });
    // What render-config leaves in the config volume.
    const writeConfig = (s: typeof secrets): void => {
      for (const name of ['my.cnf', 'init.sql']) fs.writeFileSync(path.join(dirs.config, name), render(files[name] ?? '', s));
    };
    writeConfig(secrets);
    // An earlier attempt killed half-way: its staging directory and a file it had moved already.
    fs.mkdirSync(path.join(dirs.data, '.dbtopo-initdb', 'junk'), { recursive: true });
    fs.writeFileSync(path.join(dirs.data, 'ibdata1'), 'half');
    spawnSync('chown', ['-R', `${MYSQL_USER}:${MYSQL_USER}`, dirs.data]);

    const first = runInit(script, dirs);
    expect(first.status, first.out).toBe(0);
    expect(first.out).toContain('initialising the data directory');
    expect(fs.existsSync(path.join(dirs.data, 'mysql'))).toBe(true);
    expect(fs.existsSync(path.join(dirs.data, '.dbtopo-initdb'))).toBe(false);
    expect(fs.statSync(path.join(dirs.data, 'mysql')).uid).toBe(Number(spawnSync('id', ['-u', MYSQL_USER], { encoding: 'utf8' }).stdout.trim()));

    const start = async (s: typeof secrets): Promise<Supervisor> => {
      // prepareEngine copies a template only into a directory without system tables; this one has them.
      const spec = prepareEngine({ kind: 'mariadb', ip, port, dir: pod, config: render(files['my.cnf'] ?? '', s), initSql: render(files['init.sql'] ?? '', s) }, '(unused: initialised above)');
      const sup = new Supervisor(spec);
      running.push(sup);
      sup.start();
      await waitForPort(ip, port, 30_000, 'mariadbd billing-db-server-0');
      return sup;
    };
    const connect = (s: typeof secrets) => mysql.createConnection({ host: ip, port, user: s.username, password: s.password, connectTimeout: 3_000 });
    const stop = async (sup: Supervisor): Promise<void> => {
      await sup.stop();
      running.splice(running.indexOf(sup), 1);
    };

    let server = await start(secrets);
    const conn = await connect(secrets);
    try {
      const [rows] = await conn.query('SELECT CURRENT_USER() AS u, @@read_only AS ro');
      expect(rows).toEqual([{ u: 'billing-admin@%', ro: 1 }]);
      await conn.query('SET GLOBAL read_only = 0');
      await conn.query('CREATE DATABASE app');
      await conn.query('CREATE TABLE app.t (id INT PRIMARY KEY)');
      await conn.query('INSERT INTO app.t VALUES (1), (2)');
    } finally {
      conn.destroy();
    }
    await stop(server);

    // The pod again, on the same volume, after the Secret's password changed.
    const rotated = { ...secrets, password: 'second-pass' };
    writeConfig(rotated);
    const again = runInit(script, dirs);
    expect(again.status, again.out).toBe(0);
    expect(again.out).toContain('already initialised');
    server = await start(rotated);
    const conn2 = await connect(rotated);
    try {
      const [rows] = await conn2.query('SELECT COUNT(*) AS n FROM app.t');
      expect(rows).toEqual([{ n: 2 }]);
    } finally {
      conn2.destroy();
    }
    await expect(connect(secrets)).rejects.toThrow(/Access denied/);
    await stop(server);
  });
});
