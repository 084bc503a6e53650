// The compile pipeline, shaped like kustomize's kio (readers → filters → writers):
//
//   source → validate → render → assemble → sink
//
// runPipeline() below is the one orchestration; every compile is a Configuration of it:
//
//   compile            source                 known validation    renderer                 sink
//   compileModel       a validated repository  —                   this thread              memory
//   serial, written    the repository's files  —                   this thread              atomic tree swap (emit/sinks.ts)
//   parallel           the repository's files  —                   the worker pool          staged tree the workers wrote into
//   over a state       the repository's files  the state           the state's heads, or    only the files whose text
//                                                                  this thread if changed   changed (emit/sinks.ts)
//   watch              the repository's files  its cache           its cache, or this thr.  in-place update of its own tree
//   plan, each side    a Git ref's files       the shared cache    the shared cache         memory
//
// (compile.ts, reuse.ts, incremental.ts, plan/compile-sides.ts build them.)
//
// Ordering contract, the one place it is written down; every configuration keeps all of it, which
// is why their outputs are byte for byte the same:
//  1. Validate (validate-stage.ts): the environment files first, then the topology files in path
//     order. Checks across topology files (duplicate names, DBT3070) see the whole repository. A
//     file taken as known is validated as it was, and the checks across files run on it again.
//  2. Jobs: the environments by name (all, or the one `env` names), and in each the topologies
//     that apply to it by name, then file (select.ts). Environment-major.
//  3. Render: a job's files are a pure function of its environment and topology, in the order
//     render.ts gives them. A renderer may run jobs in any order or thread, start on them while
//     step 1 still runs (prefetch), or take a job's render from a cache or a state, as long as
//     it hands back exactly those files, in that order, for the jobs of step 2 in their order.
//  4. Assemble (assemble.ts): per environment its jobs' files in job order, then per member
//     cluster its CRDs, its Namespaces by name and its admission guards; after all environments
//     the Argo CD objects. The duplicate-object check (DBT5001) runs in that order, the first
//     file of a key owning it. The files are sorted by path (on first read).
//  5. Diagnostics: validation's, then each job's placement problems, then DBT5001; sorted
//     (sortDiagnostics) once, at the end.
//  6. Sink: only a result without errors is written, and nothing of a failed write is visible
//     (emit/write.ts, emit/update.ts, emit/sinks.ts). The compile state (emit/state.ts) is
//     written after the tree it describes and dropped before the tree changes.
import type { Environment, Topology } from '../../schemas/types/index.js';
import { hasErrors } from '../diagnostics.js';
import type { Located, SourceFile } from '../load/index.js';
import { appliesTo } from '../resolve/index.js';
import type { ValidRepo } from '../validate/index.js';
import { assembleCompile } from './assemble.js';
import { wholeFile, type CompileResult, type FileHead, type RenderedFile, type RenderOutline } from './rendered-file.js';

export type { Compiled, Configuration, Job, Renderer, Sink } from './stages.js';
import { orderTopologies, requireEnvironment, selectEnvironments } from './select.js';
import { andThen, type Compiled, type Configuration, type Job, type Renderer, type Sink } from './stages.js';
import { validateSources } from './validate-stage.js';

export interface Outcome<F extends FileHead, S> {
  compiled: Compiled<F>;
  /** The compile's files (whole on first read of an object or text) and diagnostics. */
  result: CompileResult;
  /** The sink's report; absent when the compile had errors and nothing was written. */
  written?: S;
}

export type Input = { sources: readonly SourceFile[] } | { repo: ValidRepo };

/** Step 2: the environments a compile covers and its jobs, in the contract's order. */
export function jobsOf(repo: ValidRepo, env: string | undefined): { envs: Environment[]; jobs: Job[] } {
  const envs = selectEnvironments(repo, env);
  const topologies = orderTopologies(repo);
  const jobs: Job[] = [];
  for (const e of envs) for (const topo of topologies) if (appliesTo(topo.value, e.name)) jobs.push({ env: e, topo });
  return { envs, jobs };
}

/** A renderer that renders (or looks up) one job at a time in this thread. */
export function perJob<F extends FileHead>(render: (env: Environment, topo: Located<Topology>) => RenderOutline<F>): Renderer<F, true> {
  return { render: (jobs) => jobs.map((j) => render(j.env, j.topo)) };
}

/** The sink of a compile kept in memory. */
export const memorySink: Sink<FileHead, undefined, true> = { write: () => undefined };

/** The pipeline: synchronous when the renderer and the sink are. */
export function runPipeline<F extends FileHead, S>(input: Input, config: Configuration<F, S, true>): Outcome<F, S>;
export function runPipeline<F extends FileHead, S>(input: Input, config: Configuration<F, S>): Outcome<F, S> | Promise<Outcome<F, S>>;
export function runPipeline<F extends FileHead, S>(input: Input, config: Configuration<F, S>): Outcome<F, S> | Promise<Outcome<F, S>> {
  const { renderer, sink, env } = config;
  let begun = false;
  const begin = (envs: readonly Environment[]): void => {
    if (!begun) renderer.begin?.(envs);
    begun = true;
  };
  let selected: Environment[] = [];
  const validated =
    'repo' in input
      ? input.repo
      : validateSources(input.sources, {
          ...(config.known !== undefined ? { known: config.known } : {}),
          environments: (environments) => {
            const envRepo: ValidRepo = { environments: [...environments], topologies: [], diagnostics: [] };
            if (config.envMustExist === true) requireEnvironment(envRepo, env);
            selected = selectEnvironments(envRepo, env);
            begin(selected);
          },
          // Each topology's environments one after the other: they go to one render thread
          // together, which then builds the topology's fragments (expand/fragment.ts) once.
          ...(renderer.prefetch !== undefined
            ? { topologies: (valid) => renderer.prefetch?.(valid.flatMap((topo) => selected.filter((e) => appliesTo(topo.value, e.name)).map((e) => ({ env: e, topo })))) }
            : {}),
        });
  return andThen(validated, (repo) => {
    if (config.envMustExist === true) requireEnvironment(repo, env);
    const { envs, jobs } = jobsOf(repo, env);
    begin(envs);
    return andThen(renderer.render(jobs), (renders) => {
      const compiled = assembleCompile(repo, envs, jobs, renders);
      const result = resultOf(compiled);
      if (hasErrors(compiled.diagnostics)) return { compiled, result };
      return andThen(sink.write(compiled), (written) => ({ compiled, result, written }));
    });
  });
}

/** The compile's result: its files as whole files (made on first read) and its diagnostics. */
function resultOf<F extends FileHead>(compiled: Compiled<F>): CompileResult {
  let files: RenderedFile[] | undefined;
  return {
    diagnostics: compiled.diagnostics,
    get objects() {
      return files?.length ?? compiled.objects;
    },
    get files() {
      return (files ??= compiled.files.map(wholeFile));
    },
  };
}
