// The plan's shared-render compile gives exactly compileModel's files, and renders an unchanged
// topology once for both sides.
import { readFileSync } from 'node:fs';
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
});
