// Compiles the two sides of a plan: the compile pipeline (pipeline/pipeline.ts) with a shared
// validation and render cache as its known validations and its renderer, and memory as its sink. A topology whose file text and environment
// files are the same on both sides renders to the same objects, so it is rendered once and both
// sides hold the very same object references (which also lets the diff skip them by identity);
// test/unit/plan-compile-sides.test.ts checks that the files are compileModel's.
import type { Environment, Topology } from '../../schemas/types/index.js';
import { memorySink, perJob, runPipeline } from '../pipeline/pipeline.js';
import type { FileHead, RenderedFile, RenderOutline } from '../pipeline/rendered-file.js';
import { keptRender, renderTopology } from '../pipeline/render-topology.js';
import { byString } from '../pipeline/select.js';
import { knownDiagnosticsByFile, knownTopology, type KnownTopology } from '../pipeline/validate-stage.js';
import type { Diagnostic } from '../diagnostics.js';
import { sourceKind, type Located, type SourceFile } from '../load/index.js';
import type { ValidRepo } from '../validate/index.js';
import { envKeyOf, sha256, type CompileState, type TopologyState } from '../emit/state.js';
import { HEAD_FIELDS } from '../parallel/protocol.js';
import { instanceSetKey } from './classify.js';

export interface CompiledFiles {
  /** Every file, sorted by path; made on first read (`dbtopo plan` reads the renders instead). */
  readonly files: RenderedFile[];
  /**
   * Each job's render, in job order. A topology unchanged between the sides has the very same
   * render object on both, so the plan leaves out every render both sides share (run.ts).
   */
  renders: ReadonlyArray<RenderOutline<FileHead>>;
  /** The files of no one topology (CRDs, Namespaces, guards, Argo CD objects). */
  shared: readonly RenderedFile[];
  environments: Environment[];
  diagnostics: Diagnostic[];
}

const instanceSetsOfRender = new WeakMap<RenderOutline<FileHead>, string[]>();
/** Every InstanceSet of a side (classify.ts instanceSetKey), from its files' heads; once per render. */
export function instanceSetsOf(side: CompiledFiles): Set<string> {
  const out = new Set<string>();
  for (const r of side.renders) {
    let keys = instanceSetsOfRender.get(r);
    if (keys === undefined) {
      keys = [];
      const h = r.heads;
      if (h !== undefined) {
        for (let i = 0; i < h.length; i += HEAD_FIELDS) if (h[i + 4] === 'InstanceSet') keys.push(instanceSetKey(h[i] ?? '', h[i + 6] || undefined, h[i + 5] ?? ''));
      } else {
        for (const f of r.files) if (f.object.kind === 'InstanceSet') keys.push(instanceSetKey(f.env, f.object.metadata.namespace, f.object.metadata.name));
      }
      instanceSetsOfRender.set(r, keys);
    }
    for (const k of keys) out.add(k);
  }
  for (const f of side.shared) if (f.object.kind === 'InstanceSet') out.add(instanceSetKey(f.env, f.object.metadata.namespace, f.object.metadata.name));
  return out;
}

export class SharedRenderCache {
  private readonly renders = new Map<string, RenderOutline<FileHead>>();
  /** Valid topology files of a side compiled before: parsed and validated once for both sides. */
  private readonly validated = new Map<string, KnownTopology>();
  hits = 0;
  misses = 0;
  /** Renders taken from the state of the last `dbtopo compile` (heads only) instead of rendering. */
  fromState = 0;

  /**
   * `state`: what the last `dbtopo compile` in the checkout recorded (emit/state.ts); used only
   * for topology files in `both` (path and text the same on both sides, whose objects the diff
   * leaves out as the same on both) when the environment files are the state's: their validated
   * value, diagnostics and the heads of their files, which is all the checks across files, the
   * shared files and the plan's InstanceSet index read of them.
   */
  constructor(
    private readonly state?: CompileState,
    private readonly both?: ReadonlySet<string>,
  ) {}

  private stateFor(envSources: ReadonlyArray<SourceFile>, s: SourceFile): TopologyState | undefined {
    if (!this.state || !this.both?.has(`${s.path}\0${s.text}`)) return undefined;
    if (this.stateEnvKey === undefined) this.stateEnvKey = envKeyOf(envSources);
    if (this.stateEnvKey !== this.state.envKey) return undefined;
    const t = this.state.topologies[s.path];
    return t !== undefined && t.hash === sha256(s.text) ? t : undefined;
  }
  private stateEnvKey: string | undefined;
  /** Topology files taken validated from the other side / parsed and validated. */
  reusedFiles = 0;
  parsedFiles = 0;

  compile(sources: ReadonlyArray<SourceFile>, env?: string): CompiledFiles {
    // Every topology renders against all environment files, so they are part of the key.
    const envSources = sources.filter((s) => sourceKind(s.path) === 'environment');
    const envKey = envSources
      .map((s) => `${s.path}\0${s.text}`)
      .sort(byString)
      .join('\0');
    const text = new Map(sources.map((s) => [s.path, s.text]));
    const parsed: string[] = [];
    // Each topology file the other side had with the same text and environment files is taken as
    // validated there (or in the state); the others are parsed and validated.
    const known = (s: SourceFile): KnownTopology | undefined => {
      const key = `${envKey}\0${s.path}\0${s.text}`;
      let k = this.validated.get(key);
      const recorded = k ? undefined : this.stateFor(envSources, s);
      if (recorded) {
        k = { located: knownTopology(s.path, s.text, recorded.value as Topology), diagnostics: recorded.diagnostics };
        this.validated.set(key, k);
      }
      if (k) this.reusedFiles++;
      else {
        parsed.push(s.path);
        this.parsedFiles++;
      }
      return k;
    };
    const render = (e: Environment, topo: Located<Topology>): RenderOutline<FileHead> => {
      const key = `${envKey}\0${e.name}\0${topo.file}\0${text.get(topo.file) ?? ''}`;
      let r = this.renders.get(key);
      if (r) {
        this.hits++;
        return r;
      }
      const kept = this.stateFor(envSources, { path: topo.file, text: text.get(topo.file) ?? '' })?.renders.find((k) => k.env === e.name);
      if (kept) {
        this.fromState++;
        r = keptRender(e, topo, kept);
      } else {
        this.misses++;
        r = renderTopology(e, topo);
      }
      this.renders.set(key, r);
      return r;
    };
    const { compiled, result } = runPipeline(
      { sources },
      { ...(env !== undefined ? { env } : {}), known, renderer: perJob(render), sink: memorySink },
    );
    this.remember(compiled.repo, parsed, envKey, text);
    // A render from the state hands out its files' heads as they are, not the whole files: their
    // objects are then only kind, name and namespace, which is all a test comparing the files
    // reads of a file that is the same on both sides; a whole file would render its topology
    // again on first read of its object.
    return {
      get files() {
        return compiled.files as readonly FileHead[] as RenderedFile[];
      },
      renders: compiled.jobs.map((j) => j.render),
      shared: compiled.shared,
      environments: compiled.repo.environments.map((e) => e.value),
      diagnostics: result.diagnostics,
    };
  }

  /** The freshly validated topology files, for the other side. */
  private remember(repo: ValidRepo, parsed: readonly string[], envKey: string, text: ReadonlyMap<string, string>): void {
    const byFile = new Map(repo.topologies.map((t) => [t.file, t]));
    const diagnostics = knownDiagnosticsByFile(repo.diagnostics);
    for (const path of parsed) {
      const located = byFile.get(path);
      if (located) this.validated.set(`${envKey}\0${path}\0${text.get(path) ?? ''}`, { located, diagnostics: diagnostics.get(path) ?? [] });
    }
  }
}
