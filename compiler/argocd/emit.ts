// Where the Argo CD objects of an environment go; compiler/pipeline/assemble.ts (argoCdFiles) writes them.
export const ARGOCD_DIR = '_argocd';
/**
 * Where the objects of an environment's federation API server go (rendered/<env>/_federation/):
 * a Federation object per topology with spread shards, the Federation CRD and their namespaces
 * (docs/federation.md). Also the `memberCluster` of those files (a name no member cluster can
 * have: member cluster names are DNS labels).
 */
export const FEDERATION_DIR = '_federation';
/** Where rendered/ sits in the Git repository Argo CD reads (the GitOps repo root). */
export const RENDERED_ROOT = 'rendered';
