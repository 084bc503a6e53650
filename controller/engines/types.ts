// The engine-neutral interface the reconcilers use to read roles from engines and to wire
// replication. Each engine (controller/engines/<engine>/) implements ServerDriver.
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
  /** Replication offset / GTID position as a comparable number where possible. */
  offset?: number;
  /** MySQL: @@read_only. */
  readOnly?: boolean;
  /** MariaDB: @@rpl_semi_sync_master_enabled (the primary side of semi-sync). */
  semiSyncPrimarySide?: boolean;
  error?: string;
}

export interface ServerDriver {
  probe(t: EngineTarget, timeoutMs: number): Promise<ProbeResult>;
  /** Make `replica` follow `primary` (REPLICAOF / CHANGE MASTER TO). Idempotent; true when it changed something. */
  follow(replica: EngineTarget, primary: EngineTarget, spec: EngineSpec): Promise<boolean>;
  /** Make `t` a writable primary that follows nobody. Idempotent; true when it changed something. */
  promote(t: EngineTarget, spec: EngineSpec): Promise<boolean>;
  /** Release pooled connections. */
  close(): Promise<void>;
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
