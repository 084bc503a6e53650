// The pull-request comment (GitHub-flavoured Markdown) rendered with the handlebars templates in
// ci/templates/. GitHub rejects comments over 65,536 characters, so the comment is kept under a
// limit by dropping whole per-topology sections, lowest risk first; a section is never cut, so
// every ``` fence and <details> stays balanced, and the comment says what it left out.
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import { CHANGE_CLASSES, riskOf, type ChangeClass, type ClassifiedChange, type Plan } from '../model.js';
import type { PlanRun } from '../run.js';
import { COMMENT_TEMPLATE, templatesDir } from './templates.js';
import { diffLines, objectLabel, planView, type TopologySection } from './view.js';

export const GITHUB_COMMENT_LIMIT = 65_536;
export const COMMENT_MARKER = '<!-- dbtopo-plan -->';
const MAX_FORBIDDEN_LISTED = 30;
const MAX_DROPPED_NAMES = 40;

export const BADGES: Record<ChangeClass, string> = {
  safe: '🟢 safe',
  'scale-out': '🔵 scale-out',
  'rolling-restart': '🟡 rolling-restart',
  'role-affecting': '🟠 role-affecting',
  'scale-in': '🔴 scale-in',
  forbidden: '⛔ forbidden',
};

export interface MarkdownOptions {
  /** Character limit of the whole comment; default GitHub's 65,536. */
  limit?: number;
  /** Where the full plan lives (CI artifact URL), named when sections are dropped. */
  artifact?: string;
  templates?: string;
}

interface Templates {
  comment: Handlebars.TemplateDelegate;
  section: Handlebars.TemplateDelegate;
}

const cache = new Map<string, Templates>();

function load(dir: string): Templates {
  const hit = cache.get(dir);
  if (hit) return hit;
  // Loaded on first use: every other dbtopo command would pay for loading it (~30 ms).
  const hb = (createRequire(import.meta.url)('handlebars') as typeof Handlebars).create();
  hb.registerHelper('badge', (c: ChangeClass) => BADGES[c] ?? c);
  hb.registerHelper('short', (s: unknown) => (typeof s === 'string' ? s.slice(0, 12) : ''));
  const partials = join(dir, 'partials');
  for (const f of readdirSync(partials)) {
    if (f.endsWith('.md.hbs')) hb.registerPartial(basename(f, '.md.hbs'), readFileSync(join(partials, f), 'utf8'));
  }
  const opts = { noEscape: false };
  const t: Templates = {
    comment: hb.compile(readFileSync(join(dir, COMMENT_TEMPLATE), 'utf8'), opts),
    section: hb.compile('{{> section}}', opts),
  };
  cache.set(dir, t);
  return t;
}

/** A fence longer than any backtick run in the content, so no content line can close it. */
function fenceFor(content: string): string {
  let longest = 0;
  for (const m of content.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

function renderSection(t: Templates, s: TopologySection): string {
  const diff = s.changes.flatMap((c: ClassifiedChange) => diffLines(c)).join('\n');
  return t
    .section({
      class: s.class,
      env: s.env,
      topology: s.topology,
      source: s.source ?? '',
      count: s.changes.length,
      single: s.changes.length === 1,
      memberClusters: s.memberClusters.join(', '),
      fence: fenceFor(diff),
      diff,
    })
    .trimEnd();
}

export function renderMarkdown(run: PlanRun & { plan: Plan }, opts: MarkdownOptions = {}): string {
  const limit = opts.limit ?? GITHUB_COMMENT_LIMIT;
  const t = load(opts.templates ?? templatesDir());
  const v = planView(run);
  const plan = run.plan;
  const byId = new Map(plan.actions.map((a) => [a.id, a]));
  const frame = {
    base: v.base,
    head: v.head,
    highest: v.highest,
    total: plan.changes.length,
    single: plan.changes.length === 1,
    objects: v.objects,
    actionCount: plan.actions.length,
    waveCount: plan.waves.length,
    limit: limit.toLocaleString('en-US'),
    artifact: opts.artifact ?? '',
    forbidden: {
      count: plan.forbidden.length,
      plural: plan.forbidden.length !== 1,
      items: plan.forbidden.slice(0, MAX_FORBIDDEN_LISTED).map((c) => ({ env: c.env, memberCluster: c.memberCluster, label: objectLabel(c), reason: c.verdict.reason })),
      more: Math.max(0, plan.forbidden.length - MAX_FORBIDDEN_LISTED),
    },
    classes: CHANGE_CLASSES,
    clusters: v.clusters.map((c) => ({ env: c.env, memberCluster: c.memberCluster, cells: CHANGE_CLASSES.map((k) => (c.counts[k] ? String(c.counts[k]) : '·')) })),
    waves: plan.waves.map((ids, i) => {
      const types = new Map<string, number>();
      for (const id of ids) {
        const type = byId.get(id)?.type ?? '?';
        types.set(type, (types.get(type) ?? 0) + 1);
      }
      return { index: i, types: [...types].map(([type, count]) => ({ type, count })) };
    }),
  };
  const rendered = v.sections.map((s) => ({ s, text: renderSection(t, s) }));
  // Drop order: lowest risk first, then the largest section first (frees the most room).
  const dropOrder = [...rendered].sort((a, b) => riskOf(a.s.class) - riskOf(b.s.class) || b.text.length - a.text.length);
  const dropped = new Set<TopologySection>();
  const compose = (): string => {
    const kept = rendered.filter((r) => !dropped.has(r.s));
    const gone = rendered.filter((r) => dropped.has(r.s));
    const byClass = CHANGE_CLASSES.map((c) => [c, gone.filter((r) => r.s.class === c).length] as const)
      .filter(([, n]) => n > 0)
      .map(([c, n]) => `${n} ${c}`)
      .join(', ');
    const names = gone.slice(0, MAX_DROPPED_NAMES).map((r) => `${r.s.env}/${r.s.topology}`);
    const more = gone.length > MAX_DROPPED_NAMES ? `, … and ${gone.length - MAX_DROPPED_NAMES} more` : '';
    return t.comment({
      ...frame,
      sections: kept.map((r) => r.text),
      dropped: { count: gone.length, plural: gone.length !== 1, byClass, names: names.join(', ') + more },
    });
  };
  let out = compose();
  if (out.length <= limit) return out;
  // Estimate how much to drop from section sizes, then confirm by rendering (the note grows a bit).
  let excess = out.length - limit;
  let next = 0;
  while (out.length > limit && next < dropOrder.length) {
    do {
      const r = dropOrder[next++] as { s: TopologySection; text: string };
      dropped.add(r.s);
      excess -= r.text.length + 1;
    } while (excess > 0 && next < dropOrder.length);
    out = compose();
    excess = out.length - limit;
  }
  if (out.length > limit) {
    throw new Error(`the plan summary alone is ${out.length} characters, over the limit of ${limit}; publish the full plan as an artifact instead`);
  }
  return out;
}
