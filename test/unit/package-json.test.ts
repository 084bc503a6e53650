// The npm package: `npm pack` gives a tarball that, installed globally, is a working `dbtopo` (and
// `kubectl-dbtopo`, krew's plugin naming, so `kubectl dbtopo …` works when it is on PATH) that
// compiles a repository of one's own, with no file of the checkout needed.
// What this stands in for: `npm install -g <tarball>` resolves the dependencies through the
// registry's metadata, which a test may not reach (and npm's cache holds only tarballs). The test
// installs the same tarball's files with the npm-shrinkwrap.json it ships (npm ci --offline, from
// the cache npm ci filled), then `npm install -g` of that folder.
// From a Git URL: `npm install -g git+<url>` is broken in npm for any package that builds in
// `prepare` (npm/cli#8440, open: the clone's devDependencies are never installed), so the README
// gives `npm pack git+<url>` (npm clones, installs the devDependencies, runs `prepare` =
// scripts/build.sh, packs) and `npm install -g` of that tarball. The test does exactly that against
// a file:// repository of this checkout; the installed folder borrows the dependencies of the
// first install for the same reason as above.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { symlink } from 'node:fs/promises';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
let dir = '';
let prefix = '';
let files: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbtopo-pack-'));
  // prepack (scripts/prepack.sh) builds only when dist/ is stale: scripts/test built it already.
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 240_000 });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (info === undefined) throw new Error(`npm pack printed no package: ${stdout}`);
  files = info.files.map((f) => f.path);
  const unpacked = join(dir, 'unpacked');
  await mkdir(unpacked);
  await run('tar', ['xzf', join(dir, info.filename), '-C', unpacked], { timeout: 60_000 });
  const npmOpts = ['--offline', '--no-audit', '--no-fund', '--loglevel=error'];
  await run('npm', ['ci', '--omit=dev', ...npmOpts], { cwd: join(unpacked, 'package'), timeout: 180_000 });
  prefix = join(dir, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, ...npmOpts, join(unpacked, 'package')], { cwd: dir, timeout: 120_000 });
}, 300_000);
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the CLI, the controller, templates, health checks, schemas and the example, not the tests', () => {
    for (const f of ['npm-shrinkwrap.json', 'dist/compiler/cli/main.js', 'dist/controller/main.js', 'ci/templates/plan-comment.md.hbs', 'ci/argocd/argocd-cm-health.yaml', 'schemas/json/topology.schema.json', 'environments/envs/prod.yaml', 'README.md']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => f.startsWith('dist/test/') || f.endsWith('.map') || f.startsWith('test/'))).toEqual([]);
    expect(existsSync(join(ROOT, 'npm-shrinkwrap.json'))).toBe(false); // postpack removed the copy
  });

  it('installs with npm install -g and compiles a repository of its own from any directory', async () => {
    const repo = await mkdtemp(join(dir, 'gitops-'));
    for (const sub of ['envs', 'topologies']) await cp(join(ROOT, 'environments', sub), join(repo, sub), { recursive: true });
    const bin = join(prefix, 'bin', 'dbtopo');
    const { stdout, stderr } = await run(bin, ['compile'], { cwd: repo, timeout: 120_000 });
    expect(`${stdout}${stderr}`).toMatch(/wrote \d+ objects/);
    expect(await readdir(join(repo, 'rendered'))).toEqual(expect.arrayContaining(['dev', 'prod', 'staging']));
    // the plan renders its comment from the packaged templates
    const help = await run(bin, ['plan', '--help'], { timeout: 60_000 });
    expect(help.stdout).toMatch(/Exit codes/i);
  }, 180_000);

  it('installs from a Git URL: npm pack <git-url> builds the same package, which npm install -g takes', async () => {
    // A repository of this checkout's files, committed or not, as a user's remote would hold them.
    const src = join(dir, 'git-src');
    const { stdout: listed } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 1 << 26 });
    // (node_modules may be a symlink in a worktree, which .gitignore's `node_modules/` does not match)
    for (const f of listed.split('\0').filter((f) => f !== '' && f.split('/')[0] !== 'node_modules' && existsSync(join(ROOT, f)))) {
      await mkdir(join(src, f, '..'), { recursive: true });
      await cp(join(ROOT, f), join(src, f));
    }
    const git = (args: string[]): Promise<unknown> => run('git', ['-c', 'user.name=dbtopo-test', '-c', 'user.email=test@dbtopo.invalid', ...args], { cwd: src, timeout: 60_000 });
    await git(['init', '-q', '-b', 'main']);
    await git(['add', '-A']);
    await git(['commit', '-q', '-m', 'dbtopo at a Git URL']);

    const out = join(dir, 'from-git');
    await mkdir(out);
    const packed = await run('npm', ['pack', '--offline', '--json', '--pack-destination', out, '--no-audit', '--no-fund', '--loglevel=error', `git+file://${src}`], { cwd: out, timeout: 400_000, maxBuffer: 1 << 26 });
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    if (info === undefined) throw new Error(`npm pack printed no package: ${packed.stdout}`);
    // The same files as the checkout's own pack, built by prepare; only the shrinkwrap (made by
    // prepack, which npm does not run for a Git dependency) is missing.
    expect(info.files.map((f) => f.path).sort()).toEqual(files.filter((f) => f !== 'npm-shrinkwrap.json').sort());

    const unpacked = join(out, 'unpacked');
    await mkdir(unpacked);
    await run('tar', ['xzf', join(out, info.filename.split('/').pop() ?? info.filename), '-C', unpacked], { timeout: 60_000 });
    await symlink(join(dir, 'unpacked', 'package', 'node_modules'), join(unpacked, 'package', 'node_modules'));
    const gitPrefix = join(out, 'prefix');
    await run('npm', ['install', '-g', '--prefix', gitPrefix, '--offline', '--no-audit', '--no-fund', '--loglevel=error', join(unpacked, 'package')], { cwd: out, timeout: 120_000 });
    const repo = await mkdtemp(join(out, 'gitops-'));
    for (const sub of ['envs', 'topologies']) await cp(join(ROOT, 'environments', sub), join(repo, sub), { recursive: true });
    const { stdout, stderr } = await run(join(gitPrefix, 'bin', 'dbtopo'), ['compile'], { cwd: repo, timeout: 120_000 });
    expect(`${stdout}${stderr}`).toMatch(/wrote \d+ objects/);
  }, 600_000);

  it('answers as a kubectl plugin (kubectl-dbtopo) with the same program', async () => {
    const { stdout } = await run(join(prefix, 'bin', 'kubectl-dbtopo'), ['validate', '--help'], { timeout: 60_000 });
    expect(stdout).toMatch(/Usage: dbtopo validate/);
  });
});
