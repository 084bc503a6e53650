// The I/O edge of `plan`: the GitOps repo's source files as they are at a Git ref, read straight
// from the object database (ls-tree + one `cat-file --batch`), so neither side needs a checkout
// and a 1,000-topology repo costs two git processes, not a thousand.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { SimpleGit, simpleGit as SimpleGitFactory } from 'simple-git';
import type { SourceFile } from '../load/index.js';

/** Paths under the GitOps repo root that a plan reads at a ref. */
export const PLAN_INPUTS = ['envs', 'topologies', 'acknowledgements.yaml'] as const;

export interface GitSide {
  ref: string;
  commit: string;
  files: SourceFile[];
}

export class GitRefError extends Error {}

export async function gitRepo(repoDir: string): Promise<{ git: SimpleGit; prefix: string }> {
  // Loaded on first use, so that `dbtopo compile` does not load it.
  const { simpleGit } = createRequire(import.meta.url)('simple-git') as { simpleGit: typeof SimpleGitFactory };
  const git = simpleGit({ baseDir: repoDir });
  if (!(await git.checkIsRepo())) throw new GitRefError(`${repoDir} is not inside a Git work tree; plan compares Git refs, run it in a clone of the GitOps repo`);
  // The GitOps repo may be a sub-directory of the Git repository (like environments/ here).
  const prefix = (await git.revparse(['--show-prefix'])).trim();
  return { git, prefix };
}

export async function resolveCommit(git: SimpleGit, ref: string): Promise<string> {
  const unknown = new GitRefError(`unknown Git ref "${ref}"; pass a branch, tag or commit that exists locally (fetch it first, e.g. git fetch origin main)`);
  // A ref starting with "-" would be read as an option by git.
  if (ref.startsWith('-')) throw unknown;
  let commit = '';
  try {
    commit = (await git.revparse(['--verify', '--quiet', `${ref}^{commit}`])).trim();
  } catch {
    throw unknown;
  }
  // `--quiet` makes git exit 1 with no output for an unknown ref, which simple-git does not throw on.
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw unknown;
  return commit;
}

/** envs/, topologies/ and acknowledgements.yaml at `ref`, paths relative to the GitOps repo root. */
export async function readSourcesAt(repoDir: string, ref: string): Promise<GitSide> {
  const { git, prefix } = await gitRepo(repoDir);
  const commit = await resolveCommit(git, ref);
  const listing = await git.raw(['ls-tree', '-r', '-z', '--full-tree', commit, '--', ...PLAN_INPUTS.map((p) => prefix + p)]);
  const entries: Array<{ oid: string; path: string }> = [];
  for (const rec of listing.split('\0')) {
    // "<mode> <type> <oid>\t<path>"
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [, type, oid] = rec.slice(0, tab).split(' ');
    if (type !== 'blob' || oid === undefined) continue;
    const path = rec.slice(tab + 1).slice(prefix.length);
    if (/\.ya?ml$/.test(path)) entries.push({ oid, path });
  }
  const texts = await catBlobs(repoDir, entries.map((e) => e.oid));
  const files = entries.map((e, i) => ({ path: e.path, text: texts[i] ?? '' })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { ref, commit, files };
}

/** Contents of blobs by object id, in order, through one `git cat-file --batch`. */
function catBlobs(cwd: string, oids: string[]): Promise<string[]> {
  if (oids.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`git cat-file failed (${code}): ${stderr.trim()}`));
      try {
        resolve(parseBatch(Buffer.concat(chunks), oids.length));
      } catch (e) {
        reject(e);
      }
    });
    child.stdin.end(oids.join('\n') + '\n');
  });
}

function parseBatch(buf: Buffer, count: number): string[] {
  const out: string[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) throw new Error('git cat-file: truncated output');
    const header = buf.toString('utf8', pos, nl).split(' ');
    if (header[1] !== 'blob') throw new Error(`git cat-file: expected a blob, got "${header.join(' ')}"`);
    const size = Number(header[2]);
    out.push(buf.toString('utf8', nl + 1, nl + 1 + size));
    pos = nl + 1 + size + 1; // content is followed by a newline
  }
  return out;
}
