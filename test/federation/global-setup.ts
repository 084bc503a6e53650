// vitest globalSetup of the `federation` project: three independent control planes — the member
// clusters `member-a` and `member-b`, and `federation`, the federation API server (a plain
// control plane: the tests install the dbtopo CRDs on it) — through test/cluster/global-setup.ts,
// so tests get them as every cluster test does (`inject('kubeconfigs')`, DBTOPO_TEST_KUBECONFIGS)
// and everything is stopped in teardown, on exit and by the launcher's watchdog.
//
// Partitions (test/kubelet/flat-network.ts) need iptables inside the harness's own network
// namespace; Debian's package is installed here when it is missing (test/node/ensure-runtime.sh,
// which scripts/test runs first, installs it too).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startControlPlanes } from '../cluster/global-setup.js';

/** Control plane names: the member clusters' and the federation API server's. */
export const FEDERATION_CONTROL_PLANES = ['member-a', 'member-b', 'federation'] as const;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function ensureIptables(): void {
  try {
    execFileSync('iptables', ['--version'], { stdio: 'pipe', timeout: 10_000 });
    return;
  } catch {
    // install below
  }
  execFileSync(path.join(repoRoot, 'scripts/apt-install.sh'), ['federation', 'iptables'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  ensureIptables();
  return await startControlPlanes(project, FEDERATION_CONTROL_PLANES);
}
