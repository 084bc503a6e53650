// The compile pipeline, shaped like kustomize's kio (readers → filters → writers):
//
//   source → validate → render → assemble → sink
//
// Every compile is one configuration of it: which source (repository files, a Git ref's files, the
// changed files of a watch loop), which renderer (renderTopology in this thread, a cache or the
// state of an earlier compile standing in for it, the worker pool of compiler/parallel), which
// sink (atomic swap of the tree, in-place update of a known tree, memory for `dbtopo plan`).
// compileRenders() below is the part they share, render and assemble: compileModel
// (compile.ts), the plan's sides (plan/compile-sides.ts) and the incremental compiler
// (incremental.ts) run it with their renderer. The parallel compile (parallel/compile-write.ts)
// and the compile over an earlier state (reuse.ts) overlap these steps with parsing and writing,
// so they run them themselves, with jobsOf()'s jobs and assemble.ts, in this same order.
//
// Ordering contract, the one place it is written down; every configuration keeps all of it, which
// is why their outputs are byte for byte the same:
//  1. Validate: the environment files first, then the topology files in path order. Checks across
//     topology files (duplicate names, DBT3070) see the whole repository.
//  2. Jobs: the environments by name (all, or the one --env names), and in each the topologies
//     that apply to it by name, then file (select.ts). Environment-major.
//  3. Render: a job's files are a pure function of its environment and topology, in the order
//     render.ts gives them. A renderer may run jobs in any order or thread, or take a job's render
//     from a cache, as long as it hands back exactly those files in that order.
//  4. Assemble (assemble.ts): per environment its jobs' files in job order, then per member
//     cluster its CRDs, its Namespaces by name and its admission guards; after all environments
//     the Argo CD objects. The duplicate-object check (DBT5001) runs in that order, the first
//     file of a key owning it. Then the files are sorted by path.
//  5. Diagnostics: validation's, then each job's placement problems, then DBT5001; sorted
//     (sortDiagnostics) once, at the end.
//  6. Sink: only a result without errors is written, and nothing of a failed write is visible
//     (emit/write.ts, emit/update.ts). The compile state (emit/state.ts) is written after the
//     tree it describes and dropped before the tree changes.
import type { Environment, Topology } from '../../schemas/types/index.js';
import { sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import type { Located } from '../load/index.js';
import { appliesTo } from '../resolve/index.js';
import type { ValidRepo } from '../validate/index.js';
import { assemble } from './assemble.js';
import type { FileHead, RenderedFile, RenderOutline } from './rendered-file.js';
import { orderTopologies, selectEnvironments } from './select.js';

/** Renders one job (step 3): in this thread, from a cache, or from the heads of an earlier render. */
export type Renderer<R extends RenderOutline<FileHead>> = (env: Environment, topo: Located<Topology>) => R;

/** One topology rendered in one environment: the unit a renderer works on. */
export interface Job {
  env: Environment;
  topo: Located<Topology>;
}

/** Step 2: the environments a compile covers and its jobs, in the contract's order. */
export function jobsOf(repo: ValidRepo, env: string | undefined): { envs: Environment[]; jobs: Job[] } {
  const envs = selectEnvironments(repo, env);
  const topologies = orderTopologies(repo);
  const jobs: Job[] = [];
  for (const e of envs) for (const topo of topologies) if (appliesTo(topo.value, e.name)) jobs.push({ env: e, topo });
  return { envs, jobs };
}

export interface Compiled<R extends RenderOutline<FileHead>> {
  envs: Environment[];
  jobs: Array<Job & { render: R }>;
  files: Array<R['files'][number] | RenderedFile>;
  diagnostics: Diagnostic[];
}

/** Steps 2 to 5 over a validated repository: every job rendered by `render`, then assembled. */
export function compileRenders<R extends RenderOutline<FileHead>>(repo: ValidRepo, env: string | undefined, render: Renderer<R>): Compiled<R> {
  const { envs, jobs: order } = jobsOf(repo, env);
  const jobs = order.map((j) => ({ ...j, render: render(j.env, j.topo) }));
  const byFile = new Map(repo.topologies.map((t) => [t.file, t]));
  const result = assemble<R['files'][number]>(
    envs,
    jobs.map((j) => j.render),
    (file) => byFile.get(file)?.locate(['name']) ?? { line: 1, col: 1 },
  );
  return { envs, jobs, files: result.files, diagnostics: sortDiagnostics([...repo.diagnostics, ...result.diagnostics]) };
}
