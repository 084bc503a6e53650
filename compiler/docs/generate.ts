// `npm run schemas`: writes the generated schema, CRD and doc files (reference.ts lists them).
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifacts } from './reference.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
for (const a of artifacts()) {
  const path = join(root, a.path);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, a.text);
  console.log(`wrote ${a.path}`);
}
