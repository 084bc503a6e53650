// Redis role probe: `INFO replication`, parsed into the engine-neutral ProbeResult.
import type { EngineTarget, ProbeResult } from '../types.js';
import type { RedisPool } from './client.js';

/** `INFO` sections are `key:value` lines; comments start with '#'. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    if (raw === '' || raw.startsWith('#')) continue;
    const i = raw.indexOf(':');
    if (i > 0) out.set(raw.slice(0, i), raw.slice(i + 1));
  }
  return out;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number.parseInt(v, 10);
  return Number.isFinite(n) ? n : undefined;
}

/** Pure: INFO replication text → ProbeResult (reachable, since we got an answer). */
export function parseReplicationInfo(text: string): ProbeResult {
  const info = parseInfo(text);
  const role = info.get('role');
  if (role === 'master') {
    const offset = int(info.get('master_repl_offset'));
    const replicas = int(info.get('connected_slaves'));
    const replicaLinks: NonNullable<ProbeResult['replicaLinks']> = [];
    for (let i = 0; i < (replicas ?? 0); i++) {
      // slave0:ip=10.244.1.3,port=6379,state=online,offset=1234,lag=0
      const fields = new Map((info.get(`slave${i}`) ?? '').split(',').map((kv) => kv.split('=') as [string, string]));
      const host = fields.get('ip');
      const port = int(fields.get('port'));
      const lag = int(fields.get('lag'));
      if (host !== undefined && port !== undefined) replicaLinks.push({ host, port, ...(lag !== undefined ? { lagSeconds: lag } : {}) });
    }
    return { reachable: true, role: 'primary', ...(offset !== undefined ? { offset } : {}), ...(replicas !== undefined ? { replicas, replicaLinks } : {}) };
  }
  if (role === 'slave') {
    const host = info.get('master_host') ?? '';
    const port = int(info.get('master_port')) ?? 0;
    // slave_repl_offset is what the replica has processed; master_repl_offset mirrors it on old versions.
    const offset = int(info.get('slave_repl_offset')) ?? int(info.get('master_repl_offset'));
    return {
      reachable: true,
      role: 'secondary',
      following: { host, port, linkUp: info.get('master_link_status') === 'up' },
      ...(offset !== undefined ? { offset } : {}),
    };
  }
  return { reachable: true, error: `unexpected role ${JSON.stringify(role)} in INFO replication` };
}

export async function probeRedis(pool: RedisPool, t: EngineTarget, timeoutMs: number): Promise<ProbeResult> {
  try {
    const text = await pool.call(t, timeoutMs, 'INFO', 'replication');
    if (typeof text !== 'string') return { reachable: true, error: 'INFO replication did not return text' };
    return parseReplicationInfo(text);
  } catch (err) {
    return { reachable: false, error: err instanceof Error ? err.message : String(err) };
  }
}
