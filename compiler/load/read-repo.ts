// The I/O edge of loading: the YAML files of a GitOps repo, as text, in a stable order.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { SourceFile } from './index.js';

const YAML_FILE = /\.ya?ml$/;

/** envs/*.yaml and topologies/**\/*.yaml of `repoDir`, paths relative to it with "/" separators. */
export async function readRepo(repoDir: string): Promise<SourceFile[]> {
  const paths = [
    ...(await listYaml(repoDir, join(repoDir, 'envs'), false)),
    ...(await listYaml(repoDir, join(repoDir, 'topologies'), true)),
  ].sort();
  return Promise.all(paths.map(async (path) => ({ path, text: await readFile(join(repoDir, path), 'utf8') })));
}

async function listYaml(root: string, dir: string, recursive: boolean): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((e) => e.isFile() && YAML_FILE.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'));
}
