// vitest globalSetup of the `gitops` project: makes sure the pinned Argo CD build exists
// (scripts/test already ran test/gitops/ensure-argocd.sh, so this is a warm no-op there) and
// provides its directory to the tests (`inject('argocdBinDir')`).
import type { TestProject } from 'vitest/node';
import { ensureArgocd, resolveArgocdDir } from './argocd-bin.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** directory holding argocd, its role symlinks and dbtopo-argocd-health */
    argocdBinDir: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const dir = process.env['DBTOPO_ARGOCD_BIN_DIR'] ? resolveArgocdDir() : await ensureArgocd();
  project.provide('argocdBinDir', dir);
}
