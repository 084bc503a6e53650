// Where each rendered object goes, relative to rendered/, derived from where it is deployed
// (renderedPath, the one place a path is made; nothing parses one back):
//   <env>/<member-cluster>/<namespace>/<topology>/<kind>-<name>.yaml   a topology's objects
//   <env>/<member-cluster>/_cluster/<kind>-<name>.yaml                  CRDs, Namespaces, guards
//   <env>/_argocd/<kind>-<name>.yaml                                    the Argo CD objects

import { ARGOCD_DIR } from '../argocd/emit.js';

export const CLUSTER_DIR = '_cluster';

/** What a path and an identity are made of: kind, name and namespace of an object. */
export interface ObjectHead {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/**
 * Where a rendered object is deployed. `memberCluster` is ARGOCD_DIR for the Argo CD objects of
 * an environment; `topology` is set for a topology's objects only. The namespace is the object's.
 */
export interface Placement {
  env: string;
  memberCluster: string;
  topology?: string;
}

export function objectFileName(o: ObjectHead): string {
  return `${o.kind.toLowerCase()}-${o.metadata.name}.yaml`;
}

export function renderedPath(at: Placement, o: ObjectHead): string {
  if (at.memberCluster === ARGOCD_DIR) return `${at.env}/${ARGOCD_DIR}/${objectFileName(o)}`;
  if (at.topology === undefined) return `${at.env}/${at.memberCluster}/${CLUSTER_DIR}/${objectFileName(o)}`;
  return `${at.env}/${at.memberCluster}/${o.metadata.namespace ?? 'default'}/${at.topology}/${objectFileName(o)}`;
}

/** A placed object with its path: how every rendered file starts. */
export function withPath<O extends ObjectHead, P extends Placement>(at: P, object: O): P & { path: string; object: O } {
  return { ...at, path: renderedPath(at, object), object };
}

/**
 * Identity of an object inside one member cluster: two objects with the same key collide, and
 * a plan (compiler/plan/diff.ts) pairs the objects of its two sides by it.
 */
export function objectKey(o: { env: string; memberCluster: string; object: ObjectHead }): string {
  const m = o.object.metadata;
  return `${o.env}|${o.memberCluster}|${o.object.apiVersion}|${o.object.kind}|${m.namespace ?? ''}|${m.name}`;
}
