// assemble: the renders of a compile → its whole output. Adds each environment's cluster-scoped
// files (CRDs, Namespaces, admission guards) and the Argo CD objects, checks across topologies
// (an object rendered by two of them, DBT5001) and sorts the files by path (pipeline.ts, steps
// 4 and 5).
import type { Environment, KubeObject } from '../../schemas/types/index.js';
import { ARGOCD_DIR, FEDERATION_DIR, RENDERED_ROOT } from '../argocd/emit.js';
import { federationInMemberDiagnostics, sharedFederationDiagnostics } from '../argocd/federation.js';
import { argocdObjects, membersAtFederation } from '../argocd/objects.js';
import { annotateForArgoCd } from '../argocd/waves.js';
import { diagnostic, sortDiagnostics, type Diagnostic } from '../diagnostics.js';
import { clusterCrds, federationCrds } from '../emit/crds.js';
import { guardObjects } from '../emit/guards.js';
import { namespaceObject } from '../emit/namespaces.js';
import { objectKey, withPath, type ObjectHead, type Placement } from '../emit/paths.js';
import { toYaml } from '../emit/yaml.js';
import { resolveGuard } from '../resolve/guard.js';
import { HEAD_FIELDS } from '../parallel/protocol.js';
import type { ValidRepo } from '../validate/index.js';
import type { Compiled, Job } from './stages.js';
import { headAt, type FileHead, type RenderedFile, type RenderOutline } from './rendered-file.js';
import { byString } from './select.js';

/** CRDs, Namespaces and admission guards of every member cluster of an environment. */
function clusterFiles(env: Environment, namespaces: ReadonlyMap<string, ReadonlySet<string>>): RenderedFile[] {
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
  // The federation API server (Federation objects of spread topologies): their CRD and namespaces.
  const federated = namespaces.get(FEDERATION_DIR);
  if (federated !== undefined) {
    const at = { env: env.name, memberCluster: FEDERATION_DIR };
    const there = new Set(membersAtFederation(env).flatMap((m) => [...(namespaces.get(m) ?? [])]));
    const own = [...federated].filter((ns) => !there.has(ns)).sort(byString);
    const cluster = [...federationCrds(), ...own.map(namespaceObject)].map((object) => withPath<KubeObject, Placement>(at, object));
    for (const f of annotateForArgoCd(cluster)) files.push({ ...f, text: toYaml(f.object) });
  }
  return files;
}

/**
 * rendered/<env>/_argocd/: the environment's AppProject and ApplicationSet (compiler/argocd,
 * owned by the GitOps loop), from the already annotated files of its member clusters.
 */
function argoCdFiles(envs: readonly Environment[], files: readonly FileHead[]): RenderedFile[] {
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
    const federated = byMember.get(`${env.name}/${FEDERATION_DIR}`);
    const federation = federated && { memberCluster: FEDERATION_DIR, path: `${RENDERED_ROOT}/${env.name}/${FEDERATION_DIR}`, objects: federated };
    for (const object of argocdObjects(env, members, federation)) {
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
function duplicateDiagnostics(
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

/** Step 4 and 5 of the pipeline (pipeline.ts) over the renders of a compile's jobs. */
export function assembleCompile<F extends FileHead>(
  repo: ValidRepo,
  envs: Environment[],
  jobs: readonly Job[],
  renders: ReadonlyArray<RenderOutline<F>>,
): Compiled<F> {
  if (renders.length !== jobs.length) throw new Error(`internal error: ${renders.length} renders for ${jobs.length} jobs`);
  const byFile = new Map(repo.topologies.map((t) => [t.file, t]));
  const locate = (file: string): { line: number; col: number } => byFile.get(file)?.locate(['name']) ?? { line: 1, col: 1 };
  const placement: Diagnostic[] = [];
  for (const env of envs) for (const r of renders) if (r.env === env.name) placement.push(...r.diagnostics);
  const shared = sharedFiles(envs, renders);
  const federated = new Set(renders.filter((r) => r.namespaces.some((n) => n.memberCluster === FEDERATION_DIR)).map((r) => r.env));
  const diagnostics = sortDiagnostics([...repo.diagnostics, ...placement, ...duplicates(renders, locate), ...sharedFederationDiagnostics(repo.environments, federated), ...federationInMemberDiagnostics(repo.environments, federated)]);
  let files: Array<F | RenderedFile> | undefined;
  return {
    repo,
    envs,
    jobs: jobs.map((j, i) => ({ ...j, render: renders[i] as RenderOutline<F> })),
    shared,
    diagnostics,
    get files() {
      if (files === undefined) {
        files = [];
        for (const r of renders) for (const f of r.files) files.push(f);
        files.push(...shared);
        files.sort((a, b) => byString(a.path, b.path));
      }
      return files;
    },
    get objects() {
      return renders.reduce((n, r) => n + (r.heads !== undefined ? r.heads.length / HEAD_FIELDS : r.files.length), shared.length);
    },
  };
}

/**
 * The files of no one topology, in assembly order: per environment its cluster-scoped files from
 * its renders' namespaces, then the Argo CD objects. Those read only which namespaces and kinds
 * each member cluster has, so one head of each (member cluster, apiVersion, kind, namespace) is
 * passed on, not every file's.
 */
function sharedFiles(envs: readonly Environment[], renders: ReadonlyArray<RenderOutline<FileHead>>): RenderedFile[] {
  const shared: RenderedFile[] = [];
  const heads: FileHead[] = [];
  for (const env of envs) {
    const namespaces = new Map<string, Set<string>>();
    const seen = new Set<string>();
    for (const r of renders) {
      if (r.env !== env.name) continue;
      for (const { memberCluster, namespace } of r.namespaces) {
        const set = namespaces.get(memberCluster) ?? new Set<string>();
        set.add(namespace);
        namespaces.set(memberCluster, set);
      }
      for (const [key, at] of kindHeads(r)) {
        if (seen.has(key)) continue;
        seen.add(key);
        heads.push(r.heads !== undefined ? headAt(r.heads, at) : (r.files[at] as FileHead));
      }
    }
    const cluster = clusterFiles(env, namespaces);
    shared.push(...cluster);
    heads.push(...cluster);
  }
  shared.push(...argoCdFiles(envs, heads));
  return shared;
}

const kindHeadsOf = new WeakMap<RenderOutline<FileHead>, Map<string, number>>();
const FEW_KINDS = 64;
/**
 * Where in a render's heads (or files) the first file of each (member cluster, apiVersion, kind,
 * namespace) is; once per render (`dbtopo plan` assembles the renders both sides share twice; a
 * parallel compile computes it as each render arrives, not after the last one).
 * Positions, not heads: most keys are seen in an earlier render and never made into a head.
 */
export function kindHeads(r: RenderOutline<FileHead>): Map<string, number> {
  let out = kindHeadsOf.get(r);
  if (out !== undefined) return out;
  out = new Map();
  const h = r.heads;
  if (h !== undefined) {
    // A render has a few of them (7 on average in the benchmark): the heads are compared with the
    // first of each found so far, and a key made for those only. Making every head's key to
    // look it up cost 32 ms of the main thread's CPU over the 63,400 heads of the benchmark,
    // this 10 ms (best of 6 at load ~13). Beyond FEW_KINDS, by key.
    const firsts: number[] = [];
    heads: for (let i = 0; i < h.length; i += HEAD_FIELDS) {
      if (firsts.length > FEW_KINDS) {
        const key = `${h[i + 1]}\0${h[i + 3]}\0${h[i + 4]}\0${h[i + 6]}`;
        if (!out.has(key)) out.set(key, i);
        continue;
      }
      for (let j = firsts.length - 1; j >= 0; j--) {
        const f = firsts[j] as number;
        if (h[f + 4] === h[i + 4] && h[f + 3] === h[i + 3] && h[f + 6] === h[i + 6] && h[f + 1] === h[i + 1]) continue heads;
      }
      firsts.push(i);
      const key = `${h[i + 1]}\0${h[i + 3]}\0${h[i + 4]}\0${h[i + 6]}`;
      if (!out.has(key)) out.set(key, i);
    }
  } else {
    r.files.forEach((f, i) => {
      const key = `${f.memberCluster}\0${f.object.apiVersion}\0${f.object.kind}\0${f.object.metadata.namespace ?? ''}`;
      if (!out.has(key)) out.set(key, i);
    });
  }
  kindHeadsOf.set(r, out);
  return out;
}

/**
 * DBT5001 over the renders' files in assembly order. Renders whose objects went into one index
 * as they arrived (ObjectOwners, a parallel compile's) are gone over only when it found a clash.
 * Renders taken from a state without errors
 * (`checked`) render no object twice among themselves: when some are, only the others' objects
 * are looked up in them (by name first, from their heads), and the full check (which makes
 * every file) runs only if that finds a clash.
 */
function duplicates(renders: ReadonlyArray<RenderOutline<FileHead>>, locate: (file: string) => { line: number; col: number }): Diagnostic[] {
  const all = (): Diagnostic[] => duplicateDiagnostics(renders.flatMap((r) => r.files), locate);
  if (!renders.some((r) => r.checked === true)) {
    const owners = renders[0]?.owners;
    return owners !== undefined && renders.every((r) => r.owners === owners) && !owners.clash ? [] : all();
  }
  const owner = new Map<string, string | undefined>();
  const names = new Set<string>();
  for (const r of renders) {
    if (r.checked === true) continue;
    for (const f of r.files) {
      const key = identityOf(f);
      if (owner.has(key) && owner.get(key) !== f.source) return all();
      owner.set(key, f.source);
      names.add(f.object.metadata.name);
    }
  }
  if (owner.size === 0) return [];
  for (const r of renders) {
    const h = r.heads;
    if (r.checked !== true || h === undefined) continue;
    for (let i = 0; i < h.length; i += HEAD_FIELDS) {
      if (!names.has(h[i + 5] ?? '')) continue;
      const head = headAt(h, i);
      if (owner.has(objectKey(head))) return all();
    }
  }
  return [];
}
