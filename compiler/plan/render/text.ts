// The terminal plan: the summary first (what a reviewer decides on), then forbidden changes, the
// actions wave by wave, and the field changes per topology. Colour only for a TTY without NO_COLOR.
import { styleText } from 'node:util';
import { formatDiagnostic } from '../../diagnostics.js';
import { CHANGE_CLASSES, type ChangeClass } from '../model.js';
import type { PlanRun } from '../run.js';
import { diffLines, objectLabel, planView } from './view.js';

type Style = Parameters<typeof styleText>[0];
const CLASS_STYLE: Record<ChangeClass, Style> = {
  safe: 'green',
  'scale-out': 'cyan',
  'rolling-restart': 'yellow',
  'role-affecting': 'magenta',
  'scale-in': 'red',
  forbidden: ['bold', 'red'],
};

/** NO_COLOR (any value) and non-TTY output turn colour off; FORCE_COLOR turns it on. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true;
}

export function renderText(run: PlanRun, opts: { color: boolean }): string {
  const paint = (s: Style, t: string) => (opts.color ? styleText(s, t, { validateStream: false }) : t);
  const cls = (c: ChangeClass) => paint(CLASS_STYLE[c], c);
  const out: string[] = [];
  const sideName = (s: { ref: string; commit?: string }) => (s.commit ? `${s.ref} (${s.commit.slice(0, 12)})` : s.ref);
  out.push(paint('bold', `dbtopo plan ${sideName(run.base)} → ${sideName(run.head)}`));
  for (const [name, side] of [['base', run.base], ['head', run.head]] as const) {
    for (const d of side.diagnostics) out.push(`[${name}] ${formatDiagnostic(d)}`);
  }
  if (!run.plan) {
    out.push(paint(['bold', 'red'], 'no plan: fix the compile errors above (exit code 1)'));
    return out.join('\n') + '\n';
  }
  const v = planView({ ...run, plan: run.plan });
  const total = run.plan.changes.length;
  if (total === 0) {
    out.push('no changes to rendered objects');
    return out.join('\n') + '\n';
  }
  const counts = CHANGE_CLASSES.filter((c) => v.counts[c] > 0).map((c) => `${v.counts[c]} ${cls(c)}`);
  out.push(`${total} object change${total === 1 ? '' : 's'} (${v.objects.added} added, ${v.objects.changed} changed, ${v.objects.removed} removed): ${counts.join(', ')}`);
  out.push(`highest risk: ${cls(v.highest)}; ${run.plan.actions.length} actions in ${run.plan.waves.length} waves`);
  out.push('');
  const width = Math.max(...v.clusters.map((c) => `${c.env}/${c.memberCluster}`.length), 10);
  out.push(paint('bold', `${'cluster'.padEnd(width)}  ${CHANGE_CLASSES.map((c) => c.padStart(c.length)).join('  ')}`));
  for (const c of v.clusters) {
    out.push(`${`${c.env}/${c.memberCluster}`.padEnd(width)}  ${CHANGE_CLASSES.map((k) => String(c.counts[k] || '·').padStart(k.length)).join('  ')}`);
  }
  if (run.plan.forbidden.length > 0) {
    out.push('', paint(['bold', 'red'], `FORBIDDEN (${run.plan.forbidden.length}) — the plan exits 4:`));
    for (const c of run.plan.forbidden) out.push(`  ${c.env}/${c.memberCluster} ${objectLabel(c)}: ${c.verdict.reason}`);
  }
  out.push('', paint('bold', 'actions'));
  const actionsById = new Map(run.plan.actions.map((a) => [a.id, a]));
  run.plan.waves.forEach((wave, i) => {
    out.push(`  wave ${i}:`);
    for (const id of wave) {
      const a = actionsById.get(id);
      if (a) out.push(`    ${a.type.padEnd(18)} ${a.env}/${a.memberCluster}${a.topology ? `/${a.topology}` : a.namespace ? ` namespace ${a.namespace}` : ''}${a.note !== undefined ? `  — ${a.note}` : ''}`);
    }
  });
  for (const s of v.sections) {
    out.push('', paint('bold', `${s.env}/${s.topology}`) + ` ${cls(s.class)}${s.source ? `  (${s.source})` : ''}`);
    for (const c of s.changes) {
      for (const line of diffLines(c)) {
        const style: Style | undefined = line.startsWith('+') ? 'green' : line.startsWith('-') ? 'red' : line.startsWith('@@') ? 'cyan' : line.startsWith('#') ? 'gray' : undefined;
        out.push(`  ${style ? paint(style, line) : line}`);
      }
    }
  }
  return out.join('\n') + '\n';
}
