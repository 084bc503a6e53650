// The CLI's contract: exit codes 0/1/2, located diagnostics in text and JSON, help that
// teaches, nothing written on errors.

import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../compiler/cli/main.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');
const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

let stdout = '';
let stderr = '';
beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

async function copy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbtopo-cli-'));
  temps.push(dir);
  for (const sub of ['envs', 'topologies']) await cp(join(EXAMPLE, sub), join(dir, sub), { recursive: true });
  return dir;
}

describe('dbtopo CLI', () => {
  it('validate: exit 0 and a JSON report on the example', async () => {
    expect(await main(['validate', '--repo', EXAMPLE, '--format', 'json'])).toBe(0);
    const report = JSON.parse(stdout) as { command: string; ok: boolean; diagnostics: unknown[] };
    expect(report).toMatchObject({ command: 'validate', ok: true });
    expect(report.diagnostics.filter((d) => (d as { severity: string }).severity === 'error')).toEqual([]);
  });

  it('compile: exit 1 with file:line:col diagnostics and hints, nothing written', async () => {
    const dir = await copy();
    await writeFile(join(dir, 'topologies', 'bad.yaml'), 'name: bad-db\nengine: redis\nmode: standalone\nversion: "7.2.4"\nreplicas: 1\nshards: 4\n');
    expect(await main(['compile', '--repo', dir])).toBe(1);
    expect(stdout).toMatch(/^topologies\/bad\.yaml:\d+:\d+ error DBT\d{4} /m);
    expect(stdout).toMatch(/^ {2}hint: /m);
    expect(stderr).toMatch(/nothing written/);
    expect(await readdir(dir)).not.toContain('rendered');
  });

  it('compile: exit 0, progress on stderr, output written', async () => {
    const dir = await copy();
    expect(await main(['compile', '--repo', dir])).toBe(0);
    expect(stderr).toMatch(/wrote \d+ objects to .* in \d+ ms/);
    expect(await readdir(join(dir, 'rendered'))).toEqual(expect.arrayContaining(['dev', 'prod', 'staging']));
  });

  it('usage errors exit 2: unknown option, unknown environment, bad --format, --repo not a directory', async () => {
    expect(await main(['compile', '--bogus'])).toBe(2);
    expect(await main(['compile', '--repo', EXAMPLE, '--env', 'nope'])).toBe(2);
    expect(stderr).toMatch(/unknown environment "nope".*dev, prod, staging/);
    expect(await main(['validate', '--repo', EXAMPLE, '--format', 'xml'])).toBe(2);
    stderr = '';
    expect(await main(['compile', '--repo', '/nonexistent/gitops'])).toBe(2);
    expect(stderr).toMatch(/^dbtopo: repository \/nonexistent\/gitops is not a directory; pass --repo <dir> holding envs\/ and topologies\//);
    expect(stderr).not.toMatch(/internal error/);
  });

  it('help teaches: examples, exit codes, where output goes', async () => {
    expect(await main(['help', 'compile'])).toBe(0);
    expect(stdout).toMatch(/Examples:/);
    expect(stdout).toMatch(/Exit codes:/);
    expect(stdout).toMatch(/<out>\/<env>\/<member-cluster>\/<namespace>\/<topology>\.yaml/);
  });

  it.each(['compile', 'validate', 'plan', 'status', 'switchover'])('`dbtopo help %s` has examples and exit codes', async (command) => {
    expect(await main(['help', command])).toBe(0);
    expect(stdout).toMatch(new RegExp(`Examples:\\n  (kubectl )?dbtopo ${command}`));
    expect(stdout).toMatch(/Exit codes:\n  0  /);
  });
});
