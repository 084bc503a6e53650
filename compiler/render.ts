// render: one topology in one environment → its Kubernetes objects with their file paths, before
// problems are located and YAML is written. Pure. Kept apart from compile.ts so a render worker
// (compiler/parallel) loads only this and what it needs, not the YAML parser or the validator.
import type { Environment, KubeObject, Topology } from '../schemas/types/index.js';
import { FEDERATION_DIR } from './argocd/emit.js';
import { annotateForArgoCd } from './argocd/waves.js';
import { withPath, type Placement } from './emit/paths.js';
import { guardParams } from './expand/guard-params.js';
import { federationObject, spreadProblems } from './expand/federation.js';
import { expandTopology } from './expand/index.js';
import { placeTopology, type PlaceProblem } from './place/index.js';
import { resolveTopology } from './resolve/index.js';
import { applyOverride } from './resolve/override.js';
import { memberOrder } from './rollout/order.js';

export interface TopologyObjects {
  files: Array<Placement & { path: string; object: KubeObject }>;
  namespaces: Array<{ memberCluster: string; namespace: string }>;
  problems: PlaceProblem[];
}

export function renderObjects(env: Environment, topology: Topology, file: string): TopologyObjects {
  const out: TopologyObjects = { files: [], namespaces: [], problems: [] };
  const effective = applyOverride(topology, env.name);
  const resolved = resolveTopology(effective, env, file);
  const { placed, problems } = placeTopology(resolved, env);
  out.problems = problems;
  if (!placed) return out;
  out.problems = [...problems, ...spreadProblems(placed, effective)];
  const files: TopologyObjects['files'] = [];
  // The Federation object (spread shards only) goes to the federation API server, listed first.
  const federation = federationObject(placed, memberOrder(env));
  if (federation) {
    out.namespaces.push({ memberCluster: FEDERATION_DIR, namespace: resolved.namespace });
    files.push(withPath({ env: env.name, memberCluster: FEDERATION_DIR, topology: resolved.name }, { ...federation }));
  }
  for (const member of expandTopology(placed)) {
    out.namespaces.push({ memberCluster: member.memberCluster, namespace: member.namespace });
    const params = guardParams(env, { name: resolved.name, namespace: member.namespace, source: resolved.source }, member.objects);
    for (const object of params ? [...member.objects, params] : member.objects) {
      files.push(withPath({ env: env.name, memberCluster: member.memberCluster, topology: resolved.name }, object));
    }
  }
  // Argo CD sync waves (compiler/argocd) are per object and per topology, so they go on before
  // the one YAML rendering; that keeps a topology's files a pure function of its inputs.
  out.files = annotateForArgoCd(files);
  return out;
}

