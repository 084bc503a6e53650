// `dbtopo compile` over an output an earlier compile wrote (compiler/reuse.ts, emit/state.ts):
// it renders only the topology files that changed, writes only the files whose text changed
// (every other file keeps its inode and mtime), and the tree, the result and the diagnostics are
// exactly those of a full compile. Anything else touching the tree makes the next compile full.

import { readdirSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileRepo } from '../../compiler/compile.js';
import { statePath } from '../../compiler/emit/state.js';
import { readTree } from './compile-fixtures.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');
/** The example's topology files: a compile that changes one reuses the others. */
const TOPOLOGIES = readdirSync(join(EXAMPLE, 'topologies')).filter((f) => f.endsWith('.yaml')).length;
const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

async function repoCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbtopo-reuse-'));
  temps.push(dir);
  for (const sub of ['envs', 'topologies']) await cp(join(EXAMPLE, sub), join(dir, sub), { recursive: true });
  return dir;
}

/** inode and mtime of every file: what a rewrite changes. */
async function identities(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const s = await stat(join(e.parentPath, e.name), { bigint: true });
    out.set(relative(root, join(e.parentPath, e.name)), `${s.ino}:${s.mtimeNs}`);
  }
  return out;
}

/** The full compile of the same sources, into a separate output. */
async function fullCompile(repo: string): Promise<{ tree: Map<string, string>; result: Awaited<ReturnType<typeof compileRepo>> }> {
  const out = join(repo, 'full-out');
  const result = await compileRepo({ repo, out, workers: 0, reuse: false });
  const tree = await readTree(out);
  await rm(out, { recursive: true, force: true });
  await rm(statePath(out), { force: true });
  return { tree, result };
}

async function edit(repo: string, file: string, from: RegExp, to: string): Promise<void> {
  const path = join(repo, 'topologies', file);
  const text = await readFile(path, 'utf8');
  expect(text).toMatch(from);
  await writeFile(path, text.replace(from, to));
}

describe('compile over an existing output', () => {
  it('renders only the changed topology and writes only the files whose text changed', async () => {
    const repo = await repoCopy();
    const first = await compileRepo({ repo, workers: 0 });
    expect(first.reuse).toBeUndefined(); // no state yet: a full compile, which records one
    expect((await readFile(join(repo, '.dbtopo-cache', '.gitignore'), 'utf8')).trim().split('\n').at(-1)).toBe('*');
    const before = await readTree(join(repo, 'rendered'));
    const ids = await identities(join(repo, 'rendered'));

    await edit(repo, 'orders-db.yaml', /^replicas: 3$/m, 'replicas: 2');
    const second = await compileRepo({ repo, workers: 0 });
    expect(second.reuse).toMatchObject({ rendered: 1, reused: TOPOLOGIES - 1, deleted: 0 });
    const after = await readTree(join(repo, 'rendered'));
    const changed = [...after].filter(([p, t]) => before.get(p) !== t).map(([p]) => p);
    expect(changed.length).toBeGreaterThan(0);
    expect(second.reuse?.written).toBe(changed.length);
    expect(changed.every((p) => p.endsWith('/orders-db.yaml') || p.includes('/_argocd/') || p.includes('/_cluster/'))).toBe(true);
    // Every other file is the very file the first compile wrote.
    const idsAfter = await identities(join(repo, 'rendered'));
    for (const [p, id] of ids) if (!changed.includes(p)) expect(idsAfter.get(p), p).toBe(id);
    for (const p of changed) expect(idsAfter.get(p)).not.toBe(ids.get(p));

    const full = await fullCompile(repo);
    expect(after).toEqual(full.tree);
    expect(second.diagnostics).toEqual(full.result.diagnostics);
    expect(second.reuse?.objects).toBe(full.result.files.length);
    expect(second.files.map((f) => [f.path, f.source, f.text])).toEqual(full.result.files.map((f) => [f.path, f.source, f.text]));
    // No temporary files left beside the targets.
    expect([...after.keys()].filter((p) => p.includes('.dbtopo-new'))).toEqual([]);
  });

  it('no change: nothing is written', async () => {
    const repo = await repoCopy();
    await compileRepo({ repo, workers: 0 });
    const ids = await identities(join(repo, 'rendered'));
    const again = await compileRepo({ repo, workers: 0 });
    expect(again.reuse).toMatchObject({ rendered: 0, written: 0, deleted: 0 });
    expect(await identities(join(repo, 'rendered'))).toEqual(ids);
  });

  it('a removed and an added topology: their files go and come, empty directories go, as a full compile has it', async () => {
    const repo = await repoCopy();
    await compileRepo({ repo, workers: 0 });
    await unlink(join(repo, 'topologies', 'feed-shards.yaml'));
    const text = await readFile(join(EXAMPLE, 'topologies', 'orders-db.yaml'), 'utf8');
    await writeFile(join(repo, 'topologies', 'orders-db-2.yaml'), text.replace(/^name: orders-db$/m, 'name: orders-db-2'));
    const r = await compileRepo({ repo, workers: 0 });
    expect(r.reuse?.rendered).toBe(1);
    expect(r.reuse?.deleted).toBeGreaterThan(0);
    const full = await fullCompile(repo);
    expect(await readTree(join(repo, 'rendered'))).toEqual(full.tree);
    // Its files, the namespace directories they were alone in, and those Namespaces' files.
    const left = (await readdir(join(repo, 'rendered'), { recursive: true })).filter((p) => p.includes('feed'));
    expect(left).toEqual([]);
    expect(r.diagnostics).toEqual(full.result.diagnostics);
  });

  it('an error in the changed file: nothing is written, the diagnostics are the full compile’s', async () => {
    const repo = await repoCopy();
    await compileRepo({ repo, workers: 0 });
    const before = await readTree(join(repo, 'rendered'));
    // A duplicate topology name (DBT3070) involves an unchanged file too.
    const text = await readFile(join(repo, 'topologies', 'orders-db.yaml'), 'utf8');
    await writeFile(join(repo, 'topologies', 'zz-orders-copy.yaml'), text);
    const r = await compileRepo({ repo, workers: 0 });
    expect(r.diagnostics.some((d) => d.code === 'DBT3070' && d.severity === 'error')).toBe(true);
    expect(r.diagnostics).toEqual((await compileRepo({ repo, write: false })).diagnostics);
    expect(await readTree(join(repo, 'rendered'))).toEqual(before);
    // Fixed again: the state of the first compile still holds.
    await unlink(join(repo, 'topologies', 'zz-orders-copy.yaml'));
    expect((await compileRepo({ repo, workers: 0 })).reuse).toMatchObject({ rendered: 0, written: 0 });
  });

  it('an output changed behind its back, --env, or --full: the next compile rewrites the whole tree', async () => {
    const repo = await repoCopy();
    const rendered = join(repo, 'rendered');
    await compileRepo({ repo, workers: 0 });
    // A file added where the compile did not put it (its directory's mtime changes).
    await writeFile(join(rendered, 'dev', 'stray.yaml'), 'kind: Stray\n');
    const r1 = await compileRepo({ repo, workers: 0 });
    expect(r1.reuse).toBeUndefined();
    expect((await readTree(rendered)).has('dev/stray.yaml')).toBe(false);

    // --env swaps one environment's tree: the state is dropped.
    await compileRepo({ repo, env: 'dev', workers: 0 });
    expect((await compileRepo({ repo, workers: 0 })).reuse).toBeUndefined();

    expect((await compileRepo({ repo, workers: 0 })).reuse).toBeDefined();
    expect((await compileRepo({ repo, workers: 0, reuse: false })).reuse).toBeUndefined();

    // Environment files changed: everything renders again.
    const dev = join(repo, 'envs', 'dev.yaml');
    await writeFile(dev, `${await readFile(dev, 'utf8')}\n# a comment\n`);
    expect((await compileRepo({ repo, workers: 0 })).reuse).toBeUndefined();
    expect(await readTree(rendered)).toEqual((await fullCompile(repo)).tree);
  });

  it('the parallel compile records the state the reuse path reads', async () => {
    const repo = await repoCopy();
    await compileRepo({ repo, workers: 2 });
    await edit(repo, 'orders-db.yaml', /^replicas: 3$/m, 'replicas: 2');
    const r = await compileRepo({ repo, workers: 2 });
    expect(r.reuse).toMatchObject({ rendered: 1, reused: TOPOLOGIES - 1 });
    expect(await readTree(join(repo, 'rendered'))).toEqual((await fullCompile(repo)).tree);
  });
});
