// Entry of a render worker thread (see compiler/parallel/pool.ts). Run from the TypeScript
// sources (tests), Node strips the types but does not map the ".js" import suffixes to ".ts":
// a resolve hook does that before the worker's modules load.
import { registerHooks } from 'node:module';
import { parentPort } from 'node:worker_threads';
import type { Request } from './protocol.js';

if (import.meta.url.endsWith('.ts')) {
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (err) {
        if (!specifier.startsWith('.') || !specifier.endsWith('.js')) throw err;
        return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
      }
    },
  });
}

const { handle } = await import('./render-shard.js');
const port = parentPort;
if (!port) throw new Error('render-worker.ts runs only as a worker thread');
port.on('message', (req: Request) => port.postMessage(handle(req)));
