// The config files the compiler writes into ConfigMaps are real: each is loaded by the installed
// engine (redis-server, redis-sentinel, nutcracker, haproxy, mariadbd) after the placeholder
// substitution the render-config init container does. Listen addresses and directories are
// pointed at a loopback address of a block this run claimed (never a fixed port on 127.0.0.1,
// which another run may hold) and a temp dir, and cluster DNS names at 127.0.0.1, by line
// replacement, the way the test kubelet runs them; each process gets its own TMPDIR.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haproxyCfg, myCnf, nutcrackerYml, redisConf, sentinelConf } from '../../compiler/expand/configmaps.js';
import { resolveTopology } from '../../compiler/resolve/index.js';
import type { Environment, Topology } from '../../schemas/types/index.js';
import { AddressPool } from '../kubelet/net.js';

const root = mkdtempSync(join(tmpdir(), 'dbtopo-configs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const env: Environment = { name: 'dev', namespace: 'db-{team}', memberClusters: [{ name: 'm', destination: { name: 'm' }, zones: ['a'] }] };
const credentials = { password: { name: 's', key: 'password' } };
const redis = resolveTopology(
  { name: 'cache', team: 'web', engine: 'redis', mode: 'sharded', version: '7.0.15', shards: 2, replicas: 2, proxy: { replicas: 1 }, sentinel: { replicas: 3, quorum: 2 }, credentials, parameters: { 'maxmemory-policy': 'allkeys-lru', hz: 20, 'lazyfree-lazy-eviction': true } } satisfies Topology,
  env,
  'topologies/cache.yaml',
);
const mysql = resolveTopology(
  { name: 'shop', team: 'web', engine: 'mysql', mode: 'primary-replica', version: '10.11', replicas: 2, replication: { mode: 'semi-sync' }, proxy: { replicas: 1 }, parameters: { max_connections: 200 } } satisfies Topology,
  env,
  'topologies/shop.yaml',
);

const addresses = new AddressPool();
afterAll(() => addresses.release());

/** Points a Redis-style config at an address of this run and a directory (the engine checks `dir` exists at load). */
function local(text: string, host: string, dir: string): string {
  return text.replace(/^bind .*$/m, `bind ${host}`).replace(/^dir .*$/m, `dir ${dir}`);
}

/** What the render-config init container does, plus cluster DNS names → 127.0.0.1. */
function render(text: string): string {
  return text
    .replaceAll('${POD_IP}', '127.0.0.1')
    .replaceAll('${POD_NAME}', 'x-0')
    .replaceAll('${SERVER_ID}', '1')
    .replaceAll('${PASSWORD}', 's3cret')
    .replace(/[a-z0-9-]+(\.[a-z0-9-]+)*\.svc\b/g, '127.0.0.1');
}

/** Starts `cmd` (TMPDIR: `tmp`), resolves with its output once `ready` shows up; fails if it exits first or after 15 s. */
function runUntil(cmd: string, args: string[], ready: RegExp, tmp: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    let out = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      if (err) reject(err);
      else resolve(out);
    };
    const timer = setTimeout(() => done(new Error(`${cmd} not ready within 15 s:\n${out}`)), 15_000);
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (ready.test(out)) done();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => done(new Error(`${cmd} exited with ${code} before it was ready:\n${out}`)));
  });
}

describe('rendered engine configs load in the real engines', () => {
  it('redis.conf: redis-server starts with it', async () => {
    const dir = join(root, 'redis');
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    const file = join(dir, 'redis.conf');
    writeFileSync(file, local(render(redisConf(redis)), addresses.allocate(), dir));
    await runUntil('redis-server', [file], /Ready to accept connections/, join(dir, 'tmp'));
  });

  it('sentinel.conf: redis-sentinel starts and monitors every shard', async () => {
    const dir = join(root, 'sentinel');
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    const file = join(dir, 'sentinel.conf');
    const shards = [0, 1].map((i) => ({ masterName: `cache-shard-${i}`, instanceSet: `cache-shard-${i}`, firstOrdinal: 0 }));
    writeFileSync(file, local(render(sentinelConf(redis, shards)), addresses.allocate(), dir));
    // Sentinel logs its masters in hash order: wait for both (waiting for shard-1 alone flaked).
    const out = await runUntil('redis-sentinel', [file], /^(?=[\s\S]*\+monitor master cache-shard-0)(?=[\s\S]*\+monitor master cache-shard-1)/, join(dir, 'tmp'));
    expect(out).toContain('+monitor master cache-shard-0');
  });

  it('nutcracker.yml: nutcracker accepts it', () => {
    const file = join(root, 'nutcracker.yml');
    writeFileSync(file, render(nutcrackerYml(redis, [{ shard: '0', instanceSet: 'cache-shard-0' }, { shard: '1', instanceSet: 'cache-shard-1' }])).replace('0.0.0.0:6379', `${addresses.allocate()}:6379`));
    const r = spawnSync('nutcracker', ['-t', '-c', file], { encoding: 'utf8', timeout: 10_000 });
    expect(`${r.stdout}${r.stderr}`).toMatch(/syntax is ok/);
    expect(r.status).toBe(0);
  });

  it('haproxy.cfg: haproxy -c accepts it', () => {
    const file = join(root, 'haproxy.cfg');
    writeFileSync(file, render(haproxyCfg(mysql, [{ shard: '0', instanceSet: 'shop-server' }])));
    const r = spawnSync('haproxy', ['-c', '-f', file], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('my.cnf: mariadbd accepts every option', () => {
    const file = join(root, 'my.cnf');
    writeFileSync(file, render(myCnf(mysql)));
    // --help --verbose parses the option file and fails on any unknown or malformed option.
    const r = spawnSync('/usr/sbin/mariadbd', [`--defaults-file=${file}`, '--help', '--verbose'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^read-only\s+TRUE/m);
    expect(r.stdout).toMatch(/^rpl-semi-sync-master-enabled\s+FALSE/m);
    expect(r.stdout).toMatch(/^rpl-semi-sync-slave-enabled\s+TRUE/m);
    // taken as written, not clamped: semi-sync that never falls back to async
    expect(r.stdout).toMatch(/^rpl-semi-sync-master-timeout\s+4294967295$/m);
    expect(r.stdout).toMatch(/^rpl-semi-sync-master-wait-point\s+AFTER_SYNC$/m);
    expect(r.stdout).toMatch(/^max-connections\s+200/m);
  });
});
