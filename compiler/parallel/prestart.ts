// Render worker threads (render-worker.ts) started before the CLI's own modules load. A thread
// spends its first ~0.1 s loading the compiler's modules; started by `dbtopo compile` at once
// (cli/main.ts), it does that while the main thread loads the same modules and reads the
// repository, not after. The pool (pool.ts) takes them; those it does not take are stopped.
// Imports nothing of the compiler: loading this must cost the process nothing.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

// Large young generations: rendering allocates many short-lived objects, and a bigger nursery
// means fewer scavenges and fewer survivors copied (measured: GC was a third of the CPU).
const YOUNG_GENERATION_MB = 64;

/** Started and not taken yet: unreferenced, so they never keep the process alive. */
const started: Worker[] = [];
/** Those of them that already stopped (a failed start): not handed out, the pool starts its own. */
const exited = new WeakSet<Worker>();

function startRenderWorker(): Worker {
  const self = import.meta.url;
  const entry = new URL(`./render-worker${self.endsWith('.ts') ? '.ts' : '.js'}`, self);
  return new Worker(entry, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
}

/** A render worker thread: one started ahead if there is one, else a new one. */
export function renderWorkerThread(): Worker {
  let w = started.shift();
  while (w !== undefined && exited.has(w)) w = started.shift();
  w ??= startRenderWorker();
  w.ref();
  return w;
}

/** Threads started ahead and not taken yet. */
export function workersStartedAhead(): number {
  return started.length;
}

/** Stops the threads started ahead that no pool took (a compile too small for workers). */
export function stopUntakenWorkers(): void {
  for (const w of started.splice(0)) void w.terminate();
}

/** Most render workers a compile starts by default (compile.ts): more cost more than they save. */
const MAX_WORKERS = 4;
/** Most started ahead for an explicit --workers N: a larger N starts the rest when the pool is made. */
const MAX_AHEAD = 16;

/** Render workers a compile starts by default: one per CPU but one, 1 to MAX_WORKERS. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism() - 1, MAX_WORKERS));
}

/**
 * Starts the render workers `dbtopo compile <args>` will ask for, if it will ask for any: not for
 * --watch (renders in this thread), --workers 0 or --help. The compile decides on the repository
 * later (compile.ts workerCount) and stops what it does not use.
 */
export function prestartForArgs(args: readonly string[]): void {
  if (args[0] !== 'compile' || args.some((a) => a === '--watch' || a === '--help' || a === '-h')) return;
  let n = defaultWorkers();
  const at = args.findIndex((a) => a === '--workers' || a.startsWith('--workers='));
  if (at >= 0) {
    const value = Number(args[at]?.includes('=') ? args[at]?.slice('--workers='.length) : args[at + 1]);
    if (!Number.isInteger(value) || value < 0) return; // the CLI reports it
    n = Math.min(value, MAX_AHEAD);
  }
  for (let i = 0; i < n; i++) {
    const w = startRenderWorker();
    w.unref();
    // Until a pool takes it: a start that fails is left to a new thread, which reports it there.
    w.on('error', () => undefined);
    w.once('exit', () => exited.add(w));
    started.push(w);
  }
}
