// The parallel compile (compiler/parallel: render workers) writes exactly what the serial one
// writes, returns the same files and diagnostics, and a failed parallel compile — whose workers
// may already have written into the staging directory — leaves the previous output untouched.

import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileModel, compileRepo } from '../../compiler/compile.js';
import { joinDocuments } from '../../compiler/emit/documents.js';
import type { Located } from '../../compiler/load/index.js';
import { memorySink, perJob, runPipeline } from '../../compiler/pipeline/pipeline.js';
import { headsRender, renderTopology } from '../../compiler/pipeline/render-topology.js';
import { headsOf, ObjectOwners } from '../../compiler/pipeline/rendered-file.js';
import type { ValidRepo } from '../../compiler/validate/index.js';
import type { Environment, Topology } from '../../schemas/types/index.js';
import { exampleWithCopies, readTree } from './compile-fixtures.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');

const temps: string[] = [];
afterAll(async () => {
  for (const t of temps) await rm(t, { recursive: true, force: true });
});

describe('parallel compile', () => {
  it('writes the serial compile byte for byte and returns the same files and diagnostics', async () => {
    const repo = await exampleWithCopies(10, temps);
    const serial = await compileRepo({ repo, out: join(repo, 'serial'), workers: 0 });
    const parallel = await compileRepo({ repo, out: join(repo, 'parallel'), workers: 2 });
    // Counted before any file is made (what `dbtopo compile` prints), then the files themselves.
    expect(parallel.objects).toBe(serial.objects);
    expect(serial.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(serial.files.length).toBeGreaterThan(500);
    expect(parallel.files.length).toBe(serial.objects);
    const written = await readTree(join(repo, 'parallel'));
    expect(written).toEqual(await readTree(join(repo, 'serial')));
    expect(parallel.diagnostics).toEqual(serial.diagnostics);
    expect(parallel.files.map((f) => [f.path, f.source])).toEqual(serial.files.map((f) => [f.path, f.source]));
    // Files rendered by a worker are rendered again on first read: same text, same object.
    expect(new Map(joinDocuments(parallel.files).map((f) => [f.path, f.text]))).toEqual(written);
    for (const [i, f] of parallel.files.entries()) {
      if (i % 7 !== 0) continue;
      expect(f.text, f.path).toBe(serial.files[i]?.text);
      expect(f.object).toEqual(serial.files[i]?.object);
    }
    expect((await readdir(repo)).sort()).toEqual(['.dbtopo-cache', 'envs', 'parallel', 'rendered', 'serial', 'topologies']);
  });

  it('reproduces the committed example tree over a stale output', async () => {
    const repo = await exampleWithCopies(0, temps);
    await writeFile(join(repo, 'rendered', 'stale.yaml'), 'kind: Stale\n');
    const result = await compileRepo({ repo, workers: 2 });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(await readTree(join(repo, 'rendered'))).toEqual(await readTree(join(EXAMPLE, 'rendered')));
    expect((await readdir(repo)).sort()).toEqual(['.dbtopo-cache', 'envs', 'rendered', 'topologies']);
  });

  it('--env replaces only that environment', async () => {
    const repo = await exampleWithCopies(3, temps);
    await compileRepo({ repo, workers: 0 });
    const before = await readTree(join(repo, 'rendered'));
    await writeFile(join(repo, 'rendered', 'prod', 'marker.txt'), 'kept\n');
    await writeFile(join(repo, 'rendered', 'dev', 'stale.yaml'), 'kind: Stale\n');
    const result = await compileRepo({ repo, env: 'dev', workers: 2 });
    expect(result.files.length).toBeGreaterThan(0);
    expect(result.files.every((f) => f.path.startsWith('dev/'))).toBe(true);
    const after = await readTree(join(repo, 'rendered'));
    expect(after.get('prod/marker.txt')).toBe('kept\n');
    expect(after.has('dev/stale.yaml')).toBe(false);
    after.delete('prod/marker.txt');
    expect(after).toEqual(before);
  });

  it('a failed compile leaves the previous output byte for byte intact and no staging directory', async () => {
    const repo = await exampleWithCopies(10, temps);
    await compileRepo({ repo, workers: 0 });
    const before = await readTree(join(repo, 'rendered'));
    // Valid topologies (sorted first) are handed to the workers before the broken one is parsed.
    await writeFile(join(repo, 'topologies', 'zz-broken.yaml'), 'name: zz-broken\nengine: redis\nmode: sentinel-cluster\nversion: "7.2.4"\nreplicas: 0\n');
    const orders = join(repo, 'topologies', 'orders-db.yaml');
    await writeFile(orders, (await readFile(orders, 'utf8')).replace(/^replicas: (\d+)/m, 'replicas: 5'));
    const serial = await compileRepo({ repo, write: false });
    const result = await compileRepo({ repo, workers: 2 });
    expect(result.diagnostics.some((d) => d.severity === 'error' && d.file === 'topologies/zz-broken.yaml')).toBe(true);
    expect(result.diagnostics).toEqual(serial.diagnostics);
    expect(await readTree(join(repo, 'rendered'))).toEqual(before);
    expect((await readdir(repo)).sort()).toEqual(['.dbtopo-cache', 'envs', 'rendered', 'topologies']);
  });

  it('finds an object two topologies render from the heads the workers send, as the serial compile words it', () => {
    const env: Environment = { name: 'dev', namespace: 'db-{team}', memberClusters: [{ name: 'm1', destination: { name: 'm1' }, zones: ['a'] }] };
    const topo = (file: string, name: string): Located<Topology> => ({
      value: { name, team: 'web', engine: 'redis', mode: 'standalone', version: '7.0.15', replicas: 1 },
      file,
      locate: () => ({ line: 1, col: 1 }),
    });
    const environments = [{ value: env, file: 'envs/dev.yaml', locate: () => ({ line: 1, col: 1 }) }];
    for (const topologies of [
      [topo('topologies/a.yaml', 'cache'), topo('topologies/b.yaml', 'cache')],
      [topo('topologies/a.yaml', 'cache'), topo('topologies/b.yaml', 'other')],
    ]) {
      // As a worker's reply arrives (parallel/pool-renderer.ts): the heads only, files made on
      // first read, the objects' owners indexed on arrival.
      const owners = new ObjectOwners();
      const fromHeads = perJob((e: Environment, t: Located<Topology>) => {
        const r = renderTopology(e, t);
        const outline = headsRender(e, t, { heads: headsOf(r.files), namespaces: r.namespaces, diagnostics: r.diagnostics });
        owners.add(headsOf(r.files), t.file);
        outline.owners = owners;
        return outline;
      });
      const repo: ValidRepo = { environments, topologies, diagnostics: [] };
      const serial = compileModel(repo, {}).diagnostics;
      expect(runPipeline({ repo }, { renderer: fromHeads, sink: memorySink }).result.diagnostics).toEqual(serial);
      expect(serial.some((d) => d.code === 'DBT5001')).toBe(topologies[1]?.value.name === 'cache');
      expect(owners.clash).toBe(topologies[1]?.value.name === 'cache');
    }
  });

  it('an unknown --env is a usage error, nothing written', async () => {
    const repo = await exampleWithCopies(0, temps);
    const before = await readTree(join(repo, 'rendered'));
    await expect(compileRepo({ repo, env: 'nope', workers: 2 })).rejects.toThrow(/unknown environment "nope"/);
    expect(await readTree(join(repo, 'rendered'))).toEqual(before);
    expect((await readdir(repo)).sort()).toEqual(['envs', 'rendered', 'topologies']);
  });
});
