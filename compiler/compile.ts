// compile: the configurations of the compile pipeline (pipeline/pipeline.ts) behind `dbtopo
// compile`: compileModel (in memory), and compileRepo (read → validate → render in this thread,
// in the worker pool, or only what changed since the state of the last compile → write).

import { join } from 'node:path';
import { readState } from './emit/state.js';
import { StagedTree, treeSink } from './emit/sinks.js';
import { readRepo, sourceKind, type SourceFile } from './load/index.js';
import { WorkerPool } from './parallel/pool.js';
import { defaultWorkers, stopUntakenWorkers } from './parallel/prestart.js';
import { PoolRenderer } from './parallel/pool-renderer.js';
import { removeTreesWith } from './parallel/remove.js';
import { memorySink, perJob, runPipeline, type Outcome } from './pipeline/pipeline.js';
import type { CompileResult, FileHead } from './pipeline/rendered-file.js';
import { renderTopology } from './pipeline/render-topology.js';
import { UsageError } from './pipeline/select.js';
import { overState, type ReuseStats } from './reuse.js';
import type { ValidRepo } from './validate/index.js';

export interface CompileOptions {
  env?: string;
}

/** The pipeline over a validated repository: rendered in this thread, kept in memory. */
export function compileModel(repo: ValidRepo, opts: CompileOptions): CompileResult {
  return runPipeline({ repo }, { ...opts, renderer: perJob(renderTopology), sink: memorySink }).result;
}

export interface CompileRepoOptions {
  repo: string;
  env?: string;
  /** Output directory; default <repo>/rendered. */
  out?: string;
  write?: boolean;
  /**
   * Render worker threads for a written compile (compiler/parallel), the main thread rendering
   * besides them; 0 renders in this thread only. Default (parallel/prestart.ts defaultWorkers):
   * one per CPU but one, 1 to 4, when the repository has at least PARALLEL_MIN_TOPOLOGIES
   * topology files, else 0 (starting threads costs more than it saves).
   */
  workers?: number;
  /**
   * false: rewrite the whole output even when the state of an earlier compile would let this one
   * render and write only what changed (`dbtopo compile --full`).
   */
  reuse?: boolean;
}

export const PARALLEL_MIN_TOPOLOGIES = 100;

function workerCount(opts: CompileRepoOptions, sources: readonly SourceFile[]): number {
  if (opts.write === false) return 0;
  if (opts.workers !== undefined) {
    if (!Number.isInteger(opts.workers) || opts.workers < 0) throw new UsageError(`workers must be a whole number ≥ 0, got ${opts.workers}`);
    return opts.workers;
  }
  const topologies = sources.filter((s) => sourceKind(s.path) === 'topology').length;
  return topologies >= PARALLEL_MIN_TOPOLOGIES ? defaultWorkers() : 0;
}

/** The result with what the compile over the state wrote, its files still made on first read only. */
function withReuse({ result, written }: Outcome<FileHead, ReuseStats>): CompileResult & { reuse?: ReuseStats } {
  return {
    diagnostics: result.diagnostics,
    get files() {
      return result.files;
    },
    get objects() {
      return result.objects;
    },
    ...(written !== undefined ? { reuse: written } : {}),
  };
}

export async function compileRepo(opts: CompileRepoOptions): Promise<CompileResult & { reuse?: ReuseStats }> {
  const sources = await readRepo(opts.repo);
  const out = opts.out ?? join(opts.repo, 'rendered');
  const env = opts.env !== undefined ? { env: opts.env } : {};
  const base = { ...env, envMustExist: true };
  // A written compile of every environment records its state, and one over a tree an earlier
  // one recorded (emit/state.ts) renders and writes only what changed.
  const whole = opts.write !== false && opts.env === undefined;
  const recordFrom = whole ? { recordFrom: sources } : {};
  if (whole && opts.reuse !== false) {
    const state = readState(out);
    const over = state !== undefined ? overState(sources, out, state) : undefined;
    if (over !== undefined) {
      stopUntakenWorkers(); // renders in this thread
      return withReuse(await runPipeline({ sources }, { ...base, ...over }));
    }
  }
  const workers = workerCount(opts, sources);
  if (workers === 0) {
    stopUntakenWorkers();
    const sink = opts.write === false ? memorySink : treeSink({ out, ...env, ...recordFrom });
    return (await runPipeline({ sources }, { ...base, renderer: perJob(renderTopology), sink })).result;
  }
  // Started before parsing, so the threads load their modules while this one parses.
  const pool = new WorkerPool(workers, true);
  stopUntakenWorkers(); // started ahead for more workers than the compile asked for
  const staged = new StagedTree({ out, ...env, ...recordFrom, remove: (dirs) => removeTreesWith(pool, dirs) });
  try {
    await staged.prepare();
    return (await runPipeline({ sources }, { ...base, renderer: new PoolRenderer(pool, staged.dir, { state: whole }), sink: staged })).result;
  } finally {
    await pool.close(); // no worker writes into the staging directory after this
    await staged.discard();
  }
}
