// `dbtopo validate`: everything compile checks (schema, semantics, policy, placement, duplicate
// objects), without writing anything.

import type { Command } from 'commander';
import { compileModel } from '../compile.js';
import { parseSources, readRepo } from '../load/index.js';
import { validate } from '../validate/index.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';
import { hasErrors, parseFormat, printReport, progress, summary, type Format } from './output.js';
import { repoDir } from './repo.js';

interface ValidateFlags {
  repo?: string;
  format: string;
}

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check topology and environment files and report every problem with file:line:col')
    .option('--repo <dir>', 'GitOps repository with envs/ and topologies/ (default: the current directory if it has envs/, else the embedded example)')
    .option('--format <format>', 'diagnostics as text or json', 'text')
    .addHelpText(
      'after',
      `
Examples:
  dbtopo validate --repo ./gitops
  dbtopo validate --format json
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: ValidateFlags) => {
      const format: Format = parseFormat(flags.format);
      const repo = repoDir(flags.repo);
      const started = performance.now();
      const sources = await readRepo(repo);
      const valid = validate(parseSources(sources));
      const { diagnostics } = compileModel(valid, {});
      const ok = !hasErrors(diagnostics);
      const ms = Math.round(performance.now() - started);
      printReport(format, { command: 'validate', ok, diagnostics, repo, files: sources.length, ms });
      progress(`checked ${sources.length} files in ${ms} ms: ${summary(diagnostics)}`);
      process.exitCode = ok ? EXIT.ok : EXIT.diagnostics;
    });
}
