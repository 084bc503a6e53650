// `dbtopo compile` over a tree an earlier full compile wrote (its state: emit/state.ts), as a
// configuration of the compile pipeline (pipeline/pipeline.ts): only the topology files whose
// text changed are parsed, validated and rendered; the others are taken from the state (validated
// value, diagnostics, the heads of their files) without reading them as YAML. The checks across
// files (duplicate topology names, duplicate objects, default images) and the shared files (CRDs,
// Namespaces, guards, Argo CD objects) are computed as a full compile computes them, so the
// result and the diagnostics are the full compile's.
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
import { joinDocuments, type FileToWrite } from './emit/documents.js';
import { recordState } from './emit/sinks.js';
import { dropState, envKeyOf, sha256, treeDirs, type CompileState } from './emit/state.js';
import { sourceKind, type SourceFile } from './load/index.js';
import { HEAD_FIELDS } from './parallel/protocol.js';
import type { Configuration, Renderer, Sink } from './pipeline/pipeline.js';
import { headAt, wholeFile, type FileHead } from './pipeline/rendered-file.js';
import { keptRender, renderTopology } from './pipeline/render-topology.js';
import { byString } from './pipeline/select.js';
import { knownTopology } from './pipeline/validate-stage.js';
import type { Topology } from '../schemas/types/index.js';

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
  /** Objects in the output (a topology's objects in a member cluster share a file). */
  objects: number;
}

/** More changed topology files than this share of all: a full (parallel) compile is as fast. */
const MAX_CHANGED_SHARE = 0.5;

/**
 * The configuration that compiles `sources` into `out` over `state`; undefined when the state
 * does not fit (other environment files, or too many changes: the caller compiles in full).
 */
export function overState(sources: readonly SourceFile[], out: string, state: CompileState): Configuration<FileHead, ReuseStats> | undefined {
  const envKey = envKeyOf(sources.filter((s) => sourceKind(s.path) === 'environment'));
  if (envKey !== state.envKey) return undefined;
  const topoSources = sources.filter((s) => sourceKind(s.path) === 'topology').sort((a, b) => byString(a.path, b.path));
  const changed = new Set<string>();
  for (const s of topoSources) if (state.topologies[s.path]?.hash !== sha256(s.text)) changed.add(s.path);
  if (changed.size > topoSources.length * MAX_CHANGED_SHARE) return undefined;

  const renderer: Renderer<FileHead, true> = {
    render: (jobs) =>
      jobs.map(({ env, topo }) => {
        const kept = changed.has(topo.file) ? undefined : state.topologies[topo.file]?.renders.find((r) => r.env === env.name);
        return kept !== undefined ? keptRender(env, topo, kept) : renderTopology(env, topo);
      }),
  };
  return {
    known: (s) => {
      const t = changed.has(s.path) ? undefined : state.topologies[s.path];
      return t !== undefined ? { located: knownTopology(s.path, s.text, t.value as Topology), diagnostics: t.diagnostics } : undefined;
    },
    renderer,
    sink: changesSink(out, state, sources, changed, topoSources.length),
  };
}

/**
 * Writes only what may differ from the disk, the changed topologies' files and the shared ones,
 * and of those only the files whose text differs; removes the files no topology renders any more.
 */
function changesSink(out: string, state: CompileState, sources: readonly SourceFile[], changed: ReadonlySet<string>, topologyFiles: number): Sink<FileHead, ReuseStats> {
  return {
    write(compiled) {
      const fresh = compiled.jobs.flatMap((j) => (j.render.checked === true ? [] : j.render.files.map(wholeFile)));
      // Whole files: a changed topology's render holds every object of its files (emit/paths.ts).
      const candidates = joinDocuments([...fresh, ...compiled.shared]);
      const writes = candidates.filter((f) => differsOnDisk(out, f));
      // Removed: the files of changed or deleted topologies and shared files not rendered any more.
      // A kept topology cannot render one of those paths: paths carry the topology name, and two
      // topologies with one name are an error.
      const present = new Set(candidates.map((f) => f.path));
      const gone = new Set<string>(state.shared);
      const valid = new Set(compiled.repo.topologies.map((t) => t.file));
      for (const [path, t] of Object.entries(state.topologies)) {
        if (!changed.has(path) && valid.has(path)) continue;
        for (const r of t.renders) for (let i = 0; i < r.heads.length; i += HEAD_FIELDS) gone.add(headAt(r.heads, i).path);
      }
      const deletes = [...gone].filter((p) => !present.has(p));

      commit(out, writes, deletes);
      // Unchanged sources and output: the state still describes the tree.
      if (changed.size > 0 || writes.length > 0 || deletes.length > 0 || Object.keys(state.topologies).length !== compiled.repo.topologies.length) {
        const dirs = new Set(state.dirs.map(([d]) => d));
        for (const d of treeDirs(writes.map((f) => f.path))) dirs.add(d);
        recordState(out, compiled, sources, [...dirs]);
      }
      return {
        rendered: changed.size,
        reused: topologyFiles - changed.size,
        written: writes.length,
        deleted: deletes.length,
        compared: candidates.length,
        objects: compiled.objects,
      };
    },
  };
}

/** Whether the file on disk under `out` is missing or has another text. */
function differsOnDisk(out: string, f: FileToWrite): boolean {
  let now: string;
  try {
    now = readFileSync(join(out, f.path), 'utf8');
  } catch {
    return true;
  }
  return now !== f.text;
}

/** Temporary files first (removed again on any error), then the renames and removals. */
function commit(out: string, writes: readonly FileToWrite[], deletes: readonly string[]): void {
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
