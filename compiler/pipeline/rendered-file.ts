// The rendered file and the shapes the compile stages pass it in: whole (object and YAML text),
// or as its head (identity and kind, no body) where a stage only checks or indexes it, and the
// flat heads a render worker or the state of an earlier compile keeps of a render.
import type { KubeObject } from '../../schemas/types/index.js';
import type { Diagnostic } from '../diagnostics.js';
import { objectKey, renderedPath, type ObjectHead, type Placement } from '../emit/paths.js';
import { HEAD_FIELDS } from '../parallel/protocol.js';

export interface RenderedFile extends Placement {
  /** Relative to rendered/: emit/paths.ts renderedPath() of the placement and the object. */
  path: string;
  object: KubeObject;
  text: string;
  /** Topology file the object was compiled from; absent for CRDs and Namespaces. */
  source?: string;
}

export interface CompileResult {
  files: RenderedFile[];
  diagnostics: Diagnostic[];
  /** How many objects `files` holds, counted without making them (a written compile only counts). */
  objects: number;
}

/** What one topology renders in one environment; the unit the incremental compiler caches. */
export interface TopologyRender {
  env: string;
  source: string;
  files: RenderedFile[];
  /** Namespaces the topology's objects live in, per member cluster. */
  namespaces: Array<{ memberCluster: string; namespace: string }>;
  diagnostics: Diagnostic[];
}

/** What the checks across files and the Argo CD objects read of a rendered file. */
export interface FileHead extends Placement {
  path: string;
  source?: string;
  object: ObjectHead;
  /** objectKey() of the file, when already known (a parallel compile computes it while it waits). */
  identity?: string;
}

/** A topology's render as assemble needs it; TopologyRender is one, with whole files. */
export interface RenderOutline<F extends FileHead> {
  env: string;
  files: readonly F[];
  namespaces: ReadonlyArray<{ memberCluster: string; namespace: string }>;
  diagnostics: readonly Diagnostic[];
  /** The files' heads in the flat format (headsOf), when the renderer has them already (workers, a state). */
  heads?: readonly string[];
  /**
   * The index of object identities this render's heads were added to as it arrived (a parallel
   * compile's, ObjectOwners), so the duplicate check need not go over them after the last render.
   */
  owners?: ObjectOwners;
  /**
   * Taken from the state of an earlier compile without errors over the same environment files:
   * no two such renders render one object, so the duplicate check only pairs others with them.
   */
  checked?: boolean;
}

/** The heads of a render's files, in the render workers' flat format (parallel/protocol.ts). */
export function headsOf(files: ReadonlyArray<Placement & { object: ObjectHead }>): string[] {
  const heads: string[] = [];
  for (const { env, memberCluster, topology, object } of files) {
    heads.push(env, memberCluster, topology ?? '', object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace ?? '');
  }
  return heads;
}

/** The head of the file at `at` (a multiple of HEAD_FIELDS) in a render's heads. */
export function headAt(heads: readonly string[], at: number): FileHead {
  const [env = '', memberCluster = '', topology = '', apiVersion = '', kind = '', name = '', namespace = ''] = heads.slice(at, at + HEAD_FIELDS);
  const object: ObjectHead = { apiVersion, kind, metadata: namespace !== '' ? { name, namespace } : { name } };
  const place: Placement = topology !== '' ? { env, memberCluster, topology } : { env, memberCluster };
  return { ...place, path: renderedPath(place, object), object };
}

/** objectKey() of the file at `at` in a render's heads, without making its head. */
export function headKey(heads: readonly string[], at: number): string {
  return objectKey({ env: heads[at] ?? '', memberCluster: heads[at + 1] ?? '', object: { apiVersion: heads[at + 3] ?? '', kind: heads[at + 4] ?? '', metadata: { name: heads[at + 5] ?? '', namespace: heads[at + 6] ?? '' } } });
}

/**
 * Which topology file renders each object (headKey), filled as renders arrive: a parallel compile
 * adds each worker reply while the workers render on, and the duplicate check (assemble.ts) reads
 * only `clash` after the last render; going over the 62,644 heads of 1,000 topologies × 3
 * environments then was ~20 ms of the main thread alone. A render added but not asked for in the
 * end (prefetched, its topology invalid after all) can only add a clash; a clash makes the check
 * run over the files in full, which words DBT5001 exactly.
 */
export class ObjectOwners {
  private readonly owner = new Map<string, string>();
  clash = false;

  add(heads: readonly string[], source: string): void {
    for (let i = 0; i < heads.length && !this.clash; i += HEAD_FIELDS) {
      const key = headKey(heads, i);
      const first = this.owner.get(key);
      if (first === undefined) this.owner.set(key, source);
      else if (first !== source) this.clash = true;
    }
  }
}

/** A file known by its head, whole on first read of its object or text. */
export interface HeadFile extends FileHead {
  identity: string;
  /** The file as a result hands it out; object and text computed on first read. */
  file: RenderedFile;
}

/** The file a result hands out for a file known by its head, or a whole one. */
export function wholeFile(f: FileHead): RenderedFile {
  return 'file' in f ? (f as HeadFile).file : (f as RenderedFile);
}

/** The files of one render from its heads (protocol.ts HEAD_FIELDS); `render` renders it again. */
export function filesOfHeads(heads: readonly string[], source: string, render: () => TopologyRender): HeadFile[] {
  const files: HeadFile[] = [];
  for (let at = 0, i = 0; at < heads.length; at += HEAD_FIELDS, i++) {
    const head = { ...headAt(heads, at), source };
    files.push({ ...head, identity: objectKey(head), file: lazyFile(head, render, i) });
  }
  return files;
}

/** The `index`-th file of a render that is computed again on first read (same path, checked). */
function lazyFile(head: FileHead & { source: string }, render: () => TopologyRender, index: number): RenderedFile {
  const { path, source } = head;
  const file = (): RenderedFile => {
    const f = render().files[index];
    if (f?.path !== path) throw new Error(`internal error: rendering ${source} again gave ${f?.path ?? 'no file'} where a worker wrote ${path}`);
    return f;
  };
  return {
    env: head.env,
    memberCluster: head.memberCluster,
    ...(head.topology !== undefined ? { topology: head.topology } : {}),
    path,
    source,
    get object() {
      return file().object;
    },
    get text() {
      return file().text;
    },
  };
}
