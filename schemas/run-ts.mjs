// Lets plain Node (>= 22.18, which strips TypeScript types) run the project's .ts sources
// directly: the sources import "./x.js" as tsc wants, and this hook finds "./x.ts" instead.
// Used by `npm run schemas`; keeps the generator independent of a full `tsc` build.
import { existsSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if ((specifier.startsWith('.') || specifier.startsWith('/')) && specifier.endsWith('.js') && context.parentURL) {
      const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
      if (ts.protocol === 'file:' && existsSync(fileURLToPath(ts))) return nextResolve(ts.href, context);
    }
    return nextResolve(specifier, context);
  },
});
