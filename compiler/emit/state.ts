// What the last full `dbtopo compile` wrote into an output tree, kept beside it so that the next
// compile, in a fresh process, can render only the topologies whose files changed and write only
// the output files whose text changed (compiler/reuse.ts) instead of rewriting the whole tree.
//
// <dirname(out)>/.dbtopo-cache/compile-<basename(out)>.json; the directory carries a .gitignore
// of "*" so that `git add -A` in a GitOps repo never commits it.
//
// The state is trusted only while the tree is as the compile left it: the state names the
// compiler build (a hash of its code), the environment files, and every directory of the tree
// with its mtime. Creating, removing or renaming a file in a directory (what `git checkout`, a
// merge or an editor's save-by-rename do) changes that directory's mtime, and the next compile
// then rewrites the whole tree. Every other writer of the tree (--env, watch mode, a failed or
// interrupted commit) removes the state first (dropState), so the next compile is a full one.
// Not seen: a file rewritten in place, its directory untouched; `dbtopo compile --full` (or
// deleting .dbtopo-cache/) rewrites everything.

import { hash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Diagnostic } from '../diagnostics.js';

export const STATE_VERSION = 2;
export const CACHE_DIR = '.dbtopo-cache';

/** One topology's render in one environment, as the next compile needs it without rendering. */
export interface RenderState {
  env: string;
  /** HEAD_FIELDS strings per file (compiler/parallel/protocol.ts): env, member cluster, topology, apiVersion, kind, name, namespace. */
  heads: string[];
  namespaces: Array<{ memberCluster: string; namespace: string }>;
  diagnostics: Diagnostic[];
}

export interface TopologyState {
  /** sha256 of the file's text. */
  hash: string;
  /** The validated topology (what the renderers read). */
  value: unknown;
  /** The file's load and validation diagnostics (warnings; the state exists only without errors), DBT3070 left out. */
  diagnostics: Diagnostic[];
  renders: RenderState[];
}

export interface CompileState {
  version: number;
  compiler: string;
  envKey: string;
  topologies: Record<string, TopologyState>;
  /** Files not of one topology (CRDs, Namespaces, guards, Argo CD objects), relative to out. */
  shared: string[];
  /** Every directory of the tree ("" the root), with its mtime in ms. */
  dirs: Array<[string, number]>;
}

export function statePath(out: string): string {
  const abs = resolve(out);
  return join(dirname(abs), CACHE_DIR, `compile-${basename(abs)}.json`);
}

export const sha256 = (text: string): string => hash('sha256', text, 'hex');

/** Identity of the environment files a compile rendered against. */
export function envKeyOf(sources: ReadonlyArray<{ path: string; text: string }>): string {
  return sha256(sources.map((s) => `${s.path}\0${s.text}`).join('\0'));
}

let compilerHash: string | undefined;
/** A hash of the compiler's own code (compiler/ and schemas/, .js or .ts): a rebuild invalidates every state. */
export function compilerId(): string {
  if (compilerHash !== undefined) return compilerHash;
  const here = dirname(fileURLToPath(import.meta.url)); // compiler/emit
  const parts: string[] = [];
  for (const root of [join(here, '..'), join(here, '..', '..', 'schemas')]) {
    let names: string[];
    try {
      names = readdirSync(root, { recursive: true, encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const name of names.filter((n) => /\.(js|ts|json)$/.test(n) && !n.endsWith('.d.ts')).sort()) {
      parts.push(name, readFileSync(join(root, name), 'utf8'));
    }
  }
  compilerHash = sha256(parts.join('\0'));
  return compilerHash;
}

/** Every directory holding `paths` (relative to the root), their ancestors and the root (""). */
export function treeDirs(paths: Iterable<string>): string[] {
  const dirs = new Set<string>(['']);
  for (const p of paths) {
    for (let d = p.lastIndexOf('/'); d > 0; d = p.lastIndexOf('/', d - 1)) {
      const dir = p.slice(0, d);
      if (dirs.has(dir)) break;
      dirs.add(dir);
    }
  }
  return [...dirs].sort();
}

/** The directories' mtimes now (those that are gone left out); undefined when the root is missing. */
export function dirTimes(out: string, dirs: readonly string[]): Array<[string, number]> | undefined {
  const times: Array<[string, number]> = [];
  for (const d of [...dirs].sort()) {
    const s = statSync(d === '' ? out : join(out, d), { throwIfNoEntry: false });
    if (!s?.isDirectory()) {
      if (d === '') return undefined;
      continue;
    }
    times.push([d, s.mtimeMs]);
  }
  return times;
}

/**
 * The state of `out` as a record of what topology files rendered to, whether or not the tree is
 * still as it was left (`dbtopo plan` reads only the renders, never the tree); same compiler only.
 */
export function readRenders(out: string): CompileState | undefined {
  try {
    const state = JSON.parse(readFileSync(statePath(out), 'utf8')) as CompileState;
    return state.version === STATE_VERSION && state.compiler === compilerId() ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The state of `out` when it still describes the tree there (same compiler, every directory as
 * it was left); undefined otherwise. Never throws: an unreadable state means a full compile.
 */
export function readState(out: string): CompileState | undefined {
  // A removed tree whose state is left: no need to parse megabytes of JSON to learn that.
  if (!statSync(out, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  let state: CompileState;
  try {
    state = JSON.parse(readFileSync(statePath(out), 'utf8')) as CompileState;
  } catch {
    return undefined;
  }
  if (state.version !== STATE_VERSION || state.compiler !== compilerId() || !Array.isArray(state.dirs)) return undefined;
  for (const [d, mtime] of state.dirs) {
    const s = statSync(d === '' ? out : join(out, d), { throwIfNoEntry: false });
    if (!s?.isDirectory() || s.mtimeMs !== mtime) return undefined;
  }
  return state;
}

/** JSON of renders serialized ahead of the state write (renderJson), by their heads. */
const renderJsons = new WeakMap<readonly string[], string>();

/**
 * Serializes a render as the state keeps it, ahead of writeState, which then only joins the
 * text: a parallel compile does it as each render arrives, while the workers render on. The
 * heads are most of a state (6.4 MB for 1,000 topologies × 3 environments), and serializing them
 * after the last render was ~20 ms of the main thread alone.
 */
export function renderJson(r: RenderState): string {
  let json = renderJsons.get(r.heads);
  if (json === undefined) {
    json = JSON.stringify(r);
    renderJsons.set(r.heads, json);
  }
  return json;
}

/** JSON.stringify(state), each render's text from renderJson. */
function stateJson(state: CompileState): string {
  const { topologies, ...rest } = state;
  const entries: string[] = [];
  for (const [file, { renders, ...t }] of Object.entries(topologies)) {
    const fields = JSON.stringify(t);
    entries.push(`${JSON.stringify(file)}:${fields.slice(0, -1)}${fields.length > 2 ? ',' : ''}"renders":[${renders.map(renderJson).join(',')}]}`);
  }
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}"topologies":{${entries.join(',')}}}`;
}

/** Writes the state atomically (temporary file, then rename); `dirs`: every directory of the tree. */
export function writeState(out: string, state: Omit<CompileState, 'version' | 'compiler' | 'dirs'>, dirList: readonly string[]): void {
  const dirs = dirTimes(out, dirList);
  if (dirs === undefined) return; // the tree changed under us: no state, the next compile is full
  const file = statePath(out);
  const cacheDir = dirname(file);
  mkdirSync(cacheDir, { recursive: true });
  const ignore = join(cacheDir, '.gitignore');
  if (statSync(ignore, { throwIfNoEntry: false }) === undefined) writeFileSync(ignore, '# dbtopo compile state: never committed\n*\n');
  const full: CompileState = { version: STATE_VERSION, compiler: compilerId(), ...state, dirs };
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, stateJson(full));
  renameSync(tmp, file);
}

/** Forgets the state of `out`: called before anything but the state's own compile changes the tree. */
export function dropState(out: string): void {
  rmSync(statePath(out), { force: true });
}
