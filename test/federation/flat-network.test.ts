// The flat pod network of several test kubelets (test/kubelet/flat-network.ts) and its
// partitions, with no Kubernetes: three pod networks (subnets A, B, C) joined to one fabric, real
// redis-server processes on pod addresses, and TCP connections opened from inside the pod
// networks. Shows: pods of different subnets reach each other directly, from an address of their
// own subnet; the host reaches every pod; partition(A, B) cuts A↔B both ways (silently: a
// connect times out) and nothing else (A↔A, A↔C, host↔pods stay); a replication link A→B goes
// down under it and comes back after heal(); destroy/stop leave no namespace, link, rule or owner
// file; an abandoned fabric of a killed run is removed by the next start.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../cluster/helpers.js';
import { prepareEngine } from '../kubelet/engines.js';
import { FlatNetwork, cidrOf } from '../kubelet/flat-network.js';
import { portOpen, waitForPort } from '../kubelet/net.js';
import { PodNetwork, ownerFile } from '../kubelet/network.js';
import { Supervisor } from '../kubelet/supervisor.js';

const netnsList = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n !== '');
const hostLinks = (): string[] => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '').filter((n) => n !== '');

const CONNECT = `
const net = require('node:net');
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
const t = setTimeout(() => { console.log('timeout'); process.exit(0); }, Number(ms));
s.on('connect', () => { console.log('connected ' + s.localAddress); process.exit(0); });
s.on('error', (e) => { clearTimeout(t); console.log(e.code); process.exit(0); });
`;

/** Opens a TCP connection from inside `netns`: 'connected <local address>', 'timeout' or an error code. */
function connectFrom(netns: string, host: string, port: number, timeoutMs = 1_500): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', netns, process.execPath, '-e', CONNECT, host, String(port), String(timeoutMs)], { timeout: timeoutMs + 10_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout.trim());
    });
  });
}

describe('flat pod network across kubelets, partitions', () => {
  const log = (m: string): void => {
    if (process.env['DBTOPO_E2E_DEBUG'] !== undefined) process.stderr.write(`[flat] ${m}\n`);
  };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-flat-test-'));
  let flat: FlatNetwork;
  let nets: { a: PodNetwork; b: PodNetwork; c: PodNetwork };
  const engines: Supervisor[] = [];
  const clients: Redis[] = [];
  const ip = { a1: '', a2: '', b1: '', c1: '' };
  let names: string[] = [];

  const redisOn = (net: PodNetwork, name: string, addr: string): void => {
    const spec = prepareEngine({ kind: 'redis', ip: addr, port: 6379, dir: path.join(work, name), config: 'appendonly no\nsave ""\nrepl-diskless-sync-delay 0\n' });
    const sup = new Supervisor({ ...spec, ...net.wrap(spec.command, spec.args) });
    sup.start();
    engines.push(sup);
  };
  const client = (host: string): Redis => {
    const c = new Redis({ host, port: 6379, maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  const link = async (replica: string): Promise<string> => /master_link_status:(\w+)/.exec(String(await client(replica).info('replication')))?.[1] ?? 'none';

  beforeAll(async () => {
    flat = new FlatNetwork(process.pid, log);
    nets = {
      a: new PodNetwork(process.pid + 1, log, { flat }),
      b: new PodNetwork(process.pid + 2, log, { flat }),
      c: new PodNetwork(process.pid + 3, log, { flat }),
    };
    names = [flat.netns, nets.a.netns, nets.b.netns, nets.c.netns];
    ip.a1 = nets.a.addressOf('ns', 'a1');
    ip.a2 = nets.a.addressOf('ns', 'a2');
    ip.b1 = nets.b.addressOf('ns', 'b1');
    ip.c1 = nets.c.addressOf('ns', 'c1');
    nets.a.up(ip.a1);
    nets.a.up(ip.a2);
    nets.b.up(ip.b1);
    nets.c.up(ip.c1);
    redisOn(nets.a, 'a1', ip.a1);
    redisOn(nets.a, 'a2', ip.a2);
    redisOn(nets.b, 'b1', ip.b1);
    redisOn(nets.c, 'c1', ip.c1);
    for (const addr of Object.values(ip)) await waitForPort(addr, 6379, 30_000, `redis-server on ${addr}`);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(engines.map((e) => e.stop(2_000)));
    for (const n of Object.values(nets ?? {})) n.downAll();
    flat?.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('pods of different subnets reach each other directly, from their own address; the host reaches all', async () => {
    expect(new Set([nets.a.cidr, nets.b.cidr, nets.c.cidr]).size).toBe(3);
    expect(flat.blocks).toEqual([nets.a.block, nets.b.block, nets.c.block].sort((x, y) => x - y));
    // From A's namespace to B's pod: the source is an address of A's subnet (not B's own, as it
    // would be with every pod address in one namespace).
    const ab = await connectFrom(nets.a.netns, ip.b1, 6379);
    expect(ab).toMatch(/^connected /);
    expect(ab.split(' ')[1]?.startsWith(`10.244.${nets.a.block}.`), ab).toBe(true);
    const ba = await connectFrom(nets.b.netns, ip.a1, 6379);
    expect(ba.split(' ')[1]?.startsWith(`10.244.${nets.b.block}.`), ba).toBe(true);
    expect(await connectFrom(nets.c.netns, ip.a2, 6379)).toMatch(/^connected /);
    for (const addr of Object.values(ip)) expect(await portOpen(addr, 6379, 1_000), addr).toBe(true);
    // A replica in A follows a primary in B (Redis binds its source to its pod address).
    expect(await client(ip.a1).replicaof(ip.b1, '6379')).toBe('OK');
    await eventually('a1 replicating from b1', async () => ((await link(ip.a1)) === 'up' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    await client(ip.b1).set('k', 'before');
    await eventually('k replicated', async () => ((await client(ip.a1).get('k')) === 'before' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
  });

  it('partition(A, B) cuts A↔B both ways and nothing else; heal() restores it', async () => {
    // The replica notices a silent link after repl-timeout (60 s by default).
    await client(ip.a1).config('SET', 'repl-timeout', '3');
    await client(ip.b1).config('SET', 'repl-timeout', '3');
    flat.partition(nets.a.block, nets.b.block);
    expect(flat.partitions()).toEqual([[Math.min(nets.a.block, nets.b.block), Math.max(nets.a.block, nets.b.block)]]);
    expect(flat.rules()).toEqual([
      `-A DBTOPO-PARTITION -s ${cidrOf(nets.a.block)} -d ${cidrOf(nets.b.block)} -j DROP`,
      `-A DBTOPO-PARTITION -s ${cidrOf(nets.b.block)} -d ${cidrOf(nets.a.block)} -j DROP`,
    ]);
    const t0 = performance.now();
    // cut, silently (a partition drops; it does not refuse)
    expect(await connectFrom(nets.a.netns, ip.b1, 6379)).toBe('timeout');
    expect(await connectFrom(nets.b.netns, ip.a1, 6379)).toBe('timeout');
    // untouched: inside A, A↔C, B↔C, the host to every pod
    expect(await connectFrom(nets.a.netns, ip.a2, 6379)).toMatch(/^connected /);
    expect(await connectFrom(nets.a.netns, ip.c1, 6379)).toMatch(/^connected /);
    expect(await connectFrom(nets.c.netns, ip.b1, 6379)).toMatch(/^connected /);
    for (const addr of Object.values(ip)) expect(await portOpen(addr, 6379, 1_000), addr).toBe(true);
    // the established replication link goes down within a bound
    await eventually('a1 link down under the partition', async () => ((await link(ip.a1)) === 'down' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    const downS = (performance.now() - t0) / 1000;
    await client(ip.b1).set('k', 'during');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await client(ip.a1).get('k')).toBe('before');

    flat.heal();
    expect(flat.rules()).toEqual([]);
    expect(flat.partitions()).toEqual([]);
    const t1 = performance.now();
    expect(await connectFrom(nets.a.netns, ip.b1, 6379)).toMatch(/^connected /);
    await eventually('a1 link up after heal', async () => ((await link(ip.a1)) === 'up' ? true : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    await eventually('k replicated after heal', async () => ((await client(ip.a1).get('k')) === 'during' ? true : undefined), { timeoutMs: 10_000, intervalMs: 100 });
    process.stderr.write(`[flat] replication link down ${downS.toFixed(1)} s after partition (repl-timeout 3 s), up ${((performance.now() - t1) / 1000).toFixed(1)} s after heal\n`);

    // heal(a, b) lifts one partition only
    flat.partition(nets.a.block, nets.b.block);
    flat.partition(nets.a.block, nets.c.block);
    flat.heal(nets.b.block, nets.a.block);
    expect(flat.rules()).toHaveLength(2);
    expect(await connectFrom(nets.a.netns, ip.b1, 6379)).toMatch(/^connected /);
    expect(await connectFrom(nets.a.netns, ip.c1, 6379, 1_000)).toBe('timeout');
    flat.heal();
  });

  it('stop removes every namespace, link, rule and owner file; a killed run\'s fabric goes at the next start', async () => {
    flat.partition(nets.a.block, nets.c.block);
    for (const c of clients.splice(0)) c.disconnect();
    await Promise.all(engines.splice(0).map((e) => e.stop(2_000)));
    const blocks = [nets.a.block, nets.b.block, nets.c.block];
    for (const n of Object.values(nets)) n.downAll();
    flat.destroy();
    await eventually('namespaces and links gone', async () => {
      const left = netnsList().filter((n) => names.includes(n));
      const links = hostLinks().filter((l) => blocks.some((b) => l === `dbtopo${b}`));
      return left.length === 0 && links.length === 0 ? true : undefined;
    }, { timeoutMs: 10_000, intervalMs: 100 });
    for (const n of names) expect(fs.existsSync(ownerFile(n)), ownerFile(n)).toBe(false);

    // A fabric whose owner died without its exit hook (a SIGKILLed run), with a rule in it.
    const dead = spawnSync(process.execPath, ['-e', 'process.pid'], { encoding: 'utf8' }).pid ?? 0;
    const left = 'dbtopo-flat-999';
    execFileSync('ip', ['netns', 'add', left]);
    fs.writeFileSync(ownerFile(left), String(dead));
    execFileSync('ip', ['netns', 'exec', left, 'iptables', '-w', '5', '-A', 'FORWARD', '-j', 'DROP']);
    expect(netnsList()).toContain(left);
    const next = new FlatNetwork(process.pid, log);
    try {
      expect(netnsList()).not.toContain(left);
      expect(fs.existsSync(ownerFile(left))).toBe(false);
    } finally {
      next.destroy();
      try {
        execFileSync('ip', ['netns', 'del', left], { stdio: 'pipe' });
      } catch {
        // removed, as expected
      }
      fs.rmSync(ownerFile(left), { force: true });
    }
    expect(netnsList()).not.toContain(next.netns);
  });
});
