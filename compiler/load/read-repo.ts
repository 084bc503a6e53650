// The I/O edge of loading: the YAML files of a GitOps repo, as text, in a stable order.
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export interface SourceFile {
  /** Relative to the repo root, "/"-separated: envs/prod.yaml, topologies/orders-db.yaml. */
  path: string;
  text: string;
}

const YAML_FILE = /\.ya?ml$/;

/** A --repo that is not a directory: a usage error (the CLI exits 2), not an empty repository. */
export class RepoNotFoundError extends Error {
  readonly repoDir: string;
  constructor(repoDir: string) {
    super(`repository ${repoDir} is not a directory; pass --repo <dir> holding envs/ and topologies/`);
    this.name = 'RepoNotFoundError';
    this.repoDir = repoDir;
  }
}

/**
 * envs/*.yaml and topologies/**\/*.yaml of `repoDir`, paths relative to it with "/" separators.
 * Throws RepoNotFoundError when `repoDir` itself is missing; missing envs/ or topologies/ are fine.
 */
export async function readRepo(repoDir: string): Promise<SourceFile[]> {
  const isDir = await stat(repoDir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new RepoNotFoundError(repoDir);
  const paths = [
    ...(await listYaml(repoDir, join(repoDir, 'envs'), false)),
    ...(await listYaml(repoDir, join(repoDir, 'topologies'), true)),
  ].sort();
  // Synchronous reads: for a thousand small files they take ~10 ms of CPU where promise-based
  // ones took ~100 ms (and every incremental recompile reads the whole repository).
  return paths.map((path) => ({ path, text: readFileSync(join(repoDir, path), 'utf8') }));
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
