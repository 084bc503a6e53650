// Where the Argo CD objects of an environment go; compiler/pipeline/assemble.ts (argoCdFiles) writes them.
export const ARGOCD_DIR = '_argocd';
/** Where rendered/ sits in the Git repository Argo CD reads (the GitOps repo root). */
export const RENDERED_ROOT = 'rendered';
