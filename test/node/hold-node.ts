// Starts a control plane and a real node joined to it, prints `READY <kubeconfig>` and holds them
// until SIGINT/SIGTERM (then stops both); for humans (`npm run node:up`) and for
// cleanup-node.test.ts, which SIGKILLs it to prove a killed run leaves nothing behind.
//   node --import ./schemas/run-ts.mjs test/node/hold-node.ts
import { resolveBinDir, startControlPlane } from '../cluster/launcher.js';
import { startRealNode } from './node.js';
import { ensureNodeParts } from './parts.js';

const log = (m: string): void => {
  process.stderr.write(`${m}\n`);
};
const parts = ensureNodeParts();
const cp = await startControlPlane({ name: 'real-node', binDir: resolveBinDir(), realNodes: true, log });
const node = await startRealNode({ controlPlane: cp, binDir: parts.nodeBinDir, imageDir: parts.imageDir, log });
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await node.stop();
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
process.stdout.write(`READY ${cp.kubeconfigPath}\n`);
log(`node ${node.name} at ${node.ip}; KUBECONFIG=${cp.kubeconfigPath}; Ctrl-C stops both`);
setInterval(() => {}, 60_000);
