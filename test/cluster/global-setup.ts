// vitest globalSetup of the `cluster` project: starts two independent control planes
// (member-a, member-b), provides their kubeconfig paths to tests (`inject('kubeconfigs')`) and
// writes them to a json file whose path is in DBTOPO_TEST_KUBECONFIGS. Everything it starts is
// stopped in teardown, on exit/SIGINT/SIGTERM, and by a watchdog if this process is killed.
// startControlPlanes() does the same for any names (test/federation/global-setup.ts: three).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  ensureBinaries,
  killControlPlaneSync,
  resolveBinDir,
  startControlPlane,
  type ControlPlane,
} from './launcher.js';

export const MEMBER_CLUSTERS = ['member-a', 'member-b'] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    /** member cluster name → kubeconfig path */
    kubeconfigs: Record<string, string>;
    /** member cluster name → seconds the (warm) start took */
    controlPlaneStartSeconds: Record<string, number>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  return await startControlPlanes(project, MEMBER_CLUSTERS);
}

/**
 * Starts one control plane per name, in parallel, and provides `kubeconfigs` (name → kubeconfig
 * path; the control plane's directory is that file's directory) and `controlPlaneStartSeconds`.
 * Returns the teardown.
 */
export async function startControlPlanes(project: TestProject, names: readonly string[]): Promise<() => Promise<void>> {
  const t0 = performance.now();
  const binDir = process.env['DBTOPO_K8S_BIN_DIR'] ? resolveBinDir() : await ensureBinaries();
  const running: ControlPlane[] = [];
  const killAll = (): void => {
    for (const cp of running) killControlPlaneSync(cp);
    running.length = 0;
  };
  const onExit = (): void => killAll();
  const onSignal = (signal: NodeJS.Signals): void => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const log = (m: string): void => {
    process.stderr.write(`[cluster] ${m}\n`);
  };
  const results = await Promise.allSettled(
    names.map((name) => startControlPlane({ name, binDir, log })),
  );
  for (const r of results) if (r.status === 'fulfilled') running.push(r.value);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(running.map((cp) => cp.stop()));
    running.length = 0;
    throw failure.reason;
  }

  const kubeconfigs: Record<string, string> = {};
  const startSeconds: Record<string, number> = {};
  for (const cp of running) {
    kubeconfigs[cp.name] = cp.kubeconfigPath;
    startSeconds[cp.name] = cp.startSeconds;
  }
  // inside member-a's run dir: removed with it, also by the watchdog when this process is killed
  const file = path.join((running[0] as ControlPlane).dir, 'kubeconfigs.json');
  fs.writeFileSync(file, `${JSON.stringify(kubeconfigs, null, 2)}\n`);
  process.env['DBTOPO_TEST_KUBECONFIGS'] = file;
  project.provide('kubeconfigs', kubeconfigs);
  project.provide('controlPlaneStartSeconds', startSeconds);
  log(
    `control planes up in ${((performance.now() - t0) / 1000).toFixed(1)}s (warm start, ${running.length} in parallel): ` +
      running.map((cp) => `${cp.name} ${cp.startSeconds.toFixed(1)}s ${cp.server}`).join(', '),
  );

  return async () => {
    const all = running.splice(0);
    await Promise.all(all.map((cp) => cp.stop()));
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
