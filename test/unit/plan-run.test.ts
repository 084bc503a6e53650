// `dbtopo plan` diffs only what may differ: the renders the two sides do not share and the shared
// files (compiler/plan/run.ts planOfSides). Its plan must be exactly the plan over every object
// of both sides, with and without the state of the last compile standing in for renders.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRepo } from '../../compiler/compile.js';
import { readRenders } from '../../compiler/emit/state.js';
import { readRepo, type SourceFile } from '../../compiler/load/index.js';
import { instanceSetIndex } from '../../compiler/plan/classify.js';
import { instanceSetsOf, SharedRenderCache } from '../../compiler/plan/compile-sides.js';
import { buildPlan } from '../../compiler/plan/plan.js';
import { compileSide, planOfSides } from '../../compiler/plan/run.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');
const opts = { allowMigration: false, acknowledgements: { delete: [], migrate: [] }, memberOrder: new Map<string, string[]>() };

/** Head: one parameter changed, one topology removed, one added under a new name, one resized. */
function edit(sources: readonly SourceFile[]): SourceFile[] {
  const out = sources
    .filter((s) => s.path !== 'topologies/billing-db.yaml')
    .map((s) => {
      if (s.path === 'topologies/sessions-cache.yaml') return { ...s, text: s.text.replace('maxmemory-policy: volatile-lru', 'maxmemory-policy: allkeys-lru') };
      if (s.path === 'topologies/orders-db.yaml') return { ...s, text: s.text.replace(/^replicas: 3$/m, 'replicas: 4') };
      return s;
    });
  const catalog = sources.find((s) => s.path === 'topologies/catalog-cache.yaml');
  if (!catalog) throw new Error('example lacks catalog-cache');
  out.push({ path: 'topologies/catalog-cache-2.yaml', text: catalog.text.replace(/^name: catalog-cache$/m, 'name: catalog-cache-2') });
  return out;
}

describe('plan between two sides', () => {
  it('diffing only the renders the sides do not share gives the plan over every object', async () => {
    const repo = await mkdtemp(join(tmpdir(), 'dbtopo-plan-run-'));
    try {
      for (const sub of ['envs', 'topologies']) await cp(join(EXAMPLE, sub), join(repo, sub), { recursive: true });
      await compileRepo({ repo, workers: 0 });
      const sources = await readRepo(repo);
      const head = edit(sources);
      expect(head.length).toBe(sources.length); // one removed, one added

      const reference = buildPlan(compileSide(sources).objects, compileSide(head).objects, opts);
      expect(reference.changes.some((c) => c.type === 'added')).toBe(true);
      expect(reference.changes.some((c) => c.type === 'removed')).toBe(true);
      expect(reference.changes.some((c) => c.type === 'changed')).toBe(true);
      expect(reference.forbidden.length).toBeGreaterThan(0); // billing-db's removal is not acknowledged

      const inBase = new Set(sources.map((s) => `${s.path}\0${s.text}`));
      const both = new Set(head.map((s) => `${s.path}\0${s.text}`).filter((k) => inBase.has(k)));
      for (const cache of [new SharedRenderCache(), new SharedRenderCache(readRenders(join(repo, 'rendered')), both)]) {
        const [b, h] = [cache.compile(sources), cache.compile(head)];
        expect(planOfSides(b, h, opts)).toEqual(reference);
        // The InstanceSet index, which tells a move between member clusters from an addition,
        // comes from the renders' heads: the same as from every object.
        expect(instanceSetsOf(b)).toEqual(instanceSetIndex(compileSide(sources).objects));
        expect(instanceSetsOf(h)).toEqual(instanceSetIndex(compileSide(head).objects));
      }
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});
