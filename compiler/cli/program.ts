// The dbtopo CLI (started by main.ts). One file per subcommand under compiler/cli/, registered here.

import { Command, CommanderError } from 'commander';
import { RepoNotFoundError } from '../load/index.js';
import { UsageError } from '../pipeline/select.js';
import { registerCompile } from './compile.js';
import { EXIT, EXIT_CODES_HELP } from './exit.js';
import { FormatError } from './output.js';
import { registerValidate } from './validate.js';
import { registerPlan } from './plan.js';
import { registerStatus } from './status.js';
import { registerSwitchover } from './switchover.js';

export function buildProgram(): Command {
  const program = new Command('dbtopo')
    .description('GitOps for Redis and MySQL on Kubernetes: topology files in, validated manifests out')
    .version('0.1.0')
    .exitOverride()
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      `
A repository holds envs/<env>.yaml (environments) and topologies/**/*.yaml (one database each).
"dbtopo compile" writes rendered/<env>/<member-cluster>/<namespace>/<topology>/ for Argo CD.

Examples:
  dbtopo validate                 check the repository in the current directory
  dbtopo compile --env staging    re-render only rendered/staging/
  dbtopo status --env prod        which pod is primary in every shard and member cluster (live)
  dbtopo help compile             options of one subcommand
${EXIT_CODES_HELP}`,
    );
  registerCompile(program);
  registerValidate(program);
  registerPlan(program);
  registerSwitchover(program);
  registerStatus(program);
  return program;
}

/** Runs the CLI and returns its exit code; never throws. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    process.exitCode = undefined;
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end in a CommanderError too, with exit code 0.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // A --repo that is no directory is the caller's mistake, not a bug to report.
    if (err instanceof UsageError || err instanceof FormatError || err instanceof RepoNotFoundError) {
      process.stderr.write(`dbtopo: ${err.message}\n`);
      return EXIT.usage;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `dbtopo: internal error: ${message}\n` +
        'Nothing was written. Please report this with the command you ran and the repository (or a small copy of it);\n' +
        'set DBTOPO_DEBUG=1 to print the stack trace.\n',
    );
    if (process.env.DBTOPO_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return EXIT.internal;
  }
}
