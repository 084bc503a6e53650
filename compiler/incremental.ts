// Incremental compile for watch mode and fast local loops: an in-process cache from each
// topology file's text (and all environment files' text) to what it rendered. A recompile reads
// the repository, parses and validates only the changed topology files, renders only those, and
// rewrites only the output files whose text changed. In the terms of the compile pipeline
// (pipeline/pipeline.ts): the changed files as the source, this cache as the renderer, and an
// in-place update of the tree this compiler last wrote as the sink.
//
// Trade-off: checks across topology files (duplicate names, DBT3070) only see the changed files
// and the duplicate-object check (DBT5001); a cold compile (`dbtopo compile`) sees everything.

import { hash } from 'node:crypto';
import { join } from 'node:path';
import type { Environment, Topology } from '../schemas/types/index.js';
import { compileRenders } from './pipeline/pipeline.js';
import type { CompileResult, RenderedFile, TopologyRender } from './pipeline/rendered-file.js';
import { renderTopology } from './pipeline/render-topology.js';
import { hasErrors, type Diagnostic } from './diagnostics.js';
import { updateTree } from './emit/update.js';
import { writeRendered } from './emit/write.js';
import { parseSources, readRepo, sourceKind, type Located } from './load/index.js';
import { appliesTo } from './resolve/index.js';
import { validate, type ValidRepo } from './validate/index.js';

interface Entry {
  hash: string;
  located?: Located<Topology>;
  renders: TopologyRender[];
  /** Load/validate diagnostics of this file (warnings of a valid file, errors of an invalid one). */
  diagnostics: Diagnostic[];
}

export interface IncrementalResult extends CompileResult {
  /** Topology files taken from the cache / parsed and rendered again. */
  reused: number;
  rendered: number;
  written: number;
  deleted: number;
}

const sha = (text: string): string => hash('sha256', text, 'hex');

export class IncrementalCompiler {
  private envKey: string | undefined;
  private readonly entries = new Map<string, Entry>();
  /** What the output directory holds, as this compiler last wrote it: renders per topology file and the shared files. */
  private onDisk: { envKey: string; renders: Map<string, TopologyRender[]>; shared: RenderedFile[] } | undefined;
  private readonly out: string;
  /** The last result written to the output, and the environment key it was compiled with. */
  private last: CompileResult | undefined;
  private lastKey: string | undefined;

  constructor(private readonly repo: string, out?: string) {
    this.out = out ?? join(repo, 'rendered');
  }

  async compile(opts: { write?: boolean } = {}): Promise<IncrementalResult> {
    const sources = await readRepo(this.repo);
    const envSources = sources.filter((s) => sourceKind(s.path) === 'environment');
    const topoSources = sources.filter((s) => sourceKind(s.path) === 'topology');
    const envKey = sha(envSources.map((s) => `${s.path}\0${s.text}`).join('\0'));
    if (envKey !== this.envKey) this.entries.clear(); // every topology renders against the environments
    this.envKey = envKey;

    const present = new Set(topoSources.map((s) => s.path));
    const removed = this.entries.size > present.size || [...this.entries.keys()].some((p) => !present.has(p));
    for (const path of [...this.entries.keys()]) if (!present.has(path)) this.entries.delete(path);
    const changed = topoSources.filter((s) => this.entries.get(s.path)?.hash !== sha(s.text));
    if (changed.length === 0 && !removed && envKey === this.lastKey && this.last) {
      // Nothing to do: the previous result stands, and the output already holds it.
      return { ...this.last, reused: topoSources.length, rendered: 0, written: 0, deleted: 0 };
    }

    const valid = validate(parseSources([...envSources, ...changed]));
    const envs = valid.environments.map((e) => e.value);
    const byFile = new Map(valid.topologies.map((t) => [t.file, t]));
    for (const s of changed) {
      const located = byFile.get(s.path);
      const renders = located ? envs.filter((e) => appliesTo(located.value, e.name)).map((e) => renderTopology(e, located)) : [];
      this.entries.set(s.path, {
        hash: sha(s.text),
        ...(located ? { located } : {}),
        renders,
        diagnostics: valid.diagnostics.filter((d) => d.file === s.path),
      });
    }

    // The pipeline over every cached topology, each render taken from the cache.
    const entries = [...this.entries.values()];
    const repo: ValidRepo = {
      environments: valid.environments,
      topologies: entries.flatMap((e) => (e.located ? [e.located] : [])),
      diagnostics: [...valid.diagnostics.filter((d) => !present.has(d.file)), ...entries.flatMap((e) => e.diagnostics)],
    };
    const cached = (env: Environment, topo: Located<Topology>): TopologyRender => {
      const r = this.entries.get(topo.file)?.renders.find((x) => x.env === env.name);
      if (!r) throw new Error(`internal error: no cached render of ${topo.file} in ${env.name}`);
      return r;
    };
    const result = compileRenders(repo, undefined, cached);
    const diagnostics = result.diagnostics;

    let written = 0;
    let deleted = 0;
    if (opts.write !== false && !hasErrors(diagnostics)) {
      const shared = result.files.filter((f) => f.source === undefined);
      if (this.onDisk === undefined || this.onDisk.envKey !== envKey) {
        await writeRendered(this.out, result.files);
        written = result.files.length;
      } else {
        // Only topologies whose renders differ from what is on disk, and the shared files
        // (CRDs, Namespaces, Argo CD objects), can have changed files.
        const previous = new Map<string, string>();
        const next: RenderedFile[] = [];
        const addAll = (into: (f: RenderedFile) => void, renders: readonly TopologyRender[] | undefined): void =>
          renders?.forEach((r) => r.files.forEach(into));
        for (const [path, e] of this.entries) {
          const old = this.onDisk.renders.get(path);
          if (old === e.renders) continue;
          addAll((f) => previous.set(f.path, f.text), old);
          addAll((f) => next.push(f), e.renders);
        }
        for (const [path, old] of this.onDisk.renders) if (!this.entries.has(path)) addAll((f) => previous.set(f.path, f.text), old);
        for (const f of this.onDisk.shared) previous.set(f.path, f.text);
        next.push(...shared);
        ({ written, deleted } = await updateTree(this.out, previous, next));
      }
      this.onDisk = { envKey, renders: new Map([...this.entries].map(([path, e]) => [path, e.renders])), shared };
    }
    // Only a result that reached the output may be returned again without looking (see above);
    // after errors or a dry run the next compile must look again even if nothing changed.
    if (opts.write !== false && !hasErrors(diagnostics)) {
      this.last = { files: result.files, diagnostics };
      this.lastKey = envKey;
    } else {
      this.last = undefined;
    }
    return { files: result.files, diagnostics, reused: topoSources.length - changed.length, rendered: changed.length, written, deleted };
  }
}
