// `npm run bench` (after `npm run build`): runs every test/bench/*.bench.ts, in name order, one
// after the other so they do not compete for the CPU. A bench file either does its work when
// imported or exports a default async function, which is called here.

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.js')).sort();
for (const file of files) {
  if (only.length > 0 && !only.some((o) => file.includes(o))) continue;
  process.stdout.write(`\n== ${file}\n`);
  const mod: { default?: unknown } = await import(pathToFileURL(join(dir, file)).href);
  if (typeof mod.default === 'function') await (mod.default as () => Promise<void>)();
}
