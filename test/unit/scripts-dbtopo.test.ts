// scripts/dbtopo, the CLI from a checkout, runs in the caller's directory: `--repo .` and a
// GitOps repo in the current directory are the caller's, not the project's embedded example
// (it used to change into the project root first and so silently worked on the example).
import { execFile } from 'node:child_process';
import { cp, mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/dbtopo');
const run = promisify(execFile);
const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

/** A GitOps repo of one's own: the example's envs/ and topologies/, at `<tmp>/gitops`. */
async function ownRepo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbtopo-script-'));
  temps.push(dir);
  const repo = join(dir, 'gitops');
  await mkdir(repo);
  for (const sub of ['envs', 'topologies']) await cp(join(ROOT, 'environments', sub), join(repo, sub), { recursive: true });
  return repo;
}

async function validate(cwd: string, ...args: string[]): Promise<{ repo: string; ok: boolean }> {
  const { stdout } = await run('bash', [SCRIPT, 'validate', '--format', 'json', ...args], { cwd, timeout: 120_000 });
  return JSON.parse(stdout) as { repo: string; ok: boolean };
}

describe('scripts/dbtopo', () => {
  it('works on the GitOps repo in the current directory, not on the embedded example', async () => {
    const repo = await ownRepo();
    expect(await validate(repo)).toMatchObject({ repo, ok: true });
  }, 120_000);

  it('resolves --repo against the caller\'s directory', async () => {
    const repo = await ownRepo();
    expect(await validate(repo, '--repo', '.')).toMatchObject({ repo, ok: true });
    expect(await validate(resolve(repo, '..'), '--repo', 'gitops')).toMatchObject({ repo, ok: true });
  }, 120_000);

  it('falls back to the embedded example where the current directory holds no envs/', async () => {
    const repo = await ownRepo();
    expect(await validate(resolve(repo, '..'))).toMatchObject({ repo: join(ROOT, 'environments'), ok: true });
  }, 120_000);
});
