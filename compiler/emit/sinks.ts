// The sinks of the compile pipeline (pipeline/pipeline.ts, step 6) that write a whole tree: the
// serial one writes every file into a staging directory and swaps it in (write.ts); the staged
// one swaps in a directory the render workers already wrote the topologies' files into. A
// compile of every environment records its state (state.ts) after the tree, for the next
// compile to write only what changed (reuse.ts holds that sink; incremental.ts the watch loop's).
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Diagnostic } from '../diagnostics.js';
import { sourceKind, type SourceFile } from '../load/index.js';
import type { Compiled, Sink } from '../pipeline/pipeline.js';
import { HEAD_FIELDS } from '../parallel/protocol.js';
import { headAt, headsOf, wholeFile, type FileHead, type RenderOutline } from '../pipeline/rendered-file.js';
import { knownDiagnosticsByFile } from '../pipeline/validate-stage.js';
import { envKeyOf, sha256, treeDirs, writeState, type CompileState, type RenderState } from './state.js';
import { commitStaged, stagingDir, writeRendered, writeTree, type RemoveTrees } from './write.js';

export interface TreeOptions {
  out: string;
  /** Only this environment's subtree is replaced (and no state recorded). */
  env?: string;
  /** The sources of a compile of every environment: its state is recorded after the tree. */
  recordFrom?: readonly SourceFile[];
}

/** The serial compile's sink: every file written into a staging directory, swapped in. */
export function treeSink(opts: TreeOptions): Sink<FileHead, void> {
  return {
    async write(compiled) {
      const files = compiled.files.map(wholeFile);
      await writeRendered(opts.out, files, opts.env !== undefined ? [opts.env] : undefined);
      if (opts.recordFrom !== undefined) recordState(opts.out, compiled, opts.recordFrom, treeDirs(files.map((f) => f.path)));
    },
  };
}

/**
 * The parallel compile's sink: the topologies' files are already in `dir` (parallel/
 * pool-renderer.ts); the shared ones are written beside them and the directory swapped in. The
 * previous tree is removed by `remove` (the workers) while this thread records the state.
 */
export class StagedTree implements Sink<FileHead, void> {
  readonly dir: string;
  private committed = false;

  constructor(private readonly opts: TreeOptions & { remove: RemoveTrees }) {
    this.dir = stagingDir(opts.out);
  }

  /** Creates the staging directory; before any worker writes into it. */
  async prepare(): Promise<void> {
    await mkdir(dirname(this.opts.out), { recursive: true });
    await mkdir(this.dir);
  }

  async write(compiled: Compiled<FileHead>): Promise<void> {
    const { out, env, recordFrom, remove } = this.opts;
    // CRDs, Namespaces and Argo CD objects: rendered here, a few dozen files.
    await writeTree(this.dir, compiled.shared);
    this.committed = true;
    let removing: Promise<void> = Promise.resolve();
    await commitStaged(this.dir, out, env !== undefined ? [env] : undefined, (dirs) => {
      removing = remove(dirs);
      removing.catch(() => undefined); // awaited below
      return Promise.resolve();
    });
    try {
      if (recordFrom !== undefined) recordState(out, compiled, recordFrom, treeDirs(filePaths(compiled)));
    } finally {
      await removing;
    }
  }

  /** Removes the staging directory unless it was swapped in; after the workers stopped writing. */
  async discard(): Promise<void> {
    if (!this.committed) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The paths of the compile's files, each once, without making or sorting `compiled.files` (a
 * render's objects of one file are next to each other: emit/paths.ts); sorting 62,644 took 36 ms.
 * From the renders' heads where they have them: a head whose environment, member cluster,
 * namespace and topology are the previous one's is in the same file (emit/paths.ts renderedPath).
 */
function filePaths(compiled: Compiled<FileHead>): string[] {
  const paths: string[] = [];
  let last = '';
  for (const { render } of compiled.jobs) {
    const h = render.heads;
    if (h === undefined) {
      for (const f of render.files) {
        if (f.path !== last) paths.push(f.path);
        last = f.path;
      }
      continue;
    }
    for (let i = 0; i < h.length; i += HEAD_FIELDS) {
      const same = i > 0 && h[i + 2] !== '' && h[i] === h[i - HEAD_FIELDS] && h[i + 1] === h[i + 1 - HEAD_FIELDS] && h[i + 2] === h[i + 2 - HEAD_FIELDS] && h[i + 6] === h[i + 6 - HEAD_FIELDS];
      if (same) continue;
      const path = headAt(h, i).path;
      if (path !== last) paths.push(path);
      last = path;
    }
  }
  for (const f of compiled.shared) paths.push(f.path);
  return paths;
}

/** Records the state of the tree `compiled` wrote into `out` (every directory in `dirs`). */
export function recordState(out: string, compiled: Compiled<FileHead>, sources: readonly SourceFile[], dirs: readonly string[]): void {
  const envKey = envKeyOf(sources.filter((s) => sourceKind(s.path) === 'environment'));
  writeState(out, compileState(compiled, sources, envKey), dirs);
}

/** What the state keeps of one render (read-only here: the state is written out as JSON and not kept). */
export function renderState(r: RenderOutline<FileHead>): RenderState {
  return { env: r.env, heads: (r.heads ?? headsOf(r.files)) as string[], namespaces: r.namespaces as RenderState['namespaces'], diagnostics: r.diagnostics as Diagnostic[] };
}

/** What the state (state.ts) keeps of a compile without errors: per topology file its validation and renders' heads. */
export function compileState(compiled: Compiled<FileHead>, sources: readonly SourceFile[], envKey: string): Omit<CompileState, 'version' | 'compiler' | 'dirs'> {
  const text = new Map(sources.map((s) => [s.path, s.text]));
  const byFile = new Map<string, RenderState[]>();
  for (const { topo, render: r } of compiled.jobs) {
    const list = byFile.get(topo.file) ?? [];
    list.push(renderState(r));
    byFile.set(topo.file, list);
  }
  const diagnostics = knownDiagnosticsByFile(compiled.repo.diagnostics);
  const topologies: CompileState['topologies'] = {};
  for (const t of compiled.repo.topologies) {
    const source = text.get(t.file);
    if (source === undefined) continue;
    topologies[t.file] = { hash: sha256(source), value: t.value, diagnostics: diagnostics.get(t.file) ?? [], renders: byFile.get(t.file) ?? [] };
  }
  return { envKey, topologies, shared: compiled.shared.map((f) => f.path).sort() };
}
