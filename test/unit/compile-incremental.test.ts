// The incremental compiler renders only changed topology files and leaves exactly the tree a
// full compile would write.

import { readdirSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileRepo } from '../../compiler/compile.js';
import { IncrementalCompiler } from '../../compiler/incremental.js';
import { readTree } from './compile-fixtures.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');
/** The example's topology files: a compile that changes one reuses the others. */
const TOPOLOGIES = readdirSync(join(EXAMPLE, 'topologies')).filter((f) => f.endsWith('.yaml')).length;
const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

async function fullCompileTree(repo: string): Promise<Map<string, string>> {
  const out = await mkdtemp(join(tmpdir(), 'dbtopo-full-'));
  temps.push(out);
  await compileRepo({ repo, out: join(out, 'rendered') });
  return readTree(join(out, 'rendered'));
}

describe('IncrementalCompiler', () => {
  it('re-renders only what changed and matches a full compile', async () => {
    const repo = await mkdtemp(join(tmpdir(), 'dbtopo-incr-'));
    temps.push(repo);
    for (const sub of ['envs', 'topologies']) await cp(join(EXAMPLE, sub), join(repo, sub), { recursive: true });
    const inc = new IncrementalCompiler(repo);

    const first = await inc.compile();
    expect(first.rendered).toBe(TOPOLOGIES);
    expect(first.reused).toBe(0);
    expect(await readTree(join(repo, 'rendered'))).toEqual(await fullCompileTree(repo));

    const same = await inc.compile();
    expect([same.rendered, same.reused, same.written, same.deleted]).toEqual([0, TOPOLOGIES, 0, 0]);

    const orders = join(repo, 'topologies', 'orders-db.yaml');
    await writeFile(orders, (await readFile(orders, 'utf8')).replace(/^version: .*$/m, 'version: "10.11.9"'));
    const one = await inc.compile();
    expect(one.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect([one.rendered, one.reused]).toEqual([1, TOPOLOGIES - 1]);
    expect(one.written).toBeGreaterThan(0);
    expect(one.files.filter((f) => f.source === 'topologies/orders-db.yaml').length).toBeGreaterThanOrEqual(one.written);
    expect(await readTree(join(repo, 'rendered'))).toEqual(await fullCompileTree(repo));

    // A compile with errors writes nothing; the next good one still brings the output up to date.
    await writeFile(orders, (await readFile(orders, 'utf8')).replace(/^version: .*$/m, 'version: "10.11.10"'));
    await writeFile(join(repo, 'topologies', 'bad.yaml'), 'name: [\n');
    const failed = await inc.compile();
    expect(failed.diagnostics.some((d) => d.severity === 'error' && d.file === 'topologies/bad.yaml')).toBe(true);
    expect(failed.written).toBe(0);
    await unlink(join(repo, 'topologies', 'bad.yaml'));
    const fixed = await inc.compile();
    expect(fixed.written).toBeGreaterThan(0);
    expect(await readTree(join(repo, 'rendered'))).toEqual(await fullCompileTree(repo));

    await unlink(join(repo, 'topologies', 'billing-db.yaml'));
    const removed = await inc.compile();
    expect(removed.deleted).toBeGreaterThan(0);
    expect(await readTree(join(repo, 'rendered'))).toEqual(await fullCompileTree(repo));

    const dev = join(repo, 'envs', 'dev.yaml');
    await writeFile(dev, `${await readFile(dev, 'utf8')}\n# touched\n`);
    const envChanged = await inc.compile();
    expect(envChanged.reused).toBe(0);
  });

  it('checks across files see the unchanged ones: a copy of a cached topology is a duplicate name, as in a full compile', async () => {
    const repo = await mkdtemp(join(tmpdir(), 'dbtopo-incr-'));
    temps.push(repo);
    for (const sub of ['envs', 'topologies']) await cp(join(EXAMPLE, sub), join(repo, sub), { recursive: true });
    const inc = new IncrementalCompiler(repo);
    expect((await inc.compile()).diagnostics.filter((d) => d.severity === 'error')).toEqual([]);

    // Only the copy changed; the file it duplicates comes from the cache. The copy sorts first
    // ('-' < '.'), so it owns the name and the cached file gets the error.
    await cp(join(repo, 'topologies', 'orders-db.yaml'), join(repo, 'topologies', 'orders-db-copy.yaml'));
    const dup = await inc.compile();
    expect(dup.rendered).toBe(1);
    const errors = dup.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.code, d.file])).toContainEqual(['DBT3070', 'topologies/orders-db.yaml']);
    expect(dup.written).toBe(0);
    const full = await compileRepo({ repo, write: false });
    expect(dup.diagnostics).toEqual(full.diagnostics);
  });
});
