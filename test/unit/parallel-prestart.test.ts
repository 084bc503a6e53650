// Render workers started ahead by `dbtopo compile` (compiler/parallel/prestart.ts): started only
// for the compiles that will render in workers, taken by the compile's pool, and stopped when the
// compile renders in the main thread, so they never cost a small compile a thread nor keep a
// process alive.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { compileRepo, PARALLEL_MIN_TOPOLOGIES } from '../../compiler/compile.js';
import { defaultWorkers, prestartForArgs, stopUntakenWorkers, workersStartedAhead } from '../../compiler/parallel/prestart.js';
import { exampleWithCopies, readTree } from './compile-fixtures.js';

const ROOT = join(import.meta.dirname, '..', '..');
const EXAMPLE = join(ROOT, 'environments');
const EXAMPLE_TOPOLOGIES = readdirSync(join(EXAMPLE, 'topologies')).length;

const temps: string[] = [];
afterEach(() => stopUntakenWorkers());
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

describe('render workers started ahead', () => {
  it('are started for a compile only, as many as it will ask for', () => {
    for (const args of [['plan'], ['validate'], ['compile', '--watch'], ['compile', '--workers', '0'], ['compile', '--workers=0'], ['compile', '--help'], ['compile', '--workers', 'x']]) {
      prestartForArgs(args);
      expect(workersStartedAhead(), args.join(' ')).toBe(0);
    }
    prestartForArgs(['compile', '--repo', '.']);
    expect(workersStartedAhead()).toBe(defaultWorkers());
    stopUntakenWorkers();
    expect(workersStartedAhead()).toBe(0);
    prestartForArgs(['compile', '--workers=2']);
    expect(workersStartedAhead()).toBe(2);
  });

  it('are taken by a compile in workers, which writes what the serial compile writes', async () => {
    // Enough renamed copies of the example's topologies that a compile renders in workers by default.
    const repo = await exampleWithCopies(Math.ceil(PARALLEL_MIN_TOPOLOGIES / EXAMPLE_TOPOLOGIES), temps);
    prestartForArgs(['compile', '--workers', '2']);
    const parallel = await compileRepo({ repo, out: join(repo, 'parallel'), workers: 2 });
    expect(workersStartedAhead()).toBe(0);
    await compileRepo({ repo, out: join(repo, 'serial'), workers: 0 });
    expect(parallel.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(await readTree(join(repo, 'parallel'))).toEqual(await readTree(join(repo, 'serial')));
  });

  it('are stopped by a compile that renders in this thread (a small repository)', async () => {
    prestartForArgs(['compile']);
    expect(workersStartedAhead()).toBeGreaterThan(0);
    const dir = await mkdtemp(join(tmpdir(), 'dbtopo-prestart-'));
    temps.push(dir);
    await compileRepo({ repo: EXAMPLE, out: join(dir, 'rendered') });
    expect(workersStartedAhead()).toBe(0);
  });

  it('never keep a `dbtopo compile` process alive', () => {
    // The CLI as users run it (scripts/dbtopo: the built CLI, built first when stale). A small
    // repository renders in the main thread and stops the workers started ahead. A --repo that
    // is no directory ends the command before any compile decides on them: only unreferenced
    // threads let that process end (it hung when they were referenced). A hang ends in the
    // timeout, with r.status null.
    const dir = join(tmpdir(), `dbtopo-prestart-cli-${process.pid}`);
    temps.push(dir);
    const cli = (...args: string[]) => spawnSync('bash', [join(ROOT, 'scripts', 'dbtopo'), 'compile', '--out', join(dir, 'rendered'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
    const small = cli('--format', 'json');
    expect(small.status, small.stderr).toBe(0);
    expect(JSON.parse(small.stdout)).toMatchObject({ ok: true });
    const missing = cli('--repo', join(dir, 'no-such-repo'));
    expect(missing.status, missing.stderr).toBe(2);
    expect(missing.stderr).toContain('is not a directory');
  }, 240_000);
});
