// Compiles the two sides of a plan: the compile pipeline (pipeline/pipeline.ts) with a shared
// render cache as its renderer and memory as its sink. A topology whose file text and environment
// files are the same on both sides renders to the same objects, so it is rendered once and both
// sides hold the very same object references (which also lets the diff skip them by identity);
// test/unit/plan-compile-sides.test.ts checks that the files are compileModel's.
import type { Environment, Topology } from '../../schemas/types/index.js';
import { compileRenders } from '../pipeline/pipeline.js';
import { filesOfHeads, type RenderedFile, type TopologyRender } from '../pipeline/rendered-file.js';
import { renderTopology } from '../pipeline/render-topology.js';
import type { Diagnostic } from '../diagnostics.js';
import { parseSources, sourceKind, type Located, type SourceFile } from '../load/index.js';
import { validate, Validator, type ValidRepo } from '../validate/index.js';
import { envKeyOf, sha256, type CompileState, type TopologyState } from '../emit/state.js';
import { knownTopology } from '../reuse.js';

export interface CompiledFiles {
  files: RenderedFile[];
  environments: Environment[];
  diagnostics: Diagnostic[];
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class SharedRenderCache {
  private readonly renders = new Map<string, TopologyRender>();
  /** Valid topology files of a side compiled before: parsed and validated once for both sides. */
  private readonly validated = new Map<string, { located: Located<Topology>; diagnostics: Diagnostic[] }>();
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

  /**
   * validate(parseSources(sources)), with each topology file the other side had with the same
   * text and environment files taken as validated there (Validator.addKnown: the same
   * diagnostics, the duplicate-name check run again).
   */
  private validate(sources: ReadonlyArray<SourceFile>, envKey: string): ValidRepo {
    const envSources = sources.filter((s) => sourceKind(s.path) === 'environment');
    const envLoad = parseSources(envSources);
    if (envLoad.environments.length === 0) return validate(parseSources([...sources]));
    const validator = new Validator(envLoad.environments, envLoad.diagnostics);
    const topoSources = sources.filter((s) => sourceKind(s.path) === 'topology').sort((a, b) => byString(a.path, b.path));
    const fresh: string[] = [];
    for (const s of topoSources) {
      const key = `${envKey}\0${s.path}\0${s.text}`;
      let known = this.validated.get(key);
      const recorded = known ? undefined : this.stateFor(envSources, s);
      if (recorded) {
        known = { located: knownTopology(s.path, s.text, recorded.value as Topology), diagnostics: recorded.diagnostics };
        this.validated.set(key, known);
      }
      if (known) {
        validator.addKnown(known.located, known.diagnostics);
        this.reusedFiles++;
        continue;
      }
      const load = parseSources([s]);
      validator.addTopologies(load.topologies, load.diagnostics.filter((d) => d.code !== 'DBT1111'));
      fresh.push(s.path);
      this.parsedFiles++;
    }
    const repo = validator.finish();
    const byFile = new Map(repo.topologies.map((t) => [t.file, t]));
    const diagnostics = new Map<string, Diagnostic[]>();
    for (const d of repo.diagnostics) {
      if (d.code === 'DBT3070') continue;
      const list = diagnostics.get(d.file) ?? [];
      list.push(d);
      diagnostics.set(d.file, list);
    }
    const text = new Map(topoSources.map((s) => [s.path, s.text]));
    for (const path of fresh) {
      const located = byFile.get(path);
      if (located) this.validated.set(`${envKey}\0${path}\0${text.get(path) ?? ''}`, { located, diagnostics: diagnostics.get(path) ?? [] });
    }
    return repo;
  }

  compile(sources: ReadonlyArray<SourceFile>, env?: string): CompiledFiles {
    // Every topology renders against all environment files, so they are part of the key.
    const envKey = sources
      .filter((s) => sourceKind(s.path) === 'environment')
      .map((s) => `${s.path}\0${s.text}`)
      .sort(byString)
      .join('\0');
    const repo = this.validate(sources, envKey);
    const envSources = sources.filter((s) => sourceKind(s.path) === 'environment');
    const text = new Map(sources.map((s) => [s.path, s.text]));
    const compiled = compileRenders(repo, env, (e, topo) => {
      const key = `${envKey}\0${e.name}\0${topo.file}\0${text.get(topo.file) ?? ''}`;
      let r = this.renders.get(key);
      if (r) {
        this.hits++;
        return r;
      }
      const source = { path: topo.file, text: text.get(topo.file) ?? '' };
      const kept = this.stateFor(envSources, source)?.renders.find((k) => k.env === e.name);
      if (kept) {
        // Heads for files; rendered again only if something reads a whole object or its text.
        let again: TopologyRender | undefined;
        const files = filesOfHeads(kept.heads, topo.file, () => (again ??= renderTopology(e, topo)));
        r = { env: e.name, source: topo.file, files: files as unknown as RenderedFile[], namespaces: kept.namespaces, diagnostics: kept.diagnostics };
        this.fromState++;
      } else {
        this.misses++;
        r = renderTopology(e, topo);
      }
      this.renders.set(key, r);
      return r;
    });
    return { files: compiled.files, environments: repo.environments.map((e) => e.value), diagnostics: compiled.diagnostics };
  }
}
