// Compiles the two sides of a plan in memory, sharing work: a topology whose file text and
// environment files are the same on both sides renders to the same objects, so it is rendered
// once and both sides hold the very same object references (which also lets the diff skip them
// by identity). Mirrors compileModel (compiler/compile.ts); test/unit/plan-compile-sides.test.ts
// checks that both give the same files.
import type { Environment, Topology } from '../../schemas/types/index.js';
import { assemble, selectEnvironments, renderTopology, type RenderedFile, type TopologyRender } from '../compile.js';
import { sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import { parseSources, sourceKind, type Located, type SourceFile } from '../load/index.js';
import { appliesTo } from '../resolve/index.js';
import { validate, Validator, type ValidRepo } from '../validate/index.js';

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
      const known = this.validated.get(`${envKey}\0${s.path}\0${s.text}`);
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
    const envs = selectEnvironments(repo, env);
    const text = new Map(sources.map((s) => [s.path, s.text]));
    const topologies = [...repo.topologies].sort((a, b) => byString(a.value.name, b.value.name) || byString(a.file, b.file));
    const renders: TopologyRender[] = [];
    for (const e of envs) {
      for (const topo of topologies) {
        if (!appliesTo(topo.value, e.name)) continue;
        const key = `${envKey}\0${e.name}\0${topo.file}\0${text.get(topo.file) ?? ''}`;
        let r = this.renders.get(key);
        if (r) this.hits++;
        else {
          this.misses++;
          r = renderTopology(e, topo);
          this.renders.set(key, r);
        }
        renders.push(r);
      }
    }
    const byFile = new Map(repo.topologies.map((t) => [t.file, t]));
    const result = assemble(envs, renders, (file) => byFile.get(file)?.locate(['name']) ?? { line: 1, col: 1 });
    return {
      files: result.files,
      environments: repo.environments.map((e) => e.value),
      diagnostics: sortDiagnostics([...repo.diagnostics, ...result.diagnostics]),
    };
  }
}
