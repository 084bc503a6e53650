// compile: the configurations of the compile pipeline (pipeline/pipeline.ts) behind `dbtopo
// compile`: compileModel (in memory), and compileRepo (read → validate → render in this thread,
// in the worker pool, or only what changed since the state of the last compile → write).

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { hasErrors } from './diagnostics.js';
import { envKeyOf, readState, treeDirs, writeState } from './emit/state.js';
import { writeRendered } from './emit/write.js';
import { parseSources, readRepo, sourceKind, type SourceFile } from './load/index.js';
import { compileAndWrite } from './parallel/compile-write.js';
import { WorkerPool } from './parallel/pool.js';
import { compileRenders } from './pipeline/pipeline.js';
import { headsOf, type CompileResult } from './pipeline/rendered-file.js';
import { renderTopology } from './pipeline/render-topology.js';
import { requireEnvironment, UsageError } from './pipeline/select.js';
import { compileOverState, stateOf, type CompileOutline, type ReuseStats } from './reuse.js';
import { validate, type ValidRepo } from './validate/index.js';

export interface CompileOptions {
  env?: string;
}

/** The pipeline over a validated repository: rendered in this thread, kept in memory. */
export function compileModel(repo: ValidRepo, opts: CompileOptions, outline?: (o: CompileOutline) => void): CompileResult {
  const compiled = compileRenders(repo, opts.env, renderTopology);
  outline?.({
    repo,
    renders: compiled.jobs.map(({ render: r }) => ({ env: r.env, source: r.source, heads: headsOf(r.files), namespaces: r.namespaces, diagnostics: r.diagnostics })),
  });
  return { files: compiled.files, diagnostics: compiled.diagnostics };
}

export interface CompileRepoOptions {
  repo: string;
  env?: string;
  /** Output directory; default <repo>/rendered. */
  out?: string;
  write?: boolean;
  /**
   * Render worker threads for a written compile (compiler/parallel), the main thread rendering
   * besides them; 0 renders in this thread only. Default: one per CPU but one (at least 1, at
   * most MAX_WORKERS) when the repository has at least PARALLEL_MIN_TOPOLOGIES topology files,
   * else 0 (starting threads costs more than it saves).
   */
  workers?: number;
  /**
   * false: rewrite the whole output even when the state of an earlier compile would let this one
   * render and write only what changed (`dbtopo compile --full`).
   */
  reuse?: boolean;
}

export const PARALLEL_MIN_TOPOLOGIES = 100;
const MAX_WORKERS = 4;

function workerCount(opts: CompileRepoOptions, sources: readonly SourceFile[]): number {
  if (opts.write === false) return 0;
  if (opts.workers !== undefined) {
    if (!Number.isInteger(opts.workers) || opts.workers < 0) throw new UsageError(`workers must be a whole number ≥ 0, got ${opts.workers}`);
    return opts.workers;
  }
  const topologies = sources.filter((s) => sourceKind(s.path) === 'topology').length;
  return topologies >= PARALLEL_MIN_TOPOLOGIES ? Math.max(1, Math.min(availableParallelism() - 1, MAX_WORKERS)) : 0;
}

/** The serial compile of a validated repository, written (atomically) unless there are errors. */
export async function compileValid(
  repo: ValidRepo,
  opts: { env?: string; out: string; write?: boolean; outline?: (o: CompileOutline) => void },
): Promise<CompileResult> {
  requireEnvironment(repo, opts.env);
  const result = compileModel(repo, opts.env !== undefined ? { env: opts.env } : {}, opts.outline);
  if (opts.write !== false && !hasErrors(result.diagnostics)) {
    await writeRendered(opts.out, result.files, opts.env !== undefined ? [opts.env] : undefined);
  }
  return result;
}

export async function compileRepo(opts: CompileRepoOptions): Promise<CompileResult & { reuse?: ReuseStats }> {
  const sources = await readRepo(opts.repo);
  const out = opts.out ?? join(opts.repo, 'rendered');
  const env = opts.env !== undefined ? { env: opts.env } : {};
  // A full written compile over a tree an earlier one left (emit/state.ts): only what changed.
  const whole = opts.write !== false && opts.env === undefined;
  if (whole && opts.reuse !== false) {
    const state = readState(out);
    const reused = state !== undefined ? compileOverState(sources, out, state) : undefined;
    if (reused !== undefined) return reused;
  }
  let outline: CompileOutline | undefined;
  const record = whole ? { outline: (o: CompileOutline) => (outline = o) } : {};
  const workers = workerCount(opts, sources);
  let result: CompileResult;
  if (workers === 0) result = await compileValid(validate(parseSources(sources)), { out, write: opts.write !== false, ...env, ...record });
  else {
    // Started before parsing, so the threads load their modules while this one parses.
    const pool = new WorkerPool(workers, true);
    try {
      const parallel = await compileAndWrite(sources, { out, pool, ...env, ...record });
      // A repository with errors: the serial compile reports them exactly (and writes nothing).
      result = 'invalid' in parallel ? await compileValid(parallel.invalid, { out, ...env, ...record }) : parallel;
    } finally {
      await pool.close();
    }
  }
  if (outline !== undefined && !hasErrors(result.diagnostics)) {
    const envKey = envKeyOf(sources.filter((s) => sourceKind(s.path) === 'environment'));
    writeState(out, stateOf(outline, sources, envKey, result.files.filter((f) => f.source === undefined)), treeDirs(result.files.map((f) => f.path)));
  }
  return result;
}
