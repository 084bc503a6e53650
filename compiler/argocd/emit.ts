// The Argo CD step of a compile: sync-wave annotations on every rendered object, and the
// environment's AppProject and ApplicationSet under rendered/<env>/_argocd/. Pure.
import type { Environment, KubeObject } from '../../schemas/types/index.js';
import { toYaml } from '../emit/yaml.js';
import { argocdObjects, type MemberRender } from './objects.js';
import { annotateForArgoCd } from './waves.js';

export const ARGOCD_DIR = '_argocd';
/** Where rendered/ sits in the Git repository Argo CD reads (the GitOps repo root). */
export const RENDERED_ROOT = 'rendered';

interface FileLike {
  path: string;
  object: KubeObject;
  text: string;
  source?: string;
}

export function addArgoCd<F extends FileLike>(envs: ReadonlyArray<Environment>, files: ReadonlyArray<F>): FileLike[] {
  const annotated: FileLike[] = annotateForArgoCd(files).map((f) => ({ ...f, text: toYaml(f.object) }));
  const out = [...annotated];
  for (const env of envs) {
    const members: MemberRender[] = env.memberClusters.map((m) => ({
      memberCluster: m.name,
      path: `${RENDERED_ROOT}/${env.name}/${m.name}`,
      objects: annotated.filter((f) => f.path.startsWith(`${env.name}/${m.name}/`)).map((f) => f.object),
    }));
    for (const object of argocdObjects(env, members)) {
      out.push({ path: `${env.name}/${ARGOCD_DIR}/${object.kind.toLowerCase()}-${object.metadata.name}.yaml`, object, text: toYaml(object) });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
