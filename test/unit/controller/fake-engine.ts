// An Engine in memory for the role loop's unit tests: each address has a role (or is down), a
// replica follows whoever it was told to, and every operation is recorded. It stands in for a
// real redis-server / mariadbd; the engines and e2e projects run the same loop against real ones.
import type { DemoteResult, Engine, EngineTarget, FailoverResult, ProbeResult, SemiSyncFixes, SwitchoverRequest, SwitchoverResult } from '../../../controller/engines/types.js';
import type { Role } from '../../../schemas/types/index.js';

export interface FakeServer {
  role: Role | 'down' | 'unwired';
  /** Address of the server it replicates from. */
  follows?: string;
  offset?: number;
}

export class FakeEngine implements Engine {
  readonly type = 'redis' as const;
  readonly maxBehind = { limit: 0, unit: 'bytes' };
  /** By host. */
  servers = new Map<string, FakeServer>();
  probes = 0;
  /** Every write operation, in order: "promote r-0", "follow r-1 r-0", … */
  ops: string[] = [];
  constructor(readonly failoverBy: 'controller' | 'sentinel' = 'sentinel') {}

  async probe(t: EngineTarget): Promise<ProbeResult> {
    this.probes++;
    const s = this.servers.get(t.host);
    if (s === undefined || s.role === 'down') return { reachable: false, error: 'refused' };
    const offset = s.offset !== undefined ? { offset: s.offset } : {};
    if (s.role === 'unwired') return { reachable: true, ...offset };
    if (s.role === 'primary') return { reachable: true, role: 'primary', replicas: [...this.servers.values()].filter((x) => x.follows === t.host).length, ...offset };
    return { reachable: true, role: 'secondary', ...offset, ...(s.follows !== undefined ? { following: { host: s.follows, port: t.port, linkUp: this.servers.get(s.follows)?.role === 'primary' } } : {}) };
  }

  /** Test helper: the fake primary's host. */
  primaryHost(): string {
    return [...this.servers].find(([, s]) => s.role === 'primary')?.[0] ?? '';
  }

  async follow(replica: EngineTarget, primary: EngineTarget): Promise<boolean> {
    const s = this.servers.get(replica.host);
    if (s === undefined || s.role === 'down') throw new Error(`${replica.podName} is down`);
    if (s.role === 'secondary' && s.follows === primary.host) return false;
    this.ops.push(`follow ${replica.podName} ${primary.podName}`);
    this.servers.set(replica.host, { ...s, role: 'secondary', follows: primary.host });
    return true;
  }

  async promote(t: EngineTarget): Promise<boolean> {
    const s = this.servers.get(t.host);
    if (s === undefined || s.role === 'down') throw new Error(`${t.podName} is down`);
    if (s.role === 'primary') return false;
    this.ops.push(`promote ${t.podName}`);
    const { follows: _gone, ...rest } = s;
    this.servers.set(t.host, { ...rest, role: 'primary' });
    return true;
  }

  async demote(t: EngineTarget, keep: EngineTarget): Promise<DemoteResult> {
    this.ops.push(`demote ${t.podName} ${keep.podName}`);
    const s = this.servers.get(t.host)!;
    this.servers.set(t.host, { ...s, role: 'secondary', follows: keep.host });
    return { steps: [`${t.podName} follows ${keep.podName}`] };
  }

  async receivedPositions(replicas: EngineTarget[]): Promise<Map<string, number>> {
    return new Map(replicas.flatMap((t) => (this.servers.get(t.host)?.offset !== undefined ? [[t.podName, this.servers.get(t.host)!.offset!] as const] : [])));
  }

  async failover(candidate: EngineTarget, others: EngineTarget[]): Promise<FailoverResult> {
    this.ops.push(`failover ${candidate.podName}`);
    await this.promote(candidate);
    for (const o of others) await this.follow(o, candidate);
    return { promoted: candidate.podName, steps: [`promoted ${candidate.podName}`], totalMs: 0 };
  }

  /** Set: the next switchover fails with this message (e.g. Sentinel's NOGOODSLAVE), then it is cleared. */
  switchoverError: string | undefined;

  /** Promotes the candidate (or the most advanced linked replica), and the rest follow it. */
  async switchover(req: SwitchoverRequest): Promise<SwitchoverResult> {
    if (this.switchoverError !== undefined) {
      const msg = this.switchoverError;
      this.switchoverError = undefined;
      throw new Error(msg);
    }
    const linked = req.replicas.filter((r) => this.servers.get(r.host)?.follows === req.primary.host);
    const to = req.candidate !== undefined ? req.replicas.find((r) => r.podName === req.candidate) : linked.sort((a, b) => (this.servers.get(b.host)?.offset ?? 0) - (this.servers.get(a.host)?.offset ?? 0))[0];
    if (to === undefined) throw new Error('no healthy replica to promote');
    this.ops.push(`switchover ${req.primary.podName} ${to.podName}`);
    await this.promote(to);
    for (const o of [req.primary, ...req.replicas.filter((r) => r !== to)]) await this.follow(o, to);
    return { from: req.primary.podName, to: to.podName, pausedMs: 1, totalMs: 2, steps: [] };
  }

  semiSync(): SemiSyncFixes {
    return { disableOn: [] };
  }

  async close(): Promise<void> {}
}
