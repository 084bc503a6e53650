// The engine-neutral interface the role loop, the rolling update and the split-brain guard use.
// Each engine with roles (controller/engines/<engine>/engine.ts) implements Engine in full;
// engines/index.ts is the one table of them. Nothing outside controller/engines/ asks which engine
// it talks to: a new engine is a new folder and a row in that table. Redis Sentinel is the one
// engine feature reached directly (engines/redis/sentinel.ts, electability.ts, priority-journal.ts),
// and only where the spec names a Sentinel (engine.replication.sentinel), never by engine type.
import type { EngineSpec, Role } from '../../schemas/types/index.js';

export interface EngineTarget {
  podName: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
}

export interface ProbeResult {
  reachable: boolean;
  /** Only from what the engine itself reports. */
  role?: Role;
  /** A secondary's primary, as the engine reports it. */
  following?: { host: string; port: number; linkUp: boolean };
  /** A primary: replicas connected to it, as the engine reports (Redis connected_slaves); they may be in other member clusters. */
  replicas?: number;
  /**
   * A primary: each connected replica as the primary sees it, with the seconds since it last
   * acknowledged (Redis `slaveN: … lag=`), where the engine reports them. A replica cut off by a
   * network partition still says its link is up until its own timeout (Redis repl-timeout, 60 s);
   * the primary's lag shows it within seconds.
   */
  replicaLinks?: Array<{ host: string; port: number; lagSeconds?: number }>;
  /** Replication offset / GTID position as a comparable number where possible. */
  offset?: number;
  /** MySQL: @@read_only. */
  readOnly?: boolean;
  /** MariaDB: @@rpl_semi_sync_master_enabled (the primary side of semi-sync). */
  semiSyncPrimarySide?: boolean;
  /** MariaDB: @@rpl_semi_sync_slave_enabled (whether this server, as a replica, acknowledges semi-sync commits). */
  semiSyncReplicaSide?: boolean;
  /**
   * MariaDB: how long the oldest commit waiting for a semi-sync acknowledgement has waited, in ms
   * (sessions in state "Waiting for semi-sync ACK from slave"; 0: none waits). Semi-sync here
   * never falls back to async, so a primary whose acknowledging replicas are cut off blocks its
   * commits without an error, and the replicas report no lag (they receive nothing): this is how
   * the cut shows on the primary.
   */
  commitWaitMs?: number;
  /**
   * MariaDB: @@server_id. A replica skips the events carrying its own server id, so a pod that
   * replaces another with the same id (an ordinal moved between member clusters: the id is the
   * ordinal's) misses what the old one wrote as primary; the federation manager never releases
   * the old pod to it (federation/release.ts).
   */
  serverId?: number;
  error?: string;
}

export interface ServerDriver {
  probe(t: EngineTarget, timeoutMs: number): Promise<ProbeResult>;
  /**
   * Make `replica` follow `primary` (REPLICAOF / CHANGE MASTER TO). Idempotent; true when it
   * changed something. `acknowledges: false` (semi-sync only): the replica replicates but does not
   * acknowledge commits — the federation manager keeps a spread shard's acknowledgements to
   * replicas in other member clusters than the primary's (MariaDB cannot ask for a replica in
   * another member cluster by itself).
   */
  follow(replica: EngineTarget, primary: EngineTarget, spec: EngineSpec, opts?: { acknowledges?: boolean }): Promise<boolean>;
  /** Make `t` a writable primary that follows nobody. Idempotent; true when it changed something. */
  promote(t: EngineTarget, spec: EngineSpec): Promise<boolean>;
  /** Release pooled connections. */
  close(): Promise<void>;
}

/** Split-brain demotion or fencing of one server: what was done, and why it cannot replicate if it cannot. */
export interface DemoteResult {
  steps: string[];
  /** The server's replication error after it was made to follow (e.g. errant transactions): it must be rebuilt. */
  linkError?: string;
}

/** A lost primary replaced by the controller (Engine.failover). */
export interface FailoverResult {
  promoted: string;
  steps: string[];
  totalMs: number;
}

/** A planned switchover of one shard (Engine.switchover). */
export interface SwitchoverRequest {
  primary: EngineTarget;
  replicas: EngineTarget[];
  /** Pod to promote; undefined = the most advanced healthy replica. */
  candidate?: string;
  spec: EngineSpec;
  /** Upper bound of the whole operation. */
  timeoutMs?: number;
  /** Redis under Sentinel: the sentinels watching this shard (Sentinel carries the switchover out). */
  sentinels?: EngineTarget[];
  /** Records a replica-priority about to be set to 0, and its restore, where a successor finds it. */
  journal?: PriorityJournal;
}

/** Durable note of replica-priority changes (pod annotations in the controller; see engines/redis/priority-journal.ts). */
export interface PriorityJournal {
  saved(podName: string, value: string): Promise<void>;
  restored(podName: string): Promise<void>;
}

/** Where the primary side of semi-sync must be switched on and off (Engine.semiSync). */
export interface SemiSyncFixes {
  enableOn?: string;
  disableOn: string[];
}

/**
 * Everything the controller does to one engine. `probe`, `follow` and `promote` are idempotent;
 * the others act only when asked.
 */
export interface Engine extends ServerDriver {
  readonly type: 'redis' | 'mysql';
  /**
   * Who replaces a lost primary. 'controller': the role loop fails over after failureThreshold
   * lost probes and fences servers that replicate from nobody (MariaDB has no Sentinel).
   * 'sentinel': Sentinel does, where the shard has one; the controller never promotes on its own.
   */
  readonly failoverBy: 'controller' | 'sentinel';
  /**
   * How far an updated secondary may trail the primary's offset and still count as caught up
   * (the rolling update's bound), in the engine's own offset unit.
   */
  readonly maxBehind: { limit: number; unit: string };
  /** A second claimant of primary (or a former primary back from the dead): stop its writes and make it follow `keep`. */
  demote(t: EngineTarget, keep: EngineTarget, spec: EngineSpec): Promise<DemoteResult>;
  /** What each reachable replica has received (may be ahead of what it applied), comparable with ProbeResult.offset; missing = unknown. */
  receivedPositions(replicas: EngineTarget[], timeoutMs: number): Promise<Map<string, number>>;
  /** Promotes `candidate` after it applied what it received (bounded); `others` follow it. */
  failover(candidate: EngineTarget, others: EngineTarget[], spec: EngineSpec): Promise<FailoverResult>;
  /** A planned switchover with no acknowledged write lost. */
  switchover(req: SwitchoverRequest): Promise<SwitchoverResult>;
  /**
   * Optional (Redis): the primary accepts writes only while at least `n` replicas are in touch
   * (min-replicas-to-write). The federation manager sets it to one more than the replicas of the
   * primary's own member cluster that are connected, so a primary cut off together with its local
   * replicas stops acknowledging. True when it changed the setting.
   */
  requireReplicas?(t: EngineTarget, n: number): Promise<boolean>;
  /** Pure: where the primary side of semi-sync is wrong (nothing for an engine without semi-sync). */
  semiSync(members: Array<{ podName: string; probe?: ProbeResult }>, primaryPod: string | undefined, spec: EngineSpec): SemiSyncFixes;
}

/** Outcome of a planned switchover (any engine). */
export interface SwitchoverResult {
  from: string;
  to: string;
  /** Time writes were refused or paused on the old primary before the new one took them (the window a writer sees blocked or failing), ms. */
  pausedMs: number;
  totalMs: number;
  steps: string[];
  /**
   * MariaDB: when the old primary's global read lock was released (epoch ms). From then on it is a
   * read-only replica — which accounts with READ_ONLY ADMIN can still write to (MariaDB 10.11 has
   * no super_read_only): such a write is an errant transaction there, not on the new primary.
   */
  releasedAt?: number;
}
