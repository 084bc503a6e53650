// `dbtopo plan`: the change plan between two Git refs of a GitOps repo, for a terminal, a CI job
// (JSON) or a pull-request comment (Markdown). Exit codes: 0 nothing forbidden, 1 compile errors
// on either side, 2 usage error (unknown ref, bad option), 3 internal error, 4 forbidden changes.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { GitRefError } from '../plan/git-sources.js';
import { renderJson } from '../plan/render/json.js';
import { COMMENT_MARKER, GITHUB_COMMENT_LIMIT, renderMarkdown } from '../plan/render/markdown.js';
import { renderText, useColor } from '../plan/render/text.js';
import { runPlan, type PlanRun } from '../plan/run.js';
import { repoDir } from './repo.js';

export const PLAN_EXIT = { ok: 0, compileErrors: 1, usage: 2, internal: 3, forbidden: 4 } as const;

interface PlanCliOptions {
  base: string;
  head?: string;
  repo?: string;
  env?: string;
  format: 'text' | 'json' | 'markdown';
  allowMigration?: boolean;
  allowDelete: string[];
  out?: string;
  artifactUrl?: string;
  maxChars: string;
}

export function renderPlan(run: PlanRun, opts: { format: PlanCliOptions['format']; color: boolean; artifactUrl?: string; maxChars?: number }): string {
  if (opts.format === 'json') return renderJson(run);
  if (opts.format === 'markdown' && run.plan) {
    return renderMarkdown({ ...run, plan: run.plan }, { ...(opts.artifactUrl ? { artifact: opts.artifactUrl } : {}), ...(opts.maxChars ? { limit: opts.maxChars } : {}) });
  }
  const text = renderText(run, { color: opts.format === 'text' && opts.color });
  // A pull-request comment still has to say why there is no plan.
  return opts.format === 'markdown' ? `${COMMENT_MARKER}\n## ⛔ dbtopo plan: compile errors\n\n\`\`\`\`text\n${text.replace(/`{4,}/g, '```')}\`\`\`\`\n` : text;
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('compare two Git refs of a GitOps repo: compile both in memory, diff the rendered objects, classify every change and order the actions')
    .requiredOption('--base <ref>', 'Git ref of the side before the change (e.g. origin/main)')
    .option('--head <ref>', 'Git ref of the side after the change (default: the work tree, uncommitted edits included)')
    .option('--repo <dir>', 'GitOps repo root, may be a sub-directory of the Git work tree (default: . when it has envs/, else the embedded example)')
    .option('--env <name>', 'plan one environment only')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'))
    .option('--allow-migration', 'acknowledge every engine, mode and shard-count change (else forbidden)')
    .option('--allow-delete <topology>', 'acknowledge the removal of a topology (repeatable; "<env>/<topology>" for one environment)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--out <file>', 'write the plan to this file instead of stdout')
    .option('--artifact-url <url>', 'markdown: where the full plan is published, linked when sections are dropped')
    .option('--max-chars <n>', 'markdown: character limit of the comment', String(GITHUB_COMMENT_LIMIT))
    .addHelpText(
      'after',
      `
Examples:
  dbtopo plan --base origin/main                    the work tree against main, as text
  dbtopo plan --base origin/main --head HEAD --env prod
  dbtopo plan --base origin/main --format markdown --out plan.md   the pull-request comment
  dbtopo plan --base v1.4.0 --allow-delete staging/old-cache

Exit codes:
  0  plan computed, no forbidden change
  1  compile errors on the base or head side (diagnostics are printed)
  2  usage error (unknown Git ref, bad option)
  3  internal error
  4  plan computed, forbidden changes present (storage shrink, unacknowledged deletion or migration…)

Deletions and migrations are acknowledged in <repo>/acknowledgements.yaml at the head ref
(delete: [...], migrate: [...]) or with --allow-delete / --allow-migration; see docs/gitops.md.`,
    )
    .action(async (o: PlanCliOptions) => {
      process.exitCode = await executePlan(o);
    });
}

async function executePlan(o: PlanCliOptions): Promise<number> {
  const maxChars = Number(o.maxChars);
  if (!Number.isInteger(maxChars) || maxChars < 1000) {
    process.stderr.write(`dbtopo plan: --max-chars must be an integer ≥ 1000, got "${o.maxChars}"\n`);
    return PLAN_EXIT.usage;
  }
  let run: PlanRun;
  try {
    run = await runPlan({
      repo: repoDir(o.repo),
      base: o.base,
      ...(o.head !== undefined ? { head: o.head } : {}),
      ...(o.env !== undefined ? { env: o.env } : {}),
      allowMigration: o.allowMigration === true,
      allowDelete: o.allowDelete,
    });
  } catch (e) {
    if (e instanceof GitRefError) {
      process.stderr.write(`dbtopo plan: ${e.message}\n`);
      return PLAN_EXIT.usage;
    }
    process.stderr.write(`dbtopo plan: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return PLAN_EXIT.internal;
  }
  const text = renderPlan(run, {
    format: o.format,
    color: o.out === undefined && useColor(process.stdout),
    ...(o.artifactUrl !== undefined ? { artifactUrl: o.artifactUrl } : {}),
    maxChars,
  });
  if (o.out !== undefined) {
    const target = resolve(o.out);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(`${target}.tmp`, text);
    await rename(`${target}.tmp`, target);
    const summary = run.plan ? `${run.plan.changes.length} changes, ${run.plan.forbidden.length} forbidden` : 'compile errors';
    process.stderr.write(`dbtopo plan: ${summary}; wrote ${o.out}\n`);
  } else process.stdout.write(text);
  return run.exitCode;
}
