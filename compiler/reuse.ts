// `dbtopo compile` over a tree an earlier full compile wrote (its state: emit/state.ts): only the
// topology files whose text changed are parsed, validated and rendered; the others are taken
// from the state (validated value, diagnostics, the heads of their files) without reading them
// as YAML. The checks across files (duplicate topology names, duplicate objects, default images)
// and the shared files (CRDs, Namespaces, guards, Argo CD objects) are computed as a full compile
// computes them, so the result and the diagnostics are the full compile's.
//
// Writing: each file of a changed topology and each shared file is compared with the file on
// disk, and only those whose text differs are written, first all to temporary names beside their
// targets (nothing in the tree changes until every one is written; on any error they are
// removed), then renamed over their targets, and files no topology renders any more removed.
// So no file is ever seen half-written and a failed compile changes nothing; the state is
// removed before the renames and written again after them, so a compile interrupted between the
// two is followed by a full one.

import { mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Topology } from '../schemas/types/index.js';
import type { Environment } from '../schemas/types/index.js';
import { argoCdFiles, assemble, clusterFiles } from './pipeline/assemble.js';
import {
  filesOfHeads,
  headAt,
  headsOf,
  wholeFile,
  type CompileResult,
  type FileHead,
  type HeadFile,
  type RenderedFile,
  type RenderOutline,
  type TopologyRender,
} from './pipeline/rendered-file.js';
import { renderTopology } from './pipeline/render-topology.js';
import { jobsOf } from './pipeline/pipeline.js';
import { hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { objectKey } from './emit/paths.js';
import { HEAD_FIELDS } from './parallel/protocol.js';
import { dropState, envKeyOf, sha256, treeDirs, writeState, type CompileState, type RenderState } from './emit/state.js';
import { parseSources, sourceKind, type Located, type SourceFile } from './load/index.js';
import { parseYamlFile } from './load/yaml-file.js';
import { Validator, type ValidRepo } from './validate/index.js';

/** What the compile over an existing tree did, besides the result. */
export interface ReuseStats {
  /** Topology files parsed, validated and rendered again / taken from the state. */
  rendered: number;
  reused: number;
  /** Output files written (their text changed or they are new) and removed. */
  written: number;
  deleted: number;
  /** Output files compared with the disk (the changed topologies' and the shared ones). */
  compared: number;
  /** Objects (files) in the output. */
  objects: number;
}

export interface ReuseResult extends CompileResult {
  reuse: ReuseStats;
}

/**
 * What a full written compile knows that the next compile over the same tree can reuse
 * (emit/state.ts): the validated repository and every render's heads.
 */
export interface CompileOutline {
  repo: ValidRepo;
  renders: Array<RenderState & { source: string }>;
}

/** A job of the compile over a state: its render kept from the state (heads only), or fresh. */
interface KeptOrFresh {
  env: Environment;
  topo: Located<Topology>;
  kept?: RenderState;
  fresh?: TopologyRender;
}

/** More changed topology files than this share of all: a full (parallel) compile is as fast. */
const MAX_CHANGED_SHARE = 0.5;

/** A topology from the state: the file is parsed only if a diagnostic needs a position in it. */
export function knownTopology(file: string, text: string, value: Topology): Located<Topology> {
  let locate: Located<Topology>['locate'] | undefined;
  return {
    value,
    file,
    locate(path) {
      locate ??= parseYamlFile(file, text).parsed?.locate ?? (() => ({ line: 1, col: 1 }));
      return locate(path);
    },
  };
}

/**
 * The compile of `sources` into `out`, reusing `state`; undefined when the state does not fit
 * (other environment files, too many changes, or errors: the caller then compiles in full,
 * which reports them exactly and writes nothing).
 */
export function compileOverState(sources: readonly SourceFile[], out: string, state: CompileState): ReuseResult | undefined {
  const envSources = sources.filter((s) => sourceKind(s.path) === 'environment');
  const envKey = envKeyOf(envSources);
  if (envKey !== state.envKey) return undefined;
  const topoSources = sources.filter((s) => sourceKind(s.path) === 'topology').sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hashes = topoSources.map((s) => sha256(s.text));
  const changedCount = topoSources.filter((s, i) => state.topologies[s.path]?.hash !== hashes[i]).length;
  if (changedCount > topoSources.length * MAX_CHANGED_SHARE) return undefined;

  // Validation in file order, as validate() runs it: the known files from the state.
  const envLoad = parseSources(envSources);
  const validator = new Validator(envLoad.environments, envLoad.diagnostics);
  if (envLoad.environments.length === 0 || validator.environmentErrors()) return undefined;
  const changed = new Set<string>();
  topoSources.forEach((s, i) => {
    const known = state.topologies[s.path];
    if (known !== undefined && known.hash === hashes[i]) {
      validator.addKnown(knownTopology(s.path, s.text, known.value as Topology), known.diagnostics);
      return;
    }
    changed.add(s.path);
    const load = parseSources([s]);
    validator.addTopologies(load.topologies, load.diagnostics.filter((d) => d.code !== 'DBT1111'));
  });
  const repo = validator.finish();
  if (hasErrors(repo.diagnostics)) return undefined;

  const { envs, jobs } = jobsOf(repo, undefined);
  // Renders in the pipeline's order: kept ones as their heads (no object per file), changed ones rendered.
  const renders: KeptOrFresh[] = [];
  const outline: CompileOutline['renders'] = [];
  for (const { env, topo } of jobs) {
    const kept = changed.has(topo.file) ? undefined : state.topologies[topo.file]?.renders.find((r) => r.env === env.name);
    if (kept !== undefined) {
      renders.push({ env, topo, kept });
      outline.push({ ...kept, source: topo.file });
    } else {
      const r = renderTopology(env, topo);
      renders.push({ env, topo, fresh: r });
      outline.push({ env: r.env, source: r.source, heads: headsOf(r.files), namespaces: r.namespaces, diagnostics: r.diagnostics });
    }
  }

  // What assemble() reports: placement diagnostics and duplicate objects. The earlier compile had
  // no duplicates, so a new one involves a changed topology's file: only those are looked up.
  const diagnostics = sortDiagnostics([...repo.diagnostics, ...renders.flatMap((r) => (r.fresh ?? r.kept)?.diagnostics ?? [])]);
  if (hasErrors(diagnostics) || duplicateObject(renders)) return undefined;

  const shared = sharedFiles(envs, renders);

  // What may differ from the disk: the changed topologies' files and the shared ones.
  const fresh = renders.flatMap((r) => r.fresh?.files ?? []);
  const candidates: RenderedFile[] = [...fresh, ...shared];
  const writes = candidates.filter((f) => differsOnDisk(out, f));
  // Removed: the files of changed or deleted topologies and shared files not rendered any more.
  // A kept topology cannot render one of those paths: paths carry the topology name, and two
  // topologies with one name are an error.
  const present = new Set(candidates.map((f) => f.path));
  const gone = new Set<string>(state.shared);
  const byFile = new Map(repo.topologies.map((t) => [t.file, t]));
  for (const [path, t] of Object.entries(state.topologies)) {
    if (!changed.has(path) && byFile.has(path)) continue;
    for (const r of t.renders) for (let i = 0; i < r.heads.length; i += HEAD_FIELDS) gone.add(headAt(r.heads, i).path);
  }
  const deletes = [...gone].filter((p) => !present.has(p));

  commit(out, writes, deletes);
  // Unchanged sources and output: the state still describes the tree.
  if (changed.size > 0 || writes.length > 0 || deletes.length > 0 || Object.keys(state.topologies).length !== repo.topologies.length) {
    const dirs = new Set(state.dirs.map(([d]) => d));
    for (const d of treeDirs(writes.map((f) => f.path))) dirs.add(d);
    writeState(out, stateOf({ repo, renders: outline }, sources, envKey, shared), [...dirs]);
  }
  const result = {
    diagnostics,
    reuse: {
      rendered: changed.size,
      reused: topoSources.length - changed.size,
      written: writes.length,
      deleted: deletes.length,
      compared: candidates.length,
      objects: renders.reduce((n, r) => n + (r.kept ? r.kept.heads.length / HEAD_FIELDS : (r.fresh?.files.length ?? 0)), shared.length),
    },
  };
  // The result's files, as the full compile's (kept ones rendered again on first read): made on
  // first use only, `dbtopo compile` just counts them.
  let files: RenderedFile[] | undefined;
  const locate = (file: string): { line: number; col: number } => byFile.get(file)?.locate(['name']) ?? { line: 1, col: 1 };
  Object.defineProperty(result, 'files', {
    enumerable: true,
    get: (): RenderedFile[] => {
      files ??= assemble<HeadFile | RenderedFile>(
        envs,
        renders.map(({ env, topo, kept, fresh }): RenderOutline<HeadFile | RenderedFile> => {
          if (fresh) return fresh;
          let again: TopologyRender | undefined;
          const k = kept as RenderState;
          return { env: env.name, files: filesOfHeads(k.heads, topo.file, () => (again ??= renderTopology(env, topo))), namespaces: k.namespaces, diagnostics: k.diagnostics };
        }),
        locate,
      ).files.map(wholeFile);
      return files;
    },
  });
  return result as ReuseResult;
}

/**
 * The shared files, as assemblyFiles() makes them: per environment its cluster-scoped files from
 * the namespaces of its renders, then the Argo CD objects from the heads of every file (only
 * which namespaces and kinds each member cluster has matter to them: one head of each).
 */
function sharedFiles(envs: readonly Environment[], renders: readonly KeptOrFresh[]): RenderedFile[] {
  const shared: RenderedFile[] = [];
  const heads: FileHead[] = [];
  for (const env of envs) {
    const namespaces = new Map<string, Set<string>>();
    const seen = new Set<string>();
    for (const r of renders) {
      if (r.env !== env) continue;
      for (const { memberCluster, namespace } of (r.fresh ?? r.kept)?.namespaces ?? []) {
        const set = namespaces.get(memberCluster) ?? new Set<string>();
        set.add(namespace);
        namespaces.set(memberCluster, set);
      }
      const h = r.kept?.heads ?? headsOf(r.fresh?.files ?? []);
      for (let i = 0; i < h.length; i += HEAD_FIELDS) {
        const key = `${h[i + 1]}\0${h[i + 3]}\0${h[i + 4]}\0${h[i + 6]}`;
        if (seen.has(key)) continue;
        seen.add(key);
        heads.push(headAt(h, i));
      }
    }
    const cluster = clusterFiles(env, namespaces);
    shared.push(...cluster);
    heads.push(...cluster);
  }
  shared.push(...argoCdFiles(envs, heads));
  return shared;
}

/** Whether the file on disk under `out` is missing or has another text. */
function differsOnDisk(out: string, f: RenderedFile): boolean {
  let now: string;
  try {
    now = readFileSync(join(out, f.path), 'utf8');
  } catch {
    return true;
  }
  return now !== f.text;
}

/** Two topologies rendering one object (DBT5001): only a changed topology's file can be one of them. */
function duplicateObject(renders: readonly KeptOrFresh[]): boolean {
  const owner = new Map<string, string>();
  const names = new Set<string>();
  for (const r of renders) {
    for (const f of r.fresh?.files ?? []) {
      const key = objectKey(f);
      const other = owner.get(key);
      if (other !== undefined && other !== r.topo.file) return true;
      owner.set(key, r.topo.file);
      names.add(f.object.metadata.name);
    }
  }
  if (owner.size === 0) return false;
  for (const r of renders) {
    const h = r.kept?.heads;
    if (h === undefined) continue;
    for (let i = 0; i < h.length; i += HEAD_FIELDS) {
      if (!names.has(h[i + 5] ?? '')) continue;
      const key = objectKey(headAt(h, i));
      const other = owner.get(key);
      if (other !== undefined && other !== r.topo.file) return true;
    }
  }
  return false;
}

/** Temporary files first (removed again on any error), then the renames and removals. */
function commit(out: string, writes: readonly RenderedFile[], deletes: readonly string[]): void {
  if (writes.length === 0 && deletes.length === 0) return;
  const suffix = `.dbtopo-new-${process.pid}`;
  const staged: string[] = [];
  try {
    for (const f of writes) {
      const target = join(out, f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target + suffix, f.text);
      staged.push(target);
    }
  } catch (err) {
    for (const t of staged) rmSync(t + suffix, { force: true });
    throw err;
  }
  dropState(out);
  for (const t of staged) renameSync(t + suffix, t);
  for (const p of deletes) {
    const target = join(out, p);
    try {
      unlinkSync(target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // Directories left empty go too, up to the output root.
    for (let d = dirname(target); d.length > out.length; d = dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        break;
      }
    }
  }
}

/** The state of a full compile's output from its outline (compile.ts). */
export function stateOf(
  outline: CompileOutline,
  sources: readonly SourceFile[],
  envKey: string,
  files: ReadonlyArray<{ path: string; source?: string }>,
): Omit<CompileState, 'version' | 'compiler' | 'dirs'> {
  const text = new Map(sources.map((s) => [s.path, s.text]));
  const byFile = new Map<string, RenderState[]>();
  for (const r of outline.renders) {
    const list = byFile.get(r.source) ?? [];
    list.push({ env: r.env, heads: r.heads, namespaces: r.namespaces, diagnostics: r.diagnostics });
    byFile.set(r.source, list);
  }
  const diagnostics = new Map<string, Diagnostic[]>();
  for (const d of outline.repo.diagnostics) {
    if (d.code === 'DBT3070') continue;
    const list = diagnostics.get(d.file) ?? [];
    list.push(d);
    diagnostics.set(d.file, list);
  }
  const topologies: CompileState['topologies'] = {};
  for (const t of outline.repo.topologies) {
    const source = text.get(t.file);
    if (source === undefined) continue;
    topologies[t.file] = {
      hash: sha256(source),
      value: t.value,
      diagnostics: diagnostics.get(t.file) ?? [],
      renders: byFile.get(t.file) ?? [],
    };
  }
  return { envKey, topologies, shared: files.filter((f) => f.source === undefined).map((f) => f.path) };
}
