// Incremental compile for watch mode and fast local loops, as a configuration of the compile
// pipeline (pipeline/pipeline.ts): an in-process cache from each topology file's text (and all
// environment files' text) to its validation and what it rendered. A recompile reads the
// repository, parses and validates only the changed topology files (the others are known; the
// checks across files run over all of them, so the diagnostics are a full compile's), renders
// only those, and rewrites only the output files whose text changed: the cache as the known
// validations and the renderer, an in-place update of the tree this compiler last wrote as the sink.

import { hash } from 'node:crypto';
import { join } from 'node:path';
import type { Environment, Topology } from '../schemas/types/index.js';
import { hasErrors, type Diagnostic } from './diagnostics.js';
import { joinDocuments } from './emit/documents.js';
import { updateTree } from './emit/update.js';
import { writeRendered } from './emit/write.js';
import { readRepo, sourceKind, type Located } from './load/index.js';
import { memorySink, perJob, runPipeline, type Sink } from './pipeline/pipeline.js';
import type { CompileResult, RenderedFile, TopologyRender } from './pipeline/rendered-file.js';
import { renderTopology } from './pipeline/render-topology.js';
import { knownDiagnosticsByFile, type KnownTopology } from './pipeline/validate-stage.js';

interface Entry {
  hash: string;
  /** Its validation, once it was valid. */
  known?: KnownTopology;
  /** Its render per environment name. */
  renders: Map<string, TopologyRender>;
}

export interface IncrementalResult extends CompileResult {
  /** Topology files taken from the cache / parsed and rendered again. */
  reused: number;
  rendered: number;
  written: number;
  deleted: number;
}

interface Written {
  written: number;
  deleted: number;
}

const sha = (text: string): string => hash('sha256', text, 'hex');
const renderKey = (file: string, env: string): string => `${file}\0${env}`;

export class IncrementalCompiler {
  private envKey: string | undefined;
  private readonly entries = new Map<string, Entry>();
  /** What the output directory holds, as this compiler last wrote it: each render and the shared files. */
  private onDisk: { envKey: string; renders: Map<string, TopologyRender>; shared: RenderedFile[] } | undefined;
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
    const removed = [...this.entries.keys()].some((p) => !present.has(p));
    for (const path of [...this.entries.keys()]) if (!present.has(path)) this.entries.delete(path);
    const changed = topoSources.filter((s) => this.entries.get(s.path)?.hash !== sha(s.text));
    if (changed.length === 0 && !removed && envKey === this.lastKey && this.last) {
      // Nothing to do: the previous result stands, and the output already holds it.
      return { ...this.last, reused: topoSources.length, rendered: 0, written: 0, deleted: 0 };
    }
    for (const s of changed) this.entries.set(s.path, { hash: sha(s.text), renders: new Map() });

    const cached = (env: Environment, topo: Located<Topology>): TopologyRender => {
      const entry = this.entries.get(topo.file);
      if (!entry) throw new Error(`internal error: no cache entry for ${topo.file}`);
      let r = entry.renders.get(env.name);
      if (!r) {
        r = renderTopology(env, topo);
        entry.renders.set(env.name, r);
      }
      return r;
    };
    const write = opts.write !== false;
    const { compiled, result, written } = await runPipeline(
      { sources },
      { known: (s) => this.entries.get(s.path)?.known, renderer: perJob(cached), sink: write ? this.treeSink(envKey) : memorySink },
    );
    this.remember(compiled.repo.topologies, compiled.repo.diagnostics, changed.map((s) => s.path));

    // Only a result that reached the output may be returned again without looking (see above);
    // after errors or a dry run the next compile must look again even if nothing changed.
    const ok = write && !hasErrors(result.diagnostics);
    this.last = ok ? result : undefined;
    if (ok) this.lastKey = envKey;
    return {
      files: result.files,
      diagnostics: result.diagnostics,
      objects: result.objects,
      reused: topoSources.length - changed.length,
      rendered: changed.length,
      written: written?.written ?? 0,
      deleted: written?.deleted ?? 0,
    };
  }

  /** The validation of the changed files that are valid now, for the next compile. */
  private remember(valid: ReadonlyArray<Located<Topology>>, diagnostics: readonly Diagnostic[], changed: readonly string[]): void {
    const wanted = new Set(changed);
    const byFile = knownDiagnosticsByFile(diagnostics);
    for (const located of valid) {
      const entry = this.entries.get(located.file);
      if (!wanted.has(located.file) || !entry) continue;
      entry.known = { located, diagnostics: byFile.get(located.file) ?? [] };
    }
  }

  /**
   * The whole tree the first time (or after the environment files changed); after that only the
   * renders that differ from what is on disk, and the shared files (CRDs, Namespaces, Argo CD
   * objects), can have changed files.
   */
  private treeSink(envKey: string): Sink<RenderedFile, Written> {
    return {
      write: async (compiled) => {
        const renders = new Map(compiled.jobs.map((j) => [renderKey(j.topo.file, j.env.name), j.render as TopologyRender]));
        const onDisk = this.onDisk;
        let stats: Written;
        if (onDisk === undefined || onDisk.envKey !== envKey) {
          await writeRendered(this.out, compiled.files);
          stats = { written: new Set(compiled.files.map((f) => f.path)).size, deleted: 0 };
        } else {
          // Objects of the files that may change; a file holds all of one render's objects in its
          // member cluster, so the renders' objects give whole files (emit/paths.ts).
          const before: RenderedFile[] = [];
          const next: RenderedFile[] = [];
          for (const [key, r] of renders) {
            const old = onDisk.renders.get(key);
            if (old === r) continue;
            if (old) before.push(...old.files);
            next.push(...r.files);
          }
          for (const [key, old] of onDisk.renders) if (!renders.has(key)) before.push(...old.files);
          before.push(...onDisk.shared);
          next.push(...compiled.shared);
          const previous = new Map(joinDocuments(before).map((f) => [f.path, f.text]));
          stats = await updateTree(this.out, previous, next);
        }
        this.onDisk = { envKey, renders, shared: compiled.shared };
        return stats;
      },
    };
  }
}
