// The stages of the compile pipeline (pipeline.ts) as a configuration plugs them in: what a
// renderer takes and gives, what a sink writes. A stage's value may be a promise where the stage
// is asynchronous (the worker pool, a disk): a compile whose stages are all synchronous (in
// memory: `dbtopo validate`, `dbtopo plan`) runs synchronously, and the same code serves the
// written compiles.
import type { Environment, Topology } from '../../schemas/types/index.js';
import type { Diagnostic } from '../diagnostics.js';
import type { Located, SourceFile } from '../load/index.js';
import type { ValidRepo } from '../validate/index.js';
import type { FileHead, RenderedFile, RenderOutline } from './rendered-file.js';

export type Staged<T, Sync extends boolean = boolean> = Sync extends true ? T : T | Promise<T>;

/** `next(value)`, now if `value` is there, else once it is. (Not named `then`: a module exporting `then` is a thenable, and `await import()` of it hangs.) */
export function andThen<T, U>(value: T | Promise<T>, next: (v: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** A topology file validated before against the same environment files, with the same text. */
export interface KnownTopology {
  located: Located<Topology>;
  /** Its load and validation diagnostics then, DBT3070 (checked across files) left out. */
  diagnostics: readonly Diagnostic[];
}

/** One topology rendered in one environment: the unit a renderer works on. */
export interface Job {
  env: Environment;
  topo: Located<Topology>;
}

/** Step 3. */
export interface Renderer<F extends FileHead, Sync extends boolean = boolean> {
  /** The environments of the compile, once, before any job is handed over. */
  begin?(envs: readonly Environment[]): void;
  /**
   * Jobs found valid while step 1 still runs; they may still turn out invalid, or not be asked
   * for. A promise returned pauses step 1 until it settles.
   */
  prefetch?(jobs: readonly Job[]): Staged<void, Sync>;
  /** The render of every job, in their order. */
  render(jobs: readonly Job[]): Staged<Array<RenderOutline<F>>, Sync>;
}

/** Step 6: writes a compile without errors; `S` is what it reports of the write. */
export interface Sink<F extends FileHead, S, Sync extends boolean = boolean> {
  write(compiled: Compiled<F>): Staged<S, Sync>;
}

export interface Configuration<F extends FileHead, S, Sync extends boolean = boolean> {
  /** The one environment to compile; all when absent. */
  env?: string;
  /** Throw a UsageError when `env` names an environment the repository lacks (else: nothing to compile). */
  envMustExist?: boolean;
  /** Step 1's shortcut for a topology file validated before. */
  known?: (source: SourceFile) => KnownTopology | undefined;
  renderer: Renderer<F, Sync>;
  sink: Sink<F, S, Sync>;
}

/** Steps 2 to 5: what a sink writes. */
export interface Compiled<F extends FileHead> {
  repo: ValidRepo;
  envs: Environment[];
  jobs: Array<Job & { render: RenderOutline<F> }>;
  /** The files of no one topology: CRDs, Namespaces, admission guards, Argo CD objects. */
  shared: RenderedFile[];
  diagnostics: Diagnostic[];
  /** Every file, sorted by path; made on first read (a written compile that only counts them never sorts them). */
  readonly files: ReadonlyArray<F | RenderedFile>;
  /** How many objects `files` has, without making or sorting them. */
  readonly objects: number;
}

