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

/**
 * Which topology file renders each object (its identity, objectKey), filled as renders arrive: a
 * parallel compile adds each worker reply while the workers render on, and the duplicate check
 * (assemble.ts) reads only `clash` after the last render; going over the 62,644 heads of 1,000
 * topologies × 3 environments then was ~20 ms of the main thread alone. A render added but not
 * asked for in the end (prefetched, its topology invalid after all) can only add a clash; a clash
 * makes the check run over the files in full, which words DBT5001 exactly.
 *
 * Indexed by name, the other parts of the identity compared in place: making each head's
 * identity string (objectKey) to index it by cost 114 ms of the main thread's CPU for the 63,400
 * heads of the benchmark (best of 6 at load ~12), by name 41 ms. (Names, namespaces and member
 * clusters hold no "|", so the two find the same clashes.)
 */
export class ObjectOwners {
  /** Per object name: the heads' other identity fields and owner, OWNER_FIELDS strings each. */
  private readonly byName = new Map<string, string[]>();
  clash = false;

  add(heads: readonly string[], source: string): void {
    for (let i = 0; i < heads.length && !this.clash; i += HEAD_FIELDS) {
      // The identity (objectKey): env, member cluster, apiVersion, kind, namespace and name.
      const env = heads[i] ?? '';
      const member = heads[i + 1] ?? '';
      const apiVersion = heads[i + 3] ?? '';
      const kind = heads[i + 4] ?? '';
      const name = heads[i + 5] ?? '';
      const namespace = heads[i + 6] ?? '';
      const known = this.byName.get(name);
      if (known === undefined) {
        this.byName.set(name, [env, member, apiVersion, kind, namespace, source]);
        continue;
      }
      let j = 0;
      for (; j < known.length; j += OWNER_FIELDS) {
        if (known[j] === env && known[j + 1] === member && known[j + 2] === apiVersion && known[j + 3] === kind && known[j + 4] === namespace) break;
      }
      if (j === known.length) known.push(env, member, apiVersion, kind, namespace, source);
      else if (known[j + 5] !== source) this.clash = true;
    }
  }
}
const OWNER_FIELDS = 6;

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
