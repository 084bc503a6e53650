// `dbtopo compile`: topology + environment files → rendered/<env>/<member-cluster>/...

import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { compileRepo, UsageError } from '../compile.js';
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
}

export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('compile topologies into rendered Kubernetes manifests, one object per file')
    .option('--env <env>', 're-render only this environment (rendered/<env>/); the others are kept')
    .option('--out <dir>', 'output directory (default: <repo>/rendered)')
    .option('--repo <dir>', 'GitOps repository with envs/ and topologies/ (default: the current directory if it has envs/, else the embedded example)')
    .option('--format <format>', 'diagnostics as text or json', 'text')
    .option('--watch', 'keep running and recompile incrementally whenever envs/ or topologies/ change')
    .option('--workers <n>', 'render worker threads besides the main thread; 0: the main thread only (default: CPUs - 1, 1 to 4, from 100 topology files on)')
    .addHelpText(
      'after',
      `
Output:
  <out>/<env>/<member-cluster>/<namespace>/<topology>/<kind>-<name>.yaml
  <out>/<env>/<member-cluster>/_cluster/  CRDs and Namespaces
  The output is replaced atomically; on any error nothing is written.

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
      });
      const ms = Math.round(performance.now() - started);
      const ok = !hasErrors(result.diagnostics);
      printReport(format, { command: 'compile', ok, diagnostics: result.diagnostics, repo, out, files: ok ? result.files.length : 0, ms });
      if (ok) progress(`wrote ${result.files.length} objects to ${out} in ${ms} ms (${summary(result.diagnostics)})`);
      else progress(`${summary(result.diagnostics)}; nothing written (${out} is unchanged)`);
      process.exitCode = ok ? EXIT.ok : EXIT.diagnostics;
    });
}
