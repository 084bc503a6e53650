// Redis Sentinel helpers: register a shard with a Sentinel (idempotently), ask a Sentinel
// which address it believes is the primary, subscribe to +switch-master for sub-second
// relabelling, and cross-check the engines' own reports against Sentinel's view.
import { Redis } from 'ioredis';
import type { EngineTarget, ProbeResult } from '../types.js';
import { withTimeout } from '../timeout.js';
import { failFastOptions } from './client.js';

const TIMEOUT_MS = 2_000;

export interface HostPort {
  host: string;
  port: number;
}

export interface MonitorOptions {
  downAfterMs: number;
  failoverTimeoutMs: number;
  parallelSyncs?: number;
  /** Password Sentinel uses to talk to the monitored servers. */
  authPass?: string;
  authUser?: string;
  timeoutMs?: number;
}

async function withSentinel<T>(s: EngineTarget, timeoutMs: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis(failFastOptions(s, timeoutMs));
  c.on('error', () => undefined);
  try {
    await withTimeout(c.connect(), timeoutMs, `connect to sentinel ${s.host}:${s.port}`);
    return await withTimeout(fn(c), timeoutMs, `sentinel ${s.host}:${s.port}`);
  } finally {
    c.disconnect();
  }
}

/** Pure: Redis' flat [k1, v1, k2, v2, …] reply → map. */
export function pairs(reply: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), String(reply[i + 1]));
  return out;
}

/** Pure: the SENTINEL SET arguments that bring `current` to the wanted settings (empty when none differ). */
export function monitorSettingsDiff(current: Map<string, string>, quorum: number, o: MonitorOptions): string[] {
  const want: Array<[string, string]> = [
    ['quorum', String(quorum)],
    ['down-after-milliseconds', String(o.downAfterMs)],
    ['failover-timeout', String(o.failoverTimeoutMs)],
  ];
  if (o.parallelSyncs !== undefined) want.push(['parallel-syncs', String(o.parallelSyncs)]);
  const args: string[] = [];
  for (const [k, v] of want) if (current.get(k) !== v) args.push(k, v);
  return args;
}

/**
 * Makes `sentinel` monitor `masterName` at `primary` with the given settings. Idempotent: when the
 * name is already monitored, only differing settings are changed and the address is left alone —
 * after a failover Sentinel, not the controller, knows where the primary is. True when it changed something.
 */
export async function ensureMonitor(
  sentinel: EngineTarget,
  masterName: string,
  primary: EngineTarget,
  quorum: number,
  opts: MonitorOptions,
): Promise<boolean> {
  const timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
  return await withSentinel(sentinel, timeoutMs, async (c) => {
    let current: Map<string, string> | undefined;
    try {
      current = pairs(await c.call('SENTINEL', 'MASTER', masterName));
    } catch (err) {
      if (!/no such master/i.test(err instanceof Error ? err.message : String(err))) throw err;
    }
    let changed = false;
    if (current === undefined) {
      await c.call('SENTINEL', 'MONITOR', masterName, primary.host, primary.port, quorum);
      current = pairs(await c.call('SENTINEL', 'MASTER', masterName));
      changed = true;
      // Credentials are not readable back from Sentinel, so they are set when the monitor is created.
      if (opts.authPass !== undefined) await c.call('SENTINEL', 'SET', masterName, 'auth-pass', opts.authPass);
      if (opts.authUser !== undefined) await c.call('SENTINEL', 'SET', masterName, 'auth-user', opts.authUser);
    }
    const args = monitorSettingsDiff(current, quorum, opts);
    if (args.length > 0) {
      await c.call('SENTINEL', 'SET', masterName, ...args);
      changed = true;
    }
    return changed;
  });
}

/** SENTINEL GET-MASTER-ADDR-BY-NAME; undefined when the name is not monitored. */
export async function sentinelPrimary(
  sentinel: EngineTarget,
  masterName: string,
  timeoutMs = TIMEOUT_MS,
): Promise<HostPort | undefined> {
  return await withSentinel(sentinel, timeoutMs, async (c) => {
    const reply = await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName);
    if (!Array.isArray(reply) || reply.length < 2) return undefined;
    const port = Number(reply[1]);
    return Number.isInteger(port) ? { host: String(reply[0]), port } : undefined;
  });
}

/** Pure: a `+switch-master` payload "<name> <old-ip> <old-port> <new-ip> <new-port>". */
export function parseSwitchMaster(message: string): { masterName: string; from: HostPort; to: HostPort } | undefined {
  const parts = message.trim().split(/\s+/);
  if (parts.length !== 5) return undefined;
  const [masterName, oldHost, oldPort, newHost, newPort] = parts as [string, string, string, string, string];
  const from = Number(oldPort);
  const to = Number(newPort);
  if (!Number.isInteger(from) || !Number.isInteger(to)) return undefined;
  return { masterName, from: { host: oldHost, port: from }, to: { host: newHost, port: to } };
}

/**
 * Subscribes to `+switch-master` on every sentinel. Each failover is published by every
 * Sentinel that sees it; `onSwitch` is called once per (masterName, new primary) change.
 * Subscriber connections reconnect with bounded backoff and resubscribe.
 */
export function watchSwitchMaster(
  sentinels: EngineTarget[],
  onSwitch: (masterName: string, newPrimary: HostPort) => void,
): { close(): Promise<void> } {
  const last = new Map<string, string>();
  const subs = sentinels.map((s) => {
    const c = new Redis({
      host: s.host,
      port: s.port,
      ...(s.username !== undefined ? { username: s.username } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
      connectTimeout: TIMEOUT_MS,
      protocol: 2,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
      retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 5), 2_000),
    });
    c.on('error', () => undefined);
    c.on('message', (_channel: string, message: string) => {
      const ev = parseSwitchMaster(message);
      if (ev === undefined) return;
      const key = `${ev.to.host}:${ev.to.port}`;
      if (last.get(ev.masterName) === key) return;
      last.set(ev.masterName, key);
      onSwitch(ev.masterName, ev.to);
    });
    void c.subscribe('+switch-master').catch(() => undefined);
    return c;
  });
  return {
    async close(): Promise<void> {
      await Promise.all(subs.map((c) => c.quit().catch(() => c.disconnect())));
    },
  };
}

export interface CrossCheck {
  agree: boolean;
  /** Pod names whose engine reports primary. */
  enginePrimaries: string[];
  /** Pod Sentinel believes is the primary, if it is one of the probed pods. */
  sentinelPod?: string;
  issues: string[];
}

/**
 * Pure: compares what the engines report (probes keyed by pod) with Sentinel's view. Flags
 * several engine primaries, a Sentinel primary that is none of the pods or not a primary in the
 * engine, and secondaries following something other than Sentinel's primary.
 */
export function crossCheck(
  probes: Array<{ target: EngineTarget; probe: ProbeResult }>,
  sentinelView: HostPort | undefined,
): CrossCheck {
  const issues: string[] = [];
  const enginePrimaries = probes.filter((p) => p.probe.role === 'primary').map((p) => p.target.podName);
  if (enginePrimaries.length > 1) issues.push(`several engines report primary: ${enginePrimaries.join(', ')}`);
  if (sentinelView === undefined) {
    issues.push('sentinel reports no primary for this shard');
    return { agree: false, enginePrimaries, issues };
  }
  const match = probes.find((p) => p.target.host === sentinelView.host && p.target.port === sentinelView.port);
  if (match === undefined) {
    issues.push(`sentinel's primary ${sentinelView.host}:${sentinelView.port} is none of the probed pods`);
  } else if (match.probe.role !== 'primary') {
    issues.push(`sentinel's primary ${match.target.podName} reports role ${match.probe.role ?? 'unknown'}`);
  }
  for (const p of probes) {
    const f = p.probe.following;
    if (p.probe.role === 'secondary' && f !== undefined && (f.host !== sentinelView.host || f.port !== sentinelView.port)) {
      issues.push(`${p.target.podName} follows ${f.host}:${f.port}, sentinel's primary is ${sentinelView.host}:${sentinelView.port}`);
    }
  }
  return {
    agree: issues.length === 0,
    enginePrimaries,
    ...(match !== undefined ? { sentinelPod: match.target.podName } : {}),
    issues,
  };
}
