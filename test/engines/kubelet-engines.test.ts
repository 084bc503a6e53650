// test/kubelet/engines.ts (the command lines the test kubelet and the engine tests run) keeps
// engines that share one machine apart: every engine process gets its own temporary directory,
// and MariaDB templates asked for at once are built once. A fresh clone's first `./scripts/test`
// failed in test/engines/mysql.test.ts: three servers started at once each started a template
// build, and mariadbd deletes every `#sql*` file in its tmpdir when it starts, which was the
// shared /tmp ("Could not remove temporary table '/tmp/#sql-temptable-…'").
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureMariadbTemplate, prepareEngine, type EngineKind } from '../kubelet/engines.js';
import { EngineFarm } from './helpers.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-kubelet-engines-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('engine processes on one machine do not share temporary state', () => {
  it('every engine kind runs with TMPDIR in its own directory; mariadbd also with --tmpdir', () => {
    const kinds: Array<[EngineKind, string | undefined]> = [
      ['redis', undefined],
      ['sentinel', undefined],
      ['twemproxy', 'x:\n  listen: 0.0.0.0:6379\n'],
      ['haproxy', 'frontend f\n  bind :3306\n'],
      ['mariadb', undefined],
    ];
    for (const [kind, config] of kinds) {
      const dir = path.join(root, `spec-${kind}`);
      const tpl = path.join(root, 'empty-template');
      fs.mkdirSync(tpl, { recursive: true });
      const spec = prepareEngine({ kind, ip: '127.0.0.1', port: 1, dir, ...(config !== undefined ? { config } : {}) }, tpl);
      expect(spec.env?.['TMPDIR'], kind).toBe(path.join(dir, 'tmp'));
      expect(fs.statSync(path.join(dir, 'tmp')).isDirectory(), kind).toBe(true);
      if (kind === 'mariadb') expect(spec.args).toContain(`--tmpdir=${path.join(dir, 'tmp')}`);
    }
  });

  it('callers asking for one template at once share one build', async () => {
    const cache = path.join(root, 'template-cache');
    const a = ensureMariadbTemplate(cache);
    const b = ensureMariadbTemplate(cache);
    expect(b).toBe(a);
    const dir = await a;
    expect(fs.existsSync(path.join(dir, 'mysql'))).toBe(true);
    // One build directory was made and renamed into place: nothing else is left in the cache.
    expect(fs.readdirSync(cache)).toEqual([path.basename(dir)]);
    expect(await ensureMariadbTemplate(cache)).toBe(dir);
  });

  it("MariaDB servers started at once on a fresh cache leave the system temp dir's #sql files alone", async () => {
    // A private stand-in for the system temp dir: engines that fall back to it (TMPDIR, then /tmp)
    // would clean it when they start.
    const system = path.join(root, 'system-tmp');
    fs.mkdirSync(system);
    const canary = path.join(system, '#sql-temptable-canary.MAI');
    fs.writeFileSync(canary, 'another process’s temporary table');
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = system;
    const farm = new EngineFarm(); // its root and template cache are under `system` too: a fresh build
    try {
      const servers = await Promise.all([0, 1, 2].map((i) => farm.start('mariadb', `iso-${i}`, { serverId: i + 1 })));
      const tmpdirs = await Promise.all(
        servers.map(async (s) => {
          const c = await mysql.createConnection({ host: s.target.host, port: s.target.port, user: 'root', connectTimeout: 3_000 });
          try {
            const [rows] = await c.query('SELECT @@tmpdir AS t');
            return String((rows as Array<{ t: string }>)[0]?.t);
          } finally {
            c.destroy();
          }
        }),
      );
      expect(fs.existsSync(canary), 'a starting mariadbd deleted a #sql file in the shared temp dir').toBe(true);
      expect(tmpdirs).toEqual(servers.map((s) => path.join(s.dir, 'tmp')));
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
      await farm.stopAll();
    }
  });
});
