// Removing a previous output tree (tens of thousands of files) with the render workers: the
// tree's directories a few levels down are shared out, then the main thread removes what is left.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { entriesOrNone } from './entries.js';
import type { WorkerPool } from './pool.js';

/** <env>/<member-cluster>/<namespace>: dozens of similar-sized pieces in a rendered tree. */
const DEPTH = 3;

function directoriesAt(dir: string, depth: number, into: string[]): void {
  for (const e of entriesOrNone(dir)) {
    if (!e.isDirectory()) continue;
    const path = join(dir, e.name);
    if (depth > 1) directoriesAt(path, depth - 1, into);
    else into.push(path);
  }
}

export async function removeTreesWith(pool: WorkerPool, dirs: readonly string[]): Promise<void> {
  const pieces: string[] = [];
  for (const d of dirs) directoriesAt(d, DEPTH, pieces);
  await pool.map(pieces, (piece) => ({ type: 'remove', dirs: [piece] }));
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
