// The plan's shared-render compile gives exactly compileModel's files, and renders an unchanged
// topology once for both sides.
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { compileRepo } from '../../compiler/compile.js';
import { readRenders } from '../../compiler/emit/state.js';
import { buildPlan } from '../../compiler/plan/plan.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRepo } from '../../compiler/load/index.js';
import { SharedRenderCache } from '../../compiler/plan/compile-sides.js';
import { compileSide, toPlanObject } from '../../compiler/plan/run.js';
import { diffObjects } from '../../compiler/plan/diff.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', 'environments');

describe('plan: shared-render compile of two sides', () => {
  it('matches compileModel file for file on the example repo, and reuses unchanged topologies', async () => {
    const sources = await readRepo(EXAMPLE);
    const reference = compileSide(sources);
    const cache = new SharedRenderCache();
    const base = cache.compile(sources);
    expect(base.files.map(toPlanObject)).toEqual(reference.objects);
    expect(base.diagnostics).toEqual(reference.diagnostics);
    const rendered = cache.misses;
    expect(rendered).toBeGreaterThan(0);

    // head: one topology edited; only its renders are computed again
    const edited = sources.map((s) =>
      s.path === 'topologies/sessions-cache.yaml' ? { ...s, text: s.text.replace('maxmemory-policy: volatile-lru', 'maxmemory-policy: allkeys-lru') } : s,
    );
    expect(edited).not.toEqual(sources);
    const head = cache.compile(edited);
    // sessions-cache is deployed to all three environments: three renders, nothing else
    expect(readFileSync(join(EXAMPLE, 'topologies/sessions-cache.yaml'), 'utf8')).not.toMatch(/^environments:/m);
    expect(cache.misses - rendered).toBe(3);
    expect(head.files.map(toPlanObject)).toEqual(compileSide(edited).objects);
    const changes = diffObjects(base.files.map(toPlanObject), head.files.map(toPlanObject));
    expect(new Set(changes.map((c) => c.topology))).toEqual(new Set(['sessions-cache']));
  });

  it('parses and validates a file unchanged between the sides once, with the diagnostics of a full validation', async () => {
    const sources = await readRepo(EXAMPLE);
    const cache = new SharedRenderCache();
    cache.compile(sources);
    const topologies = sources.filter((s) => s.path.startsWith('topologies/')).length;
    expect(cache.parsedFiles).toBe(topologies);
    const edited = sources.map((s) =>
      s.path === 'topologies/sessions-cache.yaml' ? { ...s, text: s.text.replace('maxmemory-policy: volatile-lru', 'maxmemory-policy: allkeys-lru') } : s,
    );
    const head = cache.compile(edited);
    expect(cache.parsedFiles).toBe(topologies + 1);
    expect(cache.reusedFiles).toBe(topologies - 1);
    expect(head.diagnostics).toEqual(compileSide(edited).diagnostics);

    // A duplicate name on one side involves a file unchanged between them: reported the same.
    const orders = sources.find((s) => s.path === 'topologies/orders-db.yaml');
    if (!orders) throw new Error('example has no orders-db');
    const duplicated = [...sources, { path: 'topologies/zz-orders-copy.yaml', text: orders.text }];
    const dup = cache.compile(duplicated);
    expect(dup.diagnostics.some((d) => d.code === 'DBT3070')).toBe(true);
    expect(dup.diagnostics).toEqual(compileSide(duplicated).diagnostics);
    expect(dup.files.map(toPlanObject)).toEqual(compileSide(duplicated).objects);
  });

  it('with the state of the last compile, renders only what differs between the sides and plans the same', async () => {
    const repo = await mkdtemp(join(tmpdir(), 'dbtopo-plan-state-'));
    try {
      for (const sub of ['envs', 'topologies']) await cp(join(EXAMPLE, sub), join(repo, sub), { recursive: true });
      await compileRepo({ repo, workers: 0 });
      const state = readRenders(join(repo, 'rendered'));
      expect(state).toBeDefined();
      const sources = await readRepo(repo);
      const edited = sources.map((s) =>
        s.path === 'topologies/sessions-cache.yaml' ? { ...s, text: s.text.replace('maxmemory-policy: volatile-lru', 'maxmemory-policy: allkeys-lru') } : s,
      );
      const inBase = new Set(sources.map((s) => `${s.path}\0${s.text}`));
      const both = new Set(edited.map((s) => `${s.path}\0${s.text}`).filter((k) => inBase.has(k)));
      const opts = { allowMigration: false, acknowledgements: { delete: [], migrate: [] }, memberOrder: new Map<string, string[]>() };
      const planOf = (cache: SharedRenderCache) => {
        const b = cache.compile(sources);
        const h = cache.compile(edited);
        return { b, h, plan: buildPlan(b.files.map(toPlanObject), h.files.map(toPlanObject), opts) };
      };
      const reference = planOf(new SharedRenderCache());
      const cache = new SharedRenderCache(state, both);
      const withState = planOf(cache);
      expect(cache.misses).toBe(6); // sessions-cache in three environments, on each side
      expect(cache.fromState).toBeGreaterThan(0);
      expect(cache.parsedFiles).toBe(2); // the edited file, once per side
      expect(withState.plan).toEqual(reference.plan);
      expect(withState.plan.changes.length).toBeGreaterThan(0);
      expect(withState.b.diagnostics).toEqual(reference.b.diagnostics);
      expect(withState.h.diagnostics).toEqual(reference.h.diagnostics);
      expect(withState.h.files.map((f) => f.path)).toEqual(reference.h.files.map((f) => f.path));
    } finally {
      await rm(repo, { recursive: true, force: true });
    }
  });
});
