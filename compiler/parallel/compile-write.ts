// Full compile written by render workers (pool.ts): the compile pipeline (pipeline/pipeline.ts)
// with the worker pool as its renderer and a staging directory swapped in as its sink. The main
// thread parses and validates the topology files in chunks (validate/Validator) and hands each
// chunk's valid (environment, topology) jobs to the workers, which render them and write their
// YAML into the staging directory while this thread parses on; they send back only each file's
// head (placement, kind, name, namespace). Any error in the repository and the staged files are
// thrown away and the result is the serial compile's (the caller runs it). Otherwise the main
// thread writes the few shared files (CRDs, Namespaces, Argo CD objects), swaps the staging
// directory in (compiler/emit/write.ts), and runs the rest of the assembly (duplicate check,
// sort) while the workers remove the previous tree. Every file is a pure function of its
// topology and environment, so which worker renders which job changes nothing in the output.
//
// The result's files of workers' renders carry no object or text in this thread: both are
// computed again (once per topology and environment) on first read. `dbtopo compile` only
// counts them.
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Topology } from '../../schemas/types/index.js';
import { assemble, assemblyFiles } from '../pipeline/assemble.js';
import type { CompileResult, HeadFile, RenderedFile, RenderOutline, TopologyRender } from '../pipeline/rendered-file.js';
import { filesOfHeads, wholeFile } from '../pipeline/rendered-file.js';
import { placeDiagnostics, renderTopology } from '../pipeline/render-topology.js';
import { jobsOf } from '../pipeline/pipeline.js';
import { requireEnvironment, selectEnvironments } from '../pipeline/select.js';
import type { CompileOutline } from '../reuse.js';
import { hasErrors, sortDiagnostics } from '../diagnostics.js';
import { commitStaged, stagingDir, writeTree } from '../emit/write.js';
import { parseSources, sourceKind, type Located, type SourceFile } from '../load/index.js';
import { appliesTo } from '../resolve/index.js';
import { validate, Validator, type ValidRepo } from '../validate/index.js';
import type { WorkerPool } from './pool.js';
import type { JobOutcome, RenderJob } from './protocol.js';
import { removeTreesWith } from './remove.js';

/** Topology files parsed between two hand-outs of work. */
const CHUNK = 50;
/** Jobs per request: small enough to balance two busy threads, large enough that messages are few. */
const BATCH = 25;

/** A job's reply, with the result's files made from it. */
interface Rendered {
  outcome: JobOutcome;
  files: HeadFile[];
}

export interface ParallelCompileOptions {
  out: string;
  env?: string;
  pool: WorkerPool;
  /** Called with what the next compile can reuse, once the output is swapped in. */
  outline?: (o: CompileOutline) => void;
}

const jobKey = (env: number, file: string): string => `${env}\0${file}`;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The written compile, or the validated repository when it has errors: the caller then compiles
 * it serially, which reports them exactly and writes nothing.
 */
export async function compileAndWrite(sources: readonly SourceFile[], opts: ParallelCompileOptions): Promise<CompileResult | { invalid: ValidRepo }> {
  const envLoad = parseSources(sources.filter((s) => sourceKind(s.path) === 'environment'));
  const validator = new Validator(envLoad.environments, envLoad.diagnostics);
  // Broken or missing environments: nothing renders; the serial compile reports it.
  if (envLoad.environments.length === 0 || validator.environmentErrors()) return { invalid: validate(parseSources([...sources])) };
  const envCheck = { environments: validator.environments(), topologies: [], diagnostics: [] };
  requireEnvironment(envCheck, opts.env);
  const envs = selectEnvironments(envCheck, opts.env);
  const topologySources = sources.filter((s) => sourceKind(s.path) === 'topology').sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  await mkdir(dirname(opts.out), { recursive: true });
  const tmp = stagingDir(opts.out);
  let committed = false;
  try {
    await mkdir(tmp);
    const ready = opts.pool.all({ type: 'context', context: { envs, root: tmp } });
    ready.catch(() => undefined); // awaited below; a failure must not count as unhandled meanwhile

    // Each reply is turned into the result's files as it arrives: this thread is idle meanwhile.
    const outcomes = new Map<string, Rendered>();
    /** Topology file of each object identity, to see a duplicate object (DBT5001) early. */
    const owners = new Map<string, string>();
    let clash = false;
    let placementError = false;
    const rendering: Array<Promise<void>> = [];
    const submit = (jobs: ReadonlyArray<{ env: number; topo: Located<Topology> }>): void => {
      for (let i = 0; i < jobs.length; i += BATCH) {
        const batch = jobs.slice(i, i + BATCH);
        const request = { type: 'render' as const, jobs: batch.map(({ env, topo }): RenderJob => ({ env, file: topo.file, topology: topo.value })) };
        const done = opts.pool.submit(request).then((reply) => {
          batch.forEach(({ env: e, topo }, k) => {
            const outcome = reply.outcomes?.[k];
            const env = envs[e];
            if (!outcome || !env) throw new Error(`render worker gave no answer for ${topo.file}`);
            let render: TopologyRender | undefined;
            const again = (): TopologyRender => (render ??= renderTopology(env, topo));
            const files = filesOfHeads(outcome.heads, topo.file, again);
            outcomes.set(jobKey(e, topo.file), { outcome, files });
            // What makes assemble() report an error, known before it runs (see the end).
            for (const f of files) {
              const owner = owners.get(f.identity);
              if (owner === undefined) owners.set(f.identity, topo.file);
              else if (owner !== topo.file) clash = true;
            }
            if (outcome.problems.some((p) => p.severity === 'error')) placementError = true;
          });
        });
        done.catch(() => undefined);
        rendering.push(done);
      }
    };

    // Parse, validate and hand out chunk by chunk, then the checks over all topologies.
    for (let i = 0; i < topologySources.length; i += CHUNK) {
      const load = parseSources(topologySources.slice(i, i + CHUNK));
      // A chunk alone has "topologies but no environment files" (DBT1111); the repository has them.
      const valid = validator.addTopologies(load.topologies, load.diagnostics.filter((d) => d.code !== 'DBT1111'));
      const jobs: Array<{ env: number; topo: Located<Topology> }> = [];
      for (const topo of valid) envs.forEach((env, e) => appliesTo(topo.value, env.name) && jobs.push({ env: e, topo }));
      submit(jobs);
      await nextTurn(); // let replies in, so the pool keeps every worker fed
    }
    const repo = validator.finish();
    if (hasErrors(repo.diagnostics)) {
      await opts.pool.close(); // no worker writes into the staging directory after this
      await rm(tmp, { recursive: true, force: true });
      return { invalid: repo };
    }

    // The jobs of the serial compile, in its order; each must have been rendered exactly once.
    const envIndex = new Map(envs.map((env, e) => [env.name, e]));
    const expected = jobsOf(repo, opts.env).jobs.map(({ env, topo }) => ({ env: envIndex.get(env.name) ?? -1, topo }));
    await ready;
    await Promise.all(rendering);
    const missing = expected.filter((j) => !outcomes.has(jobKey(j.env, j.topo.file)));
    submit(missing);
    await Promise.all(rendering);
    if (outcomes.size !== expected.length) throw new Error(`internal error: workers rendered ${outcomes.size} jobs, the compile has ${expected.length}`);

    const renders = expected.map(({ env: e, topo }): RenderOutline<HeadFile> => {
      const env = envs[e];
      const done = outcomes.get(jobKey(e, topo.file));
      if (!env || !done) throw new Error(`internal error: no render of ${topo.file}`);
      return { env: env.name, files: done.files, namespaces: done.outcome.namespaces, diagnostics: placeDiagnostics(env, topo, done.outcome.problems) };
    });
    const byFile = new Map<string, Located<Topology>>(repo.topologies.map((t) => [t.file, t]));
    const locate = (file: string): { line: number; col: number } => byFile.get(file)?.locate(['name']) ?? { line: 1, col: 1 };
    const finish = (all: Array<HeadFile | RenderedFile>): CompileResult => {
      const assembled = assemble(envs, renders, locate, all);
      return { files: assembled.files.map(wholeFile), diagnostics: sortDiagnostics([...repo.diagnostics, ...assembled.diagnostics]) };
    };
    const all = assemblyFiles(envs, renders);
    // assemble() reports errors only for placement problems and duplicate objects; with neither
    // (checked above as replies came in) the output can be swapped in now, and the rest of
    // assemble() runs while the workers remove the previous tree.
    if (clash || placementError) {
      const result = finish(all);
      if (!hasErrors(result.diagnostics)) throw new Error('internal error: the parallel compile saw an error its checks do not report; please report it');
      return result;
    }

    // CRDs, Namespaces and Argo CD objects: rendered here, a few dozen files.
    await writeTree(tmp, all.filter((f): f is RenderedFile => !('file' in f)));
    committed = true;
    let removing: Promise<void> = Promise.resolve();
    await commitStaged(tmp, opts.out, opts.env !== undefined ? [opts.env] : undefined, (dirs) => {
      removing = removeTreesWith(opts.pool, dirs);
      removing.catch(() => undefined); // awaited below
      return Promise.resolve();
    });
    try {
      const result = finish(all);
      if (hasErrors(result.diagnostics)) throw new Error('internal error: the parallel compile wrote an output its own checks reject; please report it');
      opts.outline?.({
        repo,
        renders: expected.map(({ env: e, topo }, i) => {
          const done = outcomes.get(jobKey(e, topo.file));
          const r = renders[i];
          if (!done || !r) throw new Error(`internal error: no render of ${topo.file}`);
          return { env: r.env, source: topo.file, heads: done.outcome.heads, namespaces: done.outcome.namespaces, diagnostics: [...r.diagnostics] };
        }),
      });
      return result;
    } finally {
      await removing;
    }
  } finally {
    if (!committed) {
      await opts.pool.close();
      await rm(tmp, { recursive: true, force: true });
    }
  }
}
