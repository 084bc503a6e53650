// The shapes a change plan is made of: rendered objects located in (env, member cluster, topology),
// their structural differences, the class of every difference, and the actions they imply.
import type { KubeObject } from '../../schemas/types/index.js';

/** A rendered object and where it is deployed; `topology` is absent for cluster-wide objects. */
export interface PlanObject {
  env: string;
  /** Member cluster name; `_argocd` for the Argo CD objects of an environment, `_federation` for its federation API server's objects. */
  memberCluster: string;
  topology?: string;
  /** Topology file the object came from (relative to the GitOps repo root). */
  source?: string;
  object: KubeObject;
}

export interface FieldChange {
  /** JSON-pointer-ish: "/spec/replicas", "/spec/template/spec/containers/name=redis/image". */
  path: string;
  /** The same path as segments (unescaped); list items kept by name are "name=<value>". */
  segments: string[];
  op: 'add' | 'remove' | 'replace';
  old?: unknown;
  new?: unknown;
}

export interface ObjectChange {
  key: string;
  env: string;
  memberCluster: string;
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  topology?: string;
  source?: string;
  type: 'added' | 'removed' | 'changed';
  /** Field changes of a `changed` object; empty for added/removed ones. */
  fields: FieldChange[];
  base?: KubeObject;
  head?: KubeObject;
}

/** Ordered by risk, lowest first; the order is part of the JSON schema (docs/gitops.md). */
export const CHANGE_CLASSES = ['safe', 'scale-out', 'rolling-restart', 'role-affecting', 'scale-in', 'forbidden'] as const;
export type ChangeClass = (typeof CHANGE_CLASSES)[number];

export function riskOf(c: ChangeClass): number {
  return CHANGE_CLASSES.indexOf(c);
}

export function maxClass(classes: Iterable<ChangeClass>): ChangeClass {
  let best: ChangeClass = 'safe';
  for (const c of classes) if (riskOf(c) > riskOf(best)) best = c;
  return best;
}

export interface Verdict {
  class: ChangeClass;
  /** Id of the rule in compiler/plan/classify.ts that decided. */
  rule: string;
  reason: string;
}

export interface ClassifiedField extends FieldChange, Verdict {}

export interface ClassifiedChange extends ObjectChange {
  class: ChangeClass;
  /** Why the object as a whole has its class (added/removed objects, or the riskiest field). */
  verdict: Verdict;
  fields: ClassifiedField[];
}

export const ACTION_TYPES = [
  'apply-crds',
  'create-namespace',
  'apply',
  'scale-out',
  'move-ordinal',
  'rolling-update',
  'update-secondaries',
  'switchover',
  'update-primary',
  'scale-in',
  'delete',
  'delete-namespace',
] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

export interface PlanAction {
  id: string;
  type: ActionType;
  env: string;
  memberCluster: string;
  namespace?: string;
  topology?: string;
  /** Object keys (ObjectChange.key) this action applies. */
  objects: string[];
  /** Ids of the actions that must finish first. */
  after: string[];
  /** 0-based wave: every action of wave n depends only on actions of waves < n. */
  wave: number;
  /** What the action means when its type alone does not say it (spread topologies: compiler/rollout/spread-steps.ts). */
  note?: string;
}

export interface Plan {
  changes: ClassifiedChange[];
  actions: PlanAction[];
  /** Action ids per wave, topologically ordered. */
  waves: string[][];
  forbidden: ClassifiedChange[];
}
