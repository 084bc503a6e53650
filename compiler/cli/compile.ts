// `dbtopo compile`: topology + environment files → rendered/<env>/<member-cluster>/...

import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { compileRepo } from '../compile.js';
import { UsageError } from '../pipeline/select.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';
import { hasErrors, parseFormat, printReport, progress, summary, type Format } from './output.js';
import { repoDir } from './repo.js';
import { watchAndCompile } from './watch.js';

interface CompileFlags {
  watch?: boolean;
  env?: string;
  out?: string;
  repo?: string;
  format: string;
  workers?: string;
  full?: boolean;
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile topologies into rendered Kubernetes manifests, one file per topology and member cluster')
    .option('--env <env>', 're-render only this environment (rendered/<env>/); the others are kept')
    .option('--out <dir>', 'output directory (default: <repo>/rendered)')
    .option('--repo <dir>', 'GitOps repository with envs/ and topologies/ (default: the current directory if it has envs/, else the embedded example)')
    .option('--format <format>', 'diagnostics as text or json', 'text')
    .option('--full', 'render and write the whole output even if only some topologies changed since the last compile into it')
    .option('--watch', 'keep running and recompile incrementally whenever envs/ or topologies/ change')
    .option('--workers <n>', 'render worker threads besides the main thread; 0: the main thread only (default: CPUs - 1, 1 to 4, from 100 topology files on)')
    .addHelpText(
      'after',
      `
Output:
  <out>/<env>/<member-cluster>/<namespace>/<topology>.yaml  the topology's objects there, one
                                                          YAML document each
  <out>/<env>/<member-cluster>/_cluster/<kind>-<name>.yaml  CRDs, Namespaces, admission guards
  <out>/<env>/_argocd/<kind>-<name>.yaml                  the AppProject and ApplicationSet
  <out>/<env>/_federation/<namespace>/<topology>.yaml     the Federation of a topology whose
                                                          shards span member clusters, for the
                                                          federation API server (+ _cluster/)
  The output is replaced atomically; on any error nothing is written.
  Over an output an earlier compile wrote (its state in .dbtopo-cache/ beside the output), only
  the topologies whose files changed are rendered and only files whose text changed are written,
  each renamed into place once all are written; --full rewrites the whole tree.

Examples:
  dbtopo compile                          compile the repository in the current directory
  dbtopo compile --repo ./gitops --env prod
  dbtopo compile --format json | jq '.diagnostics[] | select(.severity == "error")'
  dbtopo compile --watch                  re-render only what changed, on every save
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: CompileFlags) => {
      const format: Format = parseFormat(flags.format);
      const repo = repoDir(flags.repo);
      const out = flags.out !== undefined ? resolve(flags.out) : join(repo, 'rendered');
      if (flags.watch) {
        if (flags.env !== undefined) throw new UsageError('--watch compiles every environment; drop --env');
        await watchAndCompile(repo, out, format);
      }
      const workers = flags.workers !== undefined ? Number(flags.workers) : undefined;
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) throw new UsageError(`--workers must be a whole number ≥ 0, not "${flags.workers}"`);
      const started = performance.now();
      const result = await compileRepo({
        repo,
        out,
        write: true,
        ...(flags.env !== undefined ? { env: flags.env } : {}),
        ...(workers !== undefined ? { workers } : {}),
        ...(flags.full ? { reuse: false } : {}),
      });
      const ms = Math.round(performance.now() - started);
      const ok = !hasErrors(result.diagnostics);
      // Counted without making the result's files (62,644 of them for a large repository).
      const objects = result.reuse?.objects ?? result.objects;
      printReport(format, { command: 'compile', ok, diagnostics: result.diagnostics, repo, out, files: ok ? objects : 0, ms, ...(ok && result.reuse ? { reuse: result.reuse } : {}) });
      const r = result.reuse;
      if (ok && r) {
        progress(
          `${objects} objects in ${out}: rendered ${r.rendered} changed topology files (${r.reused} unchanged), wrote ${r.written} files, removed ${r.deleted}, in ${ms} ms (${summary(result.diagnostics)})`,
        );
      } else if (ok) progress(`wrote ${objects} objects to ${out} in ${ms} ms (${summary(result.diagnostics)})`);
      else progress(`${summary(result.diagnostics)}; nothing written (${out} is unchanged)`);
      process.exitCode = ok ? EXIT.ok : EXIT.diagnostics;
    });
}
