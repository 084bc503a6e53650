// The JSON plan: a stable, documented schema (docs/gitops.md, "JSON plan"). Fields are only ever
// added; `schemaVersion` changes when one changes meaning.
import type { Diagnostic } from '../../diagnostics.js';
import type { PlanRun } from '../run.js';
import { planView } from './view.js';

export const PLAN_SCHEMA_VERSION = 'dbtopo.dev/plan/v1';

export function renderJson(run: PlanRun): string {
  const diagnostics = { base: run.base.diagnostics.map(diag), head: run.head.diagnostics.map(diag) };
  const side = (s: { ref: string; commit?: string }) => ({ ref: s.ref, commit: s.commit ?? null });
  if (!run.plan) {
    return JSON.stringify({ schemaVersion: PLAN_SCHEMA_VERSION, base: side(run.base), head: side(run.head), exitCode: run.exitCode, diagnostics }, null, 2) + '\n';
  }
  const v = planView({ ...run, plan: run.plan });
  const out = {
    schemaVersion: PLAN_SCHEMA_VERSION,
    base: side(run.base),
    head: side(run.head),
    exitCode: run.exitCode,
    summary: { highestClass: v.highest, byClass: v.counts, objects: v.objects, forbidden: run.plan.forbidden.length, actions: run.plan.actions.length, waves: run.plan.waves.length },
    clusters: v.clusters.map((c) => ({ env: c.env, memberCluster: c.memberCluster, byClass: c.counts, total: c.total })),
    changes: run.plan.changes.map((c) => ({
      key: c.key,
      env: c.env,
      memberCluster: c.memberCluster,
      topology: c.topology ?? null,
      source: c.source ?? null,
      apiVersion: c.apiVersion,
      kind: c.kind,
      namespace: c.namespace ?? null,
      name: c.name,
      type: c.type,
      class: c.class,
      rule: c.verdict.rule,
      reason: c.verdict.reason,
      fields: c.fields.map((f) => ({ path: f.path, op: f.op, old: f.old ?? null, new: f.new ?? null, class: f.class, rule: f.rule, reason: f.reason })),
    })),
    actions: run.plan.actions.map((a) => ({
      id: a.id,
      type: a.type,
      env: a.env,
      memberCluster: a.memberCluster,
      namespace: a.namespace ?? null,
      topology: a.topology ?? null,
      wave: a.wave,
      after: a.after,
      objects: a.objects,
      note: a.note ?? null,
    })),
    waves: run.plan.waves,
    diagnostics,
  };
  return JSON.stringify(out, null, 2) + '\n';
}

function diag(d: Diagnostic) {
  return { file: d.file, line: d.line, col: d.col, code: d.code, severity: d.severity, message: d.message, hint: d.hint };
}
