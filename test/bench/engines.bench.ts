// Engine driver figures against real processes: role-probe latency (pooled connection) for Redis
// and MariaDB, and the time follow()/promote() take to rewire a pair. Prints, asserts nothing.
import { MysqlDriver } from '../../controller/engines/mysql/replication.js';
import { RedisDriver } from '../../controller/engines/redis/replication.js';
import type { ServerDriver } from '../../controller/engines/types.js';
import type { EngineSpec } from '../../schemas/types/index.js';
import { EngineFarm, type Running } from '../engines/helpers.js';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

async function probeLatency(name: string, driver: ServerDriver, r: Running, n: number): Promise<void> {
  await driver.probe(r.target, 2_000); // connect once; the loop measures the pooled path
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const p = await driver.probe(r.target, 2_000);
    times.push(performance.now() - t0);
    if (!p.reachable) throw new Error(`${name} probe failed: ${p.error ?? ''}`);
  }
  console.log(`${name} probe: n=${n} p50=${pct(times, 50).toFixed(2)} ms p99=${pct(times, 99).toFixed(2)} ms max=${Math.max(...times).toFixed(2)} ms`);
}

async function rewire(name: string, driver: ServerDriver, a: Running, b: Running, spec: EngineSpec): Promise<void> {
  const t0 = performance.now();
  await driver.follow(b.target, a.target, spec);
  const t1 = performance.now();
  await driver.follow(b.target, a.target, spec); // idempotent no-op
  const t2 = performance.now();
  await driver.promote(b.target, spec);
  const t3 = performance.now();
  console.log(`${name}: follow ${(t1 - t0).toFixed(1)} ms, follow again (no-op) ${(t2 - t1).toFixed(1)} ms, promote ${(t3 - t2).toFixed(1)} ms`);
}

export default async function main(): Promise<void> {
  const farm = new EngineFarm();
  const redis = new RedisDriver();
  const mysql = new MysqlDriver();
  try {
    const t0 = performance.now();
    const [ra, rb] = await Promise.all([farm.start('redis', 'bench-r0'), farm.start('redis', 'bench-r1')]);
    const t1 = performance.now();
    const [ma, mb] = await Promise.all([farm.start('mariadb', 'bench-m0', { serverId: 1 }), farm.start('mariadb', 'bench-m1', { serverId: 2 })]);
    const t2 = performance.now();
    console.log(`start 2 redis-server: ${(t1 - t0).toFixed(0)} ms; start 2 mariadbd (template datadir copy + boot): ${(t2 - t1).toFixed(0)} ms`);
    await probeLatency('redis', redis, ra!, 2_000);
    await probeLatency('mariadb', mysql, ma!, 1_000);
    await rewire('redis', redis, ra!, rb!, { type: 'redis', version: '7', port: 6379 });
    await rewire('mariadb', mysql, ma!, mb!, { type: 'mysql', version: '10.11', port: 3306, replication: { mode: 'async' } });
    const dead = { podName: 'dead', host: '127.250.250.250', port: 6379 };
    const d0 = performance.now();
    await redis.probe(dead, 500);
    console.log(`redis probe of a dead address (timeout 500 ms): ${(performance.now() - d0).toFixed(0)} ms`);
  } finally {
    await redis.close();
    await mysql.close();
    await farm.stopAll();
  }
}
