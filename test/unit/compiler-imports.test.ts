// The modules of compiler/ import each other without a cycle: a cycle makes module load order
// decide which bindings are still undefined, and it is how the compile orchestrations used to
// grow into each other. Static and type-only imports count alike (a cycle through types is the
// same design problem); only relative specifiers are followed.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const COMPILER = join(ROOT, 'compiler');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;

/** Each file's relative imports inside `files`, as paths relative to the repository root. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps: string[] = [];
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? '').replace(/\.js$/, '.ts');
      const target = resolve(dirname(file), spec);
      if (known.has(target)) deps.push(relative(ROOT, target));
    }
    graph.set(relative(ROOT, file), deps);
  }
  return graph;
}

/** The first cycle found (its modules, the first repeated at the end), or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('compiler/ imports', () => {
  it('finds a cycle where there is one, and none where there is none', () => {
    const cyclic = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycle(cyclic)).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([...cyclic, ['c', []]]))).toBeUndefined();
  });

  it('reads the import graph of the sources', () => {
    const graph = importGraph(sourceFiles(COMPILER));
    expect(graph.get('compiler/cli/main.ts')?.length).toBeGreaterThan(0);
  });

  it('has no import cycle', () => {
    expect(findCycle(importGraph(sourceFiles(COMPILER)))).toBeUndefined();
  });
});
