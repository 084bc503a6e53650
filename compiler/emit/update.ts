// In-place update of an output tree the caller wrote before and knows exactly (`previous`: each
// file's text, joinDocuments of the objects it wrote there): only files whose text changed are
// written (each to a temporary name, then renamed over, so no file is ever seen half-written)
// and files no longer rendered are removed.

import { mkdir, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { dropState } from './state.js';
import { joinDocuments, type FileToWrite } from './documents.js';

export interface UpdateStats {
  written: number;
  deleted: number;
}

export async function updateTree(
  outDir: string,
  previous: ReadonlyMap<string, string>,
  objects: readonly FileToWrite[],
): Promise<UpdateStats> {
  const next = joinDocuments(objects);
  dropState(outDir); // the state of an earlier full compile no longer describes the tree
  const stats: UpdateStats = { written: 0, deleted: 0 };
  const keep = new Set<string>();
  for (const f of next) {
    keep.add(f.path);
    if (previous.get(f.path) === f.text) continue;
    const target = join(outDir, f.path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}`;
    await writeFile(tmp, f.text);
    await rename(tmp, target);
    stats.written++;
  }
  for (const path of previous.keys()) {
    if (keep.has(path)) continue;
    await unlink(join(outDir, path)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    // Remove the directory when it became empty; ENOTEMPTY just means others remain.
    await rmdir(dirname(join(outDir, path))).catch(() => undefined);
    stats.deleted++;
  }
  return stats;
}
