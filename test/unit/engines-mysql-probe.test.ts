// A frozen MariaDB (SIGSTOP, a hung host) accepts TCP but never sends its handshake. The role
// probe must still answer within its timeout: the failover counts failed probes, and a probe that
// waited for the pool's connect timeout made every round of a frozen primary last seconds.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlPool } from '../../controller/engines/mysql/client.js';
import { probeMysql } from '../../controller/engines/mysql/probe.js';

describe('probeMysql against a server that accepts TCP and never answers', () => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s); // accept, then say nothing (the kernel's backlog does this for a frozen process)
    s.on('error', () => undefined);
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('reports unreachable within the probe timeout, round after round', async () => {
    const pool = new MysqlPool();
    const t = { podName: 'db-0', host: '127.0.0.1', port, username: 'root', password: 'x' };
    try {
      for (let round = 0; round < 3; round++) {
        const started = performance.now();
        const r = await probeMysql(pool, t, 300);
        const ms = performance.now() - started;
        expect(r.reachable).toBe(false);
        expect(r.error).toMatch(/no answer|timeout|Queue limit/i);
        expect(ms).toBeLessThan(1_000); // the pool's connect timeout is 3 s
      }
    } finally {
      void pool.close();
    }
  });
});
