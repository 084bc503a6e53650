#!/usr/bin/env node
// The dbtopo CLI's entry point (compiler/cli/program.ts is the CLI). Started as a program, it
// turns on Node's compile cache before the CLI's modules load: compiling them (commander, yaml,
// ajv, the compiler) was ~0.2 s of every fresh process; from the second run on V8 reads the code
// it compiled before (NODE_COMPILE_CACHE or <tmpdir>/node-compile-cache).
import { realpathSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

const entry = isEntryPoint();
if (entry) {
  try {
    enableCompileCache?.();
  } catch {
    // no cache: modules compile as before
  }
  // `dbtopo compile`: the render workers load their modules while this thread loads its own.
  const { prestartForArgs } = await import('../parallel/prestart.js');
  prestartForArgs(process.argv.slice(2));
}
const cli = await import('./program.js');
export const main = cli.main;
export const buildProgram = cli.buildProgram;

if (entry) {
  // `dbtopo ... | head` closes stdout early: that is the reader's choice, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  process.exitCode = await main(process.argv.slice(2));
}
