// What every reconciler gets: the API client, the informer caches, events, logs and metrics.
import type { Logger } from 'pino';
import type { Cluster, InstanceSet, KubeObject, SwitchoverStatus } from '../../schemas/types/index.js';
import type { CredentialsReader } from '../engines/credentials.js';
import { OperationLocks } from '../update/lock.js';
import type { ProbeHistories } from '../roles/failover.js';
import type { EventRecorder } from './events.js';
import type { Informer } from './informer.js';
import type { KubeClient } from './kube.js';
import type { ControllerMetrics } from './metrics.js';

export interface Caches {
  instanceSets: Informer<InstanceSet>;
  clusters: Informer<Cluster>;
  pods: Informer<KubeObject>;
  pvcs: Informer<KubeObject>;
}

/**
 * What one controller remembers between reconciles, keyed by InstanceSet key. It hangs off the
 * context, not a module, so two controllers in one process (tests, a federation manager) never
 * share it; none of it is needed after a restart (the durable facts are in status).
 */
export interface ControllerMemory {
  /** Switchover records this controller wrote (newer than the cache until the watch catches up). */
  switchovers: Map<string, SwitchoverStatus>;
  /** The rolling update's last waiting reason announced in an Event (one Event per reason). */
  updateWaiting: Map<string, string>;
  /** Pod uids whose deletion this controller asked for, until when to expect it (controller-runtime's expectations). */
  deleting: Map<string, number>;
  credentials?: CredentialsReader;
  /** One engine operation per InstanceSet at a time (a switchover keeps the probe loop out). */
  locks: OperationLocks;
  /** The role loop's failover bookkeeping per InstanceSet (lost-probe history, the last primary; controller/roles/failover.ts). */
  probeHistory: ProbeHistories;
}

export function newControllerMemory(): ControllerMemory {
  return { switchovers: new Map(), updateWaiting: new Map(), deleting: new Map(), locks: new OperationLocks(), probeHistory: new Map() };
}

/** Drops what the controller remembers of a deleted InstanceSet (a long-lived controller would grow without bound otherwise). */
export function forgetInstanceSet(memory: ControllerMemory, key: string): void {
  memory.switchovers.delete(key);
  memory.updateWaiting.delete(key);
  memory.probeHistory.delete(key);
}

export interface ControllerContext {
  client: KubeClient;
  memory: ControllerMemory;
  caches: Caches;
  events: EventRecorder;
  log: Logger;
  metrics: ControllerMetrics;
  now(): number;
  /**
   * false: this controller runs no role loop (`--no-role-probes`), so nothing would carry out a
   * switchover filed as intent in status; the reconcile refuses to file one (update.ts).
   */
  roleLoop?: boolean;
}

/** `namespace/name` ⇄ key. */
export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
