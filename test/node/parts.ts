// Where the real node's parts are: runs test/node/ensure-node.sh (a fast no-op when cached, a
// build of kubelet/kube-proxy/kube-scheduler, the images and the add-ons when not) and reads its
// lines.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// test/node/ in the checkout, also when this runs compiled from dist/test/node/ (the benchmarks)
const here = path.dirname(fileURLToPath(import.meta.url)).replace(/\/dist\/test\/node$/, '/test/node');

/** A script of test/node/ (from the sources or from dist/). */
export function nodeScript(name: string): string {
  return path.join(here, name);
}

export interface NodeParts {
  nodeBinDir: string;
  imageDir: string;
  /** coredns and local-path-provisioner (build-addons.sh), run by addons.ts. */
  addonDir: string;
}

export function ensureNodeParts(): NodeParts {
  const out = execFileSync(nodeScript('ensure-node.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 900_000 });
  const value = (key: string): string => {
    const line = out.split('\n').find((l) => l.startsWith(`${key}=`));
    if (line === undefined) throw new Error(`test/node/ensure-node.sh printed no ${key}= line:\n${out}`);
    return line.slice(key.length + 1);
  };
  return { nodeBinDir: value('NODE_BIN_DIR'), imageDir: value('IMAGE_DIR'), addonDir: value('ADDON_DIR') };
}
