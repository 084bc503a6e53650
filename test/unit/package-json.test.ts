// The npm package: `npm pack` gives a tarball that, installed globally, is a working `dbtopo` (and
// `kubectl-dbtopo`, krew's plugin naming, so `kubectl dbtopo …` works when it is on PATH) that
// compiles a repository of one's own, with no file of the checkout needed.
// What this stands in for: `npm install -g <tarball>` resolves the dependencies through the
// registry's metadata, which a test may not reach (and npm's cache holds only tarballs). The test
// installs the same tarball's files with the npm-shrinkwrap.json it ships (npm ci --offline, from
// the cache npm ci filled), then `npm install -g` of that folder.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
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

  it('answers as a kubectl plugin (kubectl-dbtopo) with the same program', async () => {
    const { stdout } = await run(join(prefix, 'bin', 'kubectl-dbtopo'), ['validate', '--help'], { timeout: 60_000 });
    expect(stdout).toMatch(/Usage: dbtopo validate/);
  });
});
