// Compiles the two sides of a plan in memory, sharing work: a topology whose file text and
// environment files are the same on both sides renders to the same objects, so it is rendered
// once and both sides hold the very same object references (which also lets the diff skip them
// by identity). Mirrors compileModel (compiler/compile.ts); test/unit/plan-compile-sides.test.ts
// checks that both give the same files.
import type { Environment } from '../../schemas/types/index.js';
import { assemble, selectEnvironments, renderTopology, type RenderedFile, type TopologyRender } from '../compile.js';
import { sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import { parseSources, sourceKind, type SourceFile } from '../load/index.js';
import { appliesTo } from '../resolve/index.js';
import { validate } from '../validate/index.js';

export interface CompiledFiles {
  files: RenderedFile[];
  environments: Environment[];
  diagnostics: Diagnostic[];
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class SharedRenderCache {
  private readonly renders = new Map<string, TopologyRender>();
  hits = 0;
  misses = 0;

  compile(sources: ReadonlyArray<SourceFile>, env?: string): CompiledFiles {
    const repo = validate(parseSources([...sources]));
    const envs = selectEnvironments(repo, env);
    // Every topology renders against all environment files, so they are part of the key.
    const envKey = sources
      .filter((s) => sourceKind(s.path) === 'environment')
      .map((s) => `${s.path}\0${s.text}`)
      .sort(byString)
      .join('\0');
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
