// The example repository compiles to the committed environments/rendered/ byte for byte, compiles
// are deterministic, a failed compile leaves the previous output untouched, and two topologies
// rendering one object are reported at both files.

import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { compileModel, compileRepo } from '../../compiler/compile.js';
import { joinDocuments } from '../../compiler/emit/documents.js';
import type { Located } from '../../compiler/load/index.js';
import type { ValidRepo } from '../../compiler/validate/index.js';
import type { Environment, Topology } from '../../schemas/types/index.js';
import { readTree } from '../unit/compile-fixtures.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');

const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

async function tempCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dbtopo-golden-'));
  temps.push(dir);
  for (const sub of ['envs', 'topologies', 'rendered']) await cp(join(EXAMPLE, sub), join(dir, sub), { recursive: true });
  return dir;
}

describe('golden: environments/', () => {
  it('compiles without errors to the committed rendered/ tree, byte for byte', async () => {
    const result = await compileRepo({ repo: EXAMPLE, write: false });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const committed = await readTree(join(EXAMPLE, 'rendered'));
    // A topology's objects in one member cluster are one file (compiler/emit/paths.ts).
    const compiled = new Map(joinDocuments(result.files).map((f) => [f.path, f.text]));
    expect([...compiled.keys()].sort()).toEqual([...committed.keys()].sort());
    for (const [path, text] of compiled) expect(text, path).toBe(committed.get(path));
  });

  it('renders every environment and member cluster, with CRDs or Namespaces in _cluster/', async () => {
    const result = await compileRepo({ repo: EXAMPLE, write: false });
    const envs = new Set(result.files.map((f) => f.path.split('/')[0]));
    expect(envs).toEqual(new Set(['dev', 'staging', 'prod']));
    for (const f of result.files) {
      expect(f.text.endsWith('\n')).toBe(true);
      // The text is the object: what Argo CD reads is what the compiler meant.
      expect(parse(f.text)).toEqual(JSON.parse(JSON.stringify(f.object)));
      if (f.path.split('/')[2] === '_cluster') expect(f.source).toBeUndefined();
      else expect(f.object.metadata.annotations?.['dbtopo.dev/source']).toBe(f.source);
    }
  });

  it('writes a file per topology and member cluster whose documents are its objects there, in order', async () => {
    const result = await compileRepo({ repo: EXAMPLE, write: false });
    const committed = await readTree(join(EXAMPLE, 'rendered'));
    const byPath = new Map<string, unknown[]>();
    for (const f of result.files) byPath.set(f.path, [...(byPath.get(f.path) ?? []), JSON.parse(JSON.stringify(f.object))]);
    let topologyFiles = 0;
    for (const [path, objects] of byPath) {
      const parts = path.split('/');
      const shared = parts[1] === '_argocd' || parts[2] === '_cluster';
      // <env>/<member>/<namespace>/<topology>.yaml, or one shared object per file.
      if (shared) expect(objects, path).toHaveLength(1);
      else {
        expect(parts, path).toHaveLength(4);
        topologyFiles++;
        const sources = new Set(result.files.filter((f) => f.path === path).map((f) => f.source));
        expect(sources.size, path).toBe(1);
        expect(parts[3], path).toBe(`${(objects[0] as { metadata: { name: string } }).metadata.name}.yaml`); // the Cluster first
      }
      expect(parseAllDocuments(committed.get(path) ?? '').map((d) => d.toJS()), path).toEqual(objects);
    }
    expect(topologyFiles).toBeGreaterThan(10);
  });

  it('two compiles are byte-identical', async () => {
    const a = await compileRepo({ repo: EXAMPLE, write: false });
    const b = await compileRepo({ repo: EXAMPLE, write: false });
    expect(b.files.map((f) => [f.path, f.text])).toEqual(a.files.map((f) => [f.path, f.text]));
  });

  it('writing into a copy reproduces the committed tree exactly (no extra or stale files)', async () => {
    const dir = await tempCopy();
    await writeFile(join(dir, 'rendered', 'stale.yaml'), 'kind: Stale\n');
    const result = await compileRepo({ repo: dir });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(await readTree(join(dir, 'rendered'))).toEqual(await readTree(join(EXAMPLE, 'rendered')));
    expect((await readdir(dir)).sort()).toEqual(['.dbtopo-cache', 'envs', 'rendered', 'topologies']);
  });

  it('a failed compile leaves the previous output byte for byte intact', async () => {
    const dir = await tempCopy();
    const before = await readTree(join(dir, 'rendered'));
    await writeFile(
      join(dir, 'topologies', 'broken.yaml'),
      'name: broken-db\nengine: redis\nmode: sentinel-cluster\nversion: "7.2.4"\nreplicas: 0\n',
    );
    // Change a valid topology too: had anything been written, this would show.
    const orders = join(dir, 'topologies', 'orders-db.yaml');
    await writeFile(orders, (await readFile(orders, 'utf8')).replace(/^replicas: (\d+)/m, 'replicas: 5'));
    const result = await compileRepo({ repo: dir });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((d) => d.file === 'topologies/broken.yaml')).toBe(true);
    expect(errors.every((d) => d.line > 0 && d.col > 0)).toBe(true);
    expect(await readTree(join(dir, 'rendered'))).toEqual(before);
    expect((await readdir(dir)).sort()).toEqual(['envs', 'rendered', 'topologies']);
  });

  it('--env re-renders only that environment and keeps the others', async () => {
    const dir = await tempCopy();
    const marker = join(dir, 'rendered', 'prod', 'marker.txt');
    await writeFile(marker, 'kept\n');
    await writeFile(join(dir, 'rendered', 'dev', 'stale.yaml'), 'kind: Stale\n');
    const result = await compileRepo({ repo: dir, env: 'dev' });
    expect(result.files.every((f) => f.path.startsWith('dev/'))).toBe(true);
    const after = await readTree(join(dir, 'rendered'));
    expect(after.get('prod/marker.txt')).toBe('kept\n');
    expect(after.has('dev/stale.yaml')).toBe(false);
    const committed = await readTree(join(EXAMPLE, 'rendered'));
    for (const [path, text] of committed) if (path.startsWith('dev/')) expect(after.get(path), path).toBe(text);
  });
});

describe('duplicate objects', () => {
  const env: Environment = {
    name: 'dev',
    namespace: 'db-{team}',
    memberClusters: [{ name: 'm1', destination: { name: 'm1' }, zones: ['a'] }],
  };
  const topo = (file: string, line: number): Located<Topology> => ({
    value: { name: 'cache', team: 'web', engine: 'redis', mode: 'standalone', version: '7.0.15', replicas: 1 },
    file,
    locate: () => ({ line, col: 1 }),
  });
  const repo: ValidRepo = {
    environments: [{ value: env, file: 'envs/dev.yaml', locate: () => ({ line: 1, col: 1 }) }],
    topologies: [topo('topologies/a.yaml', 1), topo('topologies/b.yaml', 1)],
    diagnostics: [],
  };

  it('are reported at both topology files with DBT5001', () => {
    const { diagnostics } = compileModel(repo, {});
    const dup = diagnostics.filter((d) => d.code === 'DBT5001');
    expect(dup.length).toBeGreaterThan(0);
    expect(new Set(dup.map((d) => d.file))).toEqual(new Set(['topologies/a.yaml', 'topologies/b.yaml']));
    expect(dup.every((d) => d.severity === 'error' && d.message.includes('member cluster m1'))).toBe(true);
  });

  it('are not reported for the same topology in two environments', () => {
    const prod: Environment = { ...env, name: 'prod' };
    const { diagnostics } = compileModel(
      { ...repo, topologies: [topo('topologies/a.yaml', 1)], environments: [...repo.environments, { value: prod, file: 'envs/prod.yaml', locate: () => ({ line: 1, col: 1 }) }] },
      {},
    );
    expect(diagnostics).toEqual([]);
  });
});
