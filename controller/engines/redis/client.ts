// Pooled ioredis connections for probes and commands: one per target, short timeouts, no
// offline queue and no automatic reconnect — a dead engine fails the call at once instead of
// piling up retries; the next call opens a fresh connection.
import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout } from '../timeout.js';
import type { EngineTarget } from '../types.js';

export interface RedisClientOptions {
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 2_000;

function keyOf(t: EngineTarget): string {
  return `${t.username ?? ''}@${t.host}:${t.port}`;
}

/** Options for a one-shot, fail-fast connection (also used by the Sentinel helpers). */
export function failFastOptions(t: EngineTarget, timeoutMs: number): RedisOptions {
  return {
    host: t.host,
    port: t.port,
    ...(t.username !== undefined ? { username: t.username } : {}),
    ...(t.password !== undefined ? { password: t.password } : {}),
    lazyConnect: true,
    // RESP2: ioredis 6 defaults to RESP3 (HELLO 3), which Redis < 6 and twemproxy refuse.
    protocol: 2,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
  };
}

export class RedisPool {
  private readonly clients = new Map<string, Promise<Redis>>();
  private closed = false;

  constructor(private readonly opts: RedisClientOptions = {}) {}

  /** A connected client for `t`; reconnects when the pooled one has ended. */
  async get(t: EngineTarget, timeoutMs?: number): Promise<Redis> {
    if (this.closed) throw new Error('RedisPool is closed; create a new driver');
    const key = keyOf(t);
    const existing = this.clients.get(key);
    if (existing !== undefined) {
      const client = await existing.catch(() => undefined);
      if (client !== undefined && client.status === 'ready') return client;
      this.clients.delete(key);
      client?.disconnect();
    }
    const timeout = timeoutMs ?? this.opts.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const client = new Redis(failFastOptions(t, timeout));
    // A refused connection emits 'error' as well as rejecting connect(); the rejection is what we report.
    client.on('error', () => undefined);
    const connecting = client.connect().then(() => client);
    this.clients.set(key, connecting);
    try {
      return await connecting;
    } catch (err) {
      this.clients.delete(key);
      client.disconnect();
      throw err;
    }
  }

  /** Runs one command on `t`'s pooled connection, bounded by `timeoutMs`. */
  async call(t: EngineTarget, timeoutMs: number, command: string, ...args: Array<string | number>): Promise<unknown> {
    const client = await this.get(t, timeoutMs);
    return await withTimeout(client.call(command, ...args), timeoutMs, `${command} on ${t.host}:${t.port}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      all.map(async (p) => {
        const c = await p.catch(() => undefined);
        if (c === undefined) return;
        await c.quit().catch(() => c.disconnect());
      }),
    );
  }
}
