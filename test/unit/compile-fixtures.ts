// Test helpers for the compile tests: a copy of the example repository made larger, and a
// rendered tree as text by relative path, to compare two compiles' output.
import { cp, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');

/**
 * The example repository (envs/, topologies/, rendered/) in a new directory, pushed to `temps`
 * for the caller to remove, plus `copies` renamed copies of each of its topologies.
 */
export async function exampleWithCopies(copies: number, temps: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbtopo-example-'));
  temps.push(dir);
  for (const sub of ['envs', 'topologies', 'rendered']) await cp(join(EXAMPLE, sub), join(dir, sub), { recursive: true });
  for (const file of await readdir(join(EXAMPLE, 'topologies'))) {
    const text = await readFile(join(EXAMPLE, 'topologies', file), 'utf8');
    for (let i = 0; i < copies; i++) {
      await writeFile(join(dir, 'topologies', `${file.replace(/\.yaml$/, '')}-c${i}.yaml`), text.replace(/^name: (\S+)$/m, `name: $1-c${i}`));
    }
  }
  return dir;
}

export async function readTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(relative(root, join(e.parentPath, e.name)), await readFile(join(e.parentPath, e.name), 'utf8'));
  }
  return out;
}
