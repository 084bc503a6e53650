// compile: valid topologies and environments → rendered files (pure, compileModel), and the I/O
// edge around it (compileRepo: read → validate → compile → atomic write, never on error).

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Environment, KubeObject, Topology } from '../schemas/types/index.js';
import { ARGOCD_DIR, RENDERED_ROOT } from './argocd/emit.js';
import { argocdObjects } from './argocd/objects.js';
import { annotateForArgoCd } from './argocd/waves.js';
import { hasErrors, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { clusterCrds } from './emit/crds.js';
import { guardObjects } from './emit/guards.js';
import { namespaceObject } from './emit/namespaces.js';
import { clusterScopedPath, objectKey } from './emit/paths.js';
import { envKeyOf, readState, treeDirs, writeState, type RenderState } from './emit/state.js';
import { compileOverState, stateOf, type ReuseStats } from './reuse.js';
import { writeRendered } from './emit/write.js';
import { toYaml } from './emit/yaml.js';
import { parseSources, readRepo, sourceKind, type Located, type SourceFile } from './load/index.js';
import { compileAndWrite } from './parallel/compile-write.js';
import { WorkerPool } from './parallel/pool.js';
import type { PlaceProblem } from './place/index.js';
import { renderObjects } from './render.js';
import { resolveGuard } from './resolve/guard.js';
import { appliesTo } from './resolve/index.js';
import { overrideSource } from './resolve/override.js';
import { validate, type ValidRepo } from './validate/index.js';

export interface RenderedFile {
  /** Relative to rendered/. */
  path: string;
  object: KubeObject;
  text: string;
  /** Topology file the object was compiled from; absent for CRDs and Namespaces. */
  source?: string;
}

export interface CompileResult {
  files: RenderedFile[];
  diagnostics: Diagnostic[];
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

function error(
  code: string,
  file: string,
  at: { line: number; col: number },
  message: string,
  hint: string,
  severity: Diagnostic['severity'] = 'error',
): Diagnostic {
  return { file, line: at.line, col: at.col, code, severity, message, hint };
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A rendered object as the checks across files see it: identity and kind, no body. */
export interface ObjectHead {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** What the checks across files and the Argo CD objects read of a rendered file. */
export interface FileHead {
  path: string;
  source?: string;
  object: ObjectHead;
  /** objectKey() of the file, when already known (a parallel compile computes it while it waits). */
  identity?: string;
}

/** Placement problems of a topology in an environment, located in its file. */
export function placeDiagnostics(env: Environment, topo: Located<Topology>, problems: readonly PlaceProblem[]): Diagnostic[] {
  return problems.map((p) =>
    error(p.code, topo.file, topo.locate(overrideSource(topo.value, env.name, p.path)), `${p.message} (environment ${env.name})`, p.hint, p.severity),
  );
}

export function renderTopology(env: Environment, topo: Located<Topology>): TopologyRender {
  const { files, namespaces, problems } = renderObjects(env, topo.value, topo.file);
  return {
    env: env.name,
    source: topo.file,
    files: files.map((f) => withLazyText({ ...f, source: topo.file })),
    namespaces,
    diagnostics: placeDiagnostics(env, topo, problems),
  };
}

/**
 * The YAML text is rendered on first read and kept: writing reads it once, while in-memory users
 * that only look at objects (`dbtopo plan` compiles two whole repos) never pay for it.
 */
function withLazyText<T extends { object: KubeObject }>(f: T): T & { text: string } {
  let text: string | undefined;
  return Object.defineProperty(f, 'text', { enumerable: true, configurable: true, get: () => (text ??= toYaml(f.object)) }) as T & { text: string };
}

/** CRDs, Namespaces and admission guards of every member cluster of an environment. */
export function clusterFiles(env: Environment, namespaces: ReadonlyMap<string, ReadonlySet<string>>): RenderedFile[] {
  const files: RenderedFile[] = [];
  // The CRDs are large and the same in every member cluster: render them once.
  const crds = annotateForArgoCd(clusterCrds().map((object) => ({ path: '', object }))).map(({ object }) => ({ object, text: toYaml(object) }));
  // The admission guard names the environment's identities, the same in each of its member clusters.
  const guards = annotateForArgoCd(guardObjects(resolveGuard(env)).map((object) => ({ path: '', object }))).map(({ object }) => ({ object, text: toYaml(object) }));
  for (const member of env.memberClusters) {
    for (const { object, text } of crds) files.push({ path: clusterScopedPath(env.name, member.name, object), object, text });
    const namespaceFiles = [...(namespaces.get(member.name) ?? [])].sort(byString).map((ns) => {
      const object: KubeObject = namespaceObject(ns);
      return { path: clusterScopedPath(env.name, member.name, object), object };
    });
    for (const f of annotateForArgoCd(namespaceFiles)) files.push({ ...f, text: toYaml(f.object) });
    for (const { object, text } of guards) files.push({ path: clusterScopedPath(env.name, member.name, object), object, text });
  }
  return files;
}

/**
 * rendered/<env>/_argocd/: the environment's AppProject and ApplicationSet (compiler/argocd,
 * owned by the GitOps loop), from the already annotated files of its member clusters.
 */
export function argoCdFiles(envs: readonly Environment[], files: readonly FileHead[]): RenderedFile[] {
  const byMember = new Map<string, ObjectHead[]>();
  for (const f of files) {
    const key = f.path.slice(0, f.path.indexOf('/', f.path.indexOf('/') + 1));
    const list = byMember.get(key);
    if (list) list.push(f.object);
    else byMember.set(key, [f.object]);
  }
  const out: RenderedFile[] = [];
  for (const env of envs) {
    const members = env.memberClusters.map((m) => ({
      memberCluster: m.name,
      path: `${RENDERED_ROOT}/${env.name}/${m.name}`,
      objects: byMember.get(`${env.name}/${m.name}`) ?? [],
    }));
    for (const object of argocdObjects(env, members)) {
      out.push({ path: `${env.name}/${ARGOCD_DIR}/${object.kind.toLowerCase()}-${object.metadata.name}.yaml`, object, text: toYaml(object) });
    }
  }
  return out;
}

// Object identities, computed once per rendered file: the incremental compiler assembles the
// same (cached) files again on every change.
const identities = new WeakMap<FileHead, string>();
function identityOf(f: FileHead): string {
  if (f.identity !== undefined) return f.identity;
  let key = identities.get(f);
  if (key === undefined) {
    const parts = f.path.split('/');
    key = objectKey(parts[0] ?? '', parts[1] ?? '', f.object);
    identities.set(f, key);
  }
  return key;
}

/** Two topologies rendering the same object in one member cluster: an error at both files. */
export function duplicateDiagnostics(
  files: readonly FileHead[],
  locateSource: (file: string) => { line: number; col: number },
): Diagnostic[] {
  const firstByKey = new Map<string, FileHead>();
  const out: Diagnostic[] = [];
  for (const f of files) {
    if (f.source === undefined) continue;
    const key = identityOf(f);
    const first = firstByKey.get(key);
    if (!first) {
      firstByKey.set(key, f);
      continue;
    }
    if (first.source === f.source) continue;
    const parts = f.path.split('/');
    const what = `${f.object.kind} ${f.object.metadata.namespace ?? ''}/${f.object.metadata.name} in member cluster ${parts[1]} (environment ${parts[0]})`;
    for (const [self, other] of [
      [f.source, first.source ?? ''],
      [first.source ?? '', f.source],
    ] as const) {
      out.push(
        error('DBT5001', self, locateSource(self), `${what} is also rendered by ${other}`, 'give the topologies different names or namespaces; every object must come from one topology'),
      );
    }
  }
  return out;
}

export interface CompileOptions {
  env?: string;
}

/** A topology's render as assemble needs it; TopologyRender is one, with whole files. */
export interface RenderOutline<F extends FileHead> {
  env: string;
  files: readonly F[];
  namespaces: ReadonlyArray<{ memberCluster: string; namespace: string }>;
  diagnostics: readonly Diagnostic[];
}

/**
 * Groups renders by environment and adds each environment's cluster-scoped files and the Argo CD
 * objects; files sorted by path. Reads only the heads of the renders' files, so a parallel
 * compile can pass heads of files its workers wrote.
 */
export function assemble<F extends FileHead>(
  envs: readonly Environment[],
  renders: ReadonlyArray<RenderOutline<F>>,
  locateSource: (file: string) => { line: number; col: number },
  files: Array<F | RenderedFile> = assemblyFiles(envs, renders),
): { files: Array<F | RenderedFile>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  for (const env of envs) for (const r of renders) if (r.env === env.name) diagnostics.push(...r.diagnostics);
  diagnostics.push(...duplicateDiagnostics(files, locateSource));
  files.sort((a, b) => byString(a.path, b.path));
  return { files, diagnostics };
}

/**
 * assemble()'s files before the checks and the sort: per environment its renders' files and its
 * cluster-scoped files, then the Argo CD files. A parallel compile writes the shared ones from
 * this before it runs the rest of assemble().
 */
export function assemblyFiles<F extends FileHead>(envs: readonly Environment[], renders: ReadonlyArray<RenderOutline<F>>): Array<F | RenderedFile> {
  const files: Array<F | RenderedFile> = [];
  for (const env of envs) {
    const namespaces = new Map<string, Set<string>>();
    for (const r of renders) {
      if (r.env !== env.name) continue;
      for (const f of r.files) files.push(f);
      for (const { memberCluster, namespace } of r.namespaces) {
        const set = namespaces.get(memberCluster) ?? new Set<string>();
        set.add(namespace);
        namespaces.set(memberCluster, set);
      }
    }
    files.push(...clusterFiles(env, namespaces));
  }
  files.push(...argoCdFiles(envs, files));
  return files;
}

/** The environments a compile covers: all, or the one named by `env`. */
export function selectEnvironments(repo: ValidRepo, env: string | undefined): Environment[] {
  return repo.environments
    .map((e) => e.value)
    .filter((e) => env === undefined || e.name === env)
    .sort((a, b) => byString(a.name, b.name));
}

/** The order topologies render in: by name, then file. */
export function orderTopologies(repo: ValidRepo): Array<Located<Topology>> {
  return [...repo.topologies].sort((a, b) => byString(a.value.name, b.value.name) || byString(a.file, b.file));
}

/**
 * What a full written compile knows that the next compile over the same tree can reuse
 * (emit/state.ts, reuse.ts): the validated repository and every render's heads.
 */
export interface CompileOutline {
  repo: ValidRepo;
  renders: Array<RenderState & { source: string }>;
}

/** The heads of a render's files, in the render workers' flat format (parallel/protocol.ts). */
export function headsOf(files: ReadonlyArray<{ path: string; object: ObjectHead }>): string[] {
  const heads: string[] = [];
  for (const { path, object } of files) heads.push(path, object.apiVersion, object.kind, object.metadata.name, object.metadata.namespace ?? '');
  return heads;
}

export function compileModel(repo: ValidRepo, opts: CompileOptions, outline?: (o: CompileOutline) => void): CompileResult {
  const envs = selectEnvironments(repo, opts.env);
  const topologies = orderTopologies(repo);
  const renders: TopologyRender[] = [];
  for (const env of envs) {
    for (const topo of topologies) {
      if (appliesTo(topo.value, env.name)) renders.push(renderTopology(env, topo));
    }
  }
  const byFile = new Map(repo.topologies.map((t) => [t.file, t]));
  const result = assemble(envs, renders, (file) => byFile.get(file)?.locate(['name']) ?? { line: 1, col: 1 });
  outline?.({ repo, renders: renders.map((r) => ({ env: r.env, source: r.source, heads: headsOf(r.files), namespaces: r.namespaces, diagnostics: r.diagnostics })) });
  return { files: result.files, diagnostics: sortDiagnostics([...repo.diagnostics, ...result.diagnostics]) };
}

export interface CompileRepoOptions {
  repo: string;
  env?: string;
  /** Output directory; default <repo>/rendered. */
  out?: string;
  write?: boolean;
  /**
   * Render worker threads for a written compile (compiler/parallel), the main thread rendering
   * besides them; 0 renders in this thread only. Default: one per CPU but one (at least 1, at
   * most MAX_WORKERS) when the repository has at least PARALLEL_MIN_TOPOLOGIES topology files,
   * else 0 (starting threads costs more than it saves).
   */
  workers?: number;
  /**
   * false: rewrite the whole output even when the state of an earlier compile would let this one
   * render and write only what changed (`dbtopo compile --full`).
   */
  reuse?: boolean;
}

export const PARALLEL_MIN_TOPOLOGIES = 100;
const MAX_WORKERS = 4;

/** Thrown for a compile request that cannot run (not a problem in the input files). */
export class UsageError extends Error {}

function workerCount(opts: CompileRepoOptions, sources: readonly SourceFile[]): number {
  if (opts.write === false) return 0;
  if (opts.workers !== undefined) {
    if (!Number.isInteger(opts.workers) || opts.workers < 0) throw new UsageError(`workers must be a whole number ≥ 0, got ${opts.workers}`);
    return opts.workers;
  }
  const topologies = sources.filter((s) => sourceKind(s.path) === 'topology').length;
  return topologies >= PARALLEL_MIN_TOPOLOGIES ? Math.max(1, Math.min(availableParallelism() - 1, MAX_WORKERS)) : 0;
}

/** Throws the usage error of a compile naming an environment the repository lacks. */
export function requireEnvironment(repo: ValidRepo, env: string | undefined): void {
  if (env === undefined || repo.environments.some((e) => e.value.name === env)) return;
  const known = repo.environments.map((e) => e.value.name).sort(byString);
  throw new UsageError(`unknown environment "${env}"; the repository has: ${known.join(', ') || '(none)'}`);
}

/** The serial compile of a validated repository, written (atomically) unless there are errors. */
export async function compileValid(
  repo: ValidRepo,
  opts: { env?: string; out: string; write?: boolean; outline?: (o: CompileOutline) => void },
): Promise<CompileResult> {
  requireEnvironment(repo, opts.env);
  const result = compileModel(repo, opts.env !== undefined ? { env: opts.env } : {}, opts.outline);
  if (opts.write !== false && !hasErrors(result.diagnostics)) {
    await writeRendered(opts.out, result.files, opts.env !== undefined ? [opts.env] : undefined);
  }
  return result;
}

export async function compileRepo(opts: CompileRepoOptions): Promise<CompileResult & { reuse?: ReuseStats }> {
  const sources = await readRepo(opts.repo);
  const out = opts.out ?? join(opts.repo, 'rendered');
  const env = opts.env !== undefined ? { env: opts.env } : {};
  // A full written compile over a tree an earlier one left (emit/state.ts): only what changed.
  const whole = opts.write !== false && opts.env === undefined;
  if (whole && opts.reuse !== false) {
    const state = readState(out);
    const reused = state !== undefined ? compileOverState(sources, out, state) : undefined;
    if (reused !== undefined) return reused;
  }
  let outline: CompileOutline | undefined;
  const record = whole ? { outline: (o: CompileOutline) => (outline = o) } : {};
  const workers = workerCount(opts, sources);
  let result: CompileResult;
  if (workers === 0) result = await compileValid(validate(parseSources(sources)), { out, write: opts.write !== false, ...env, ...record });
  else {
    // Started before parsing, so the threads load their modules while this one parses.
    const pool = new WorkerPool(workers, true);
    try {
      result = await compileAndWrite(sources, { out, pool, ...env, ...record });
    } finally {
      await pool.close();
    }
  }
  if (outline !== undefined && !hasErrors(result.diagnostics)) {
    const envKey = envKeyOf(sources.filter((s) => sourceKind(s.path) === 'environment'));
    writeState(out, stateOf(outline, sources, envKey, result.files.filter((f) => f.source === undefined)), treeDirs(result.files.map((f) => f.path)));
  }
  return result;
}
