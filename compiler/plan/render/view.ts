// What every plan format shows, computed once: counts by class per member cluster, and the
// changes grouped into one section per (environment, topology), riskiest first.
import { CHANGE_CLASSES, maxClass, riskOf, type ChangeClass, type ClassifiedChange, type Plan } from '../model.js';
import type { PlanRun } from '../run.js';

export type ClassCounts = Record<ChangeClass, number>;

export interface ClusterSummary {
  env: string;
  memberCluster: string;
  counts: ClassCounts;
  total: number;
}

export interface TopologySection {
  env: string;
  /** Topology name, or "(cluster-wide)" for CRDs and Namespaces, "(argocd)" for Argo CD objects. */
  topology: string;
  source?: string;
  class: ChangeClass;
  memberClusters: string[];
  changes: ClassifiedChange[];
}

export interface PlanView {
  base: { ref: string; commit?: string };
  head: { ref: string; commit?: string };
  exitCode: number;
  counts: ClassCounts;
  highest: ChangeClass;
  objects: { added: number; removed: number; changed: number };
  clusters: ClusterSummary[];
  sections: TopologySection[];
  plan: Plan;
}

export function emptyCounts(): ClassCounts {
  return Object.fromEntries(CHANGE_CLASSES.map((c) => [c, 0])) as ClassCounts;
}

export const CLUSTER_WIDE = '(cluster-wide)';

export function planView(run: PlanRun & { plan: Plan }): PlanView {
  const { plan } = run;
  const counts = emptyCounts();
  const objects = { added: 0, removed: 0, changed: 0 };
  const clusters = new Map<string, ClusterSummary>();
  const sections = new Map<string, TopologySection>();
  for (const c of plan.changes) {
    counts[c.class]++;
    objects[c.type]++;
    const ck = `${c.env}\0${c.memberCluster}`;
    const cs = clusters.get(ck) ?? { env: c.env, memberCluster: c.memberCluster, counts: emptyCounts(), total: 0 };
    cs.counts[c.class]++;
    cs.total++;
    clusters.set(ck, cs);
    const topology = c.topology ?? (c.memberCluster === '_argocd' ? '(argocd)' : CLUSTER_WIDE);
    const sk = `${c.env}\0${topology}`;
    const s = sections.get(sk) ?? { env: c.env, topology, ...(c.source !== undefined ? { source: c.source } : {}), class: 'safe' as ChangeClass, memberClusters: [], changes: [] };
    s.changes.push(c);
    if (!s.memberClusters.includes(c.memberCluster)) s.memberClusters.push(c.memberCluster);
    s.class = maxClass([s.class, c.class]);
    sections.set(sk, s);
  }
  const byName = (a: { env: string; topology: string }, b: { env: string; topology: string }) =>
    a.env < b.env ? -1 : a.env > b.env ? 1 : a.topology < b.topology ? -1 : a.topology > b.topology ? 1 : 0;
  return {
    base: { ref: run.base.ref, ...(run.base.commit !== undefined ? { commit: run.base.commit } : {}) },
    head: { ref: run.head.ref, ...(run.head.commit !== undefined ? { commit: run.head.commit } : {}) },
    exitCode: run.exitCode,
    counts,
    highest: plan.changes.length > 0 ? maxClass(plan.changes.map((c) => c.class)) : 'safe',
    objects,
    clusters: [...clusters.values()].sort((a, b) => (a.env + '\0' + a.memberCluster < b.env + '\0' + b.memberCluster ? -1 : 1)),
    sections: [...sections.values()].sort((a, b) => riskOf(b.class) - riskOf(a.class) || byName(a, b)),
    plan,
  };
}

/** "Cluster db/orders-db" */
export function objectLabel(c: ClassifiedChange): string {
  return `${c.kind} ${c.namespace !== undefined ? `${c.namespace}/` : ''}${c.name}`;
}

export function showValue(v: unknown): string {
  if (v === undefined) return '∅';
  if (typeof v === 'string') return v.includes('\n') ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/**
 * Diff lines of one change: "-"/"+" per field (old/new), multi-line strings line by line, so a
 * config edit reads as the lines it touched.
 */
export function diffLines(c: ClassifiedChange): string[] {
  const head = `@@ ${objectLabel(c)} (${c.env}/${c.memberCluster}) ${c.type}: ${c.class} [${c.verdict.rule}] @@`;
  if (c.type !== 'changed') return [head, `${c.type === 'added' ? '+' : '-'} ${objectLabel(c)}  # ${c.verdict.reason}`];
  const out = [head];
  for (const f of c.fields) {
    out.push(`# ${f.path}: ${f.class} [${f.rule}] ${f.reason}`);
    if (typeof f.old === 'string' && typeof f.new === 'string' && (f.old.includes('\n') || f.new.includes('\n'))) {
      out.push(...textDiff(f.old, f.new));
      continue;
    }
    if (f.op !== 'add') out.push(`- ${f.path}: ${showValue(f.old)}`);
    if (f.op !== 'remove') out.push(`+ ${f.path}: ${showValue(f.new)}`);
  }
  return out;
}

/** Line diff (LCS) of two short texts; only changed lines, prefixed "-"/"+". */
export function textDiff(a: string, b: string): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  if (n * m > 4_000_000) return [...x.map((l) => `- ${l}`), ...y.map((l) => `+ ${l}`)];
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      (lcs[i] as number[])[j] = x[i] === y[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      i++;
      j++;
    } else if (j < m && (i >= n || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0))) out.push(`+ ${y[j++]}`);
    else out.push(`- ${x[i++]}`);
  }
  return out;
}
