// What every reconciler gets: the API client, the informer caches, events, logs and metrics.
import type { Logger } from 'pino';
import type { Cluster, InstanceSet, KubeObject } from '../../schemas/types/index.js';
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

export interface ControllerContext {
  client: KubeClient;
  caches: Caches;
  events: EventRecorder;
  log: Logger;
  metrics: ControllerMetrics;
  now(): number;
}

/** `namespace/name` ⇄ key. */
export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
