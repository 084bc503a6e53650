// assemble: the renders of a compile → its whole output. Adds each environment's cluster-scoped
// files (CRDs, Namespaces, admission guards) and the Argo CD objects, checks across topologies
// (an object rendered by two of them, DBT5001) and sorts the files by path.
import type { Environment, KubeObject } from '../../schemas/types/index.js';
import { ARGOCD_DIR, RENDERED_ROOT } from '../argocd/emit.js';
import { argocdObjects } from '../argocd/objects.js';
import { annotateForArgoCd } from '../argocd/waves.js';
import { diagnostic, type Diagnostic } from '../diagnostics.js';
import { clusterCrds } from '../emit/crds.js';
import { guardObjects } from '../emit/guards.js';
import { namespaceObject } from '../emit/namespaces.js';
import { objectKey, withPath, type ObjectHead, type Placement } from '../emit/paths.js';
import { toYaml } from '../emit/yaml.js';
import { resolveGuard } from '../resolve/guard.js';
import type { FileHead, RenderedFile, RenderOutline } from './rendered-file.js';
import { byString } from './select.js';

/** CRDs, Namespaces and admission guards of every member cluster of an environment. */
export function clusterFiles(env: Environment, namespaces: ReadonlyMap<string, ReadonlySet<string>>): RenderedFile[] {
  const files: RenderedFile[] = [];
  // The CRDs and the admission guard (which names the environment's identities) are the same in
  // every member cluster: annotated and rendered once.
  const once = (objects: readonly KubeObject[]) =>
    annotateForArgoCd(objects.map((object) => ({ env: env.name, memberCluster: '', object }))).map(({ object }) => ({ object, text: toYaml(object) }));
  const crds = once(clusterCrds());
  const guards = once(guardObjects(resolveGuard(env)));
  for (const member of env.memberClusters) {
    const at = { env: env.name, memberCluster: member.name };
    for (const { object, text } of crds) files.push({ ...withPath(at, object), text });
    const namespaceFiles = [...(namespaces.get(member.name) ?? [])].sort(byString).map((ns) => withPath<KubeObject, Placement>(at, namespaceObject(ns)));
    for (const f of annotateForArgoCd(namespaceFiles)) files.push({ ...f, text: toYaml(f.object) });
    for (const { object, text } of guards) files.push({ ...withPath(at, object), text });
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
    const key = `${f.env}/${f.memberCluster}`;
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
      out.push({ ...withPath({ env: env.name, memberCluster: ARGOCD_DIR }, object), text: toYaml(object) });
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
    key = objectKey(f);
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
    const what = `${f.object.kind} ${f.object.metadata.namespace ?? ''}/${f.object.metadata.name} in member cluster ${f.memberCluster} (environment ${f.env})`;
    for (const [self, other] of [
      [f.source, first.source ?? ''],
      [first.source ?? '', f.source],
    ] as const) {
      out.push(diagnostic('DBT5001', self, locateSource(self), `${what} is also rendered by ${other}`));
    }
  }
  return out;
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
