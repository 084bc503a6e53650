// Where each rendered object goes, relative to rendered/, derived from where it is deployed
// (renderedPath, the one place a path is made; nothing parses one back):
//   <env>/<member-cluster>/<namespace>/<topology>.yaml      a topology's objects in that member
//                                                            cluster, one YAML document each
//   <env>/<member-cluster>/_cluster/<kind>-<name>.yaml      CRDs, Namespaces, guards
//   <env>/_argocd/<kind>-<name>.yaml                        the Argo CD objects
//
// One file per topology and member cluster, not one per object: what a fresh full compile cost
// on a real disk was the files it created, not the bytes. 1,000 topologies × 3 environments are
// 62,644 objects; as that many files a Node process that only writes them took 1.3–16 s on this
// VM's ext4 (inode allocation, kernel time), the compile 3.4–18 s; as the 3,394 files of this
// layout 0.12–2.2 s, the compile 2.1–3.4 s (docs/compiler.md "Benchmark"). Git, Argo CD's repo
// server and reviewers read 18× fewer files, and a pull request's diff of a database is one file
// per member cluster. The shared files stay one per object: they are few, and a CRD is long.

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
  return `${at.env}/${at.memberCluster}/${o.metadata.namespace ?? 'default'}/${at.topology}.yaml`;
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
