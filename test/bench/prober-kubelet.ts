// Child process of prober.bench.ts: one test kubelet per namespace (a kubelet holds at most 253
// pods, test/kubelet/network.ts), in a process of its own so that its readiness checks and status
// writes do not share an event loop with the bench's label watch and timers.
//   node dist/test/bench/prober-kubelet.js <kubeconfig> <workDir> <readinessMs> <ns>...
// Prints "ready" once every kubelet runs; on SIGTERM stops them all (engines, addresses, dirs)
// and exits. Started through setpriv --pdeathsig, so it and its engines die with the bench.
import * as path from 'node:path';
import { startTestKubelet, type TestKubelet } from '../kubelet/kubelet.js';

const [kubeconfigPath, workDir, readiness, ...namespaces] = process.argv.slice(2);
if (kubeconfigPath === undefined || workDir === undefined || readiness === undefined || namespaces.length === 0) {
  process.stderr.write('usage: prober-kubelet.js <kubeconfig> <workDir> <readinessMs> <namespace>...\n');
  process.exit(2);
}
const kubelets: TestKubelet[] = [];
let stopping = false;
const stop = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(code === 0 ? 1 : code), 60_000).unref();
  await Promise.allSettled(kubelets.map((k) => k.stop()));
  process.exit(code);
};
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));
try {
  for (const ns of namespaces) {
    kubelets.push(
      await startTestKubelet({
        kubeconfigPath,
        nodeName: `bench-${ns}`,
        workDir: path.join(workDir, ns),
        namespace: ns,
        readinessPeriodMs: Number(readiness),
        log: (m) => {
          if (/giving up|error|failed/i.test(m)) process.stderr.write(`[kubelet ${ns}] ${m}\n`);
        },
      }),
    );
  }
  process.stdout.write('ready\n');
} catch (err) {
  process.stderr.write(`prober-kubelet: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
}
