// Fragments (compiler/expand/fragment.ts) and the YAML the writer keeps for them
// (compiler/emit/yaml.ts): one frozen object per distinct input, and, wherever a fragment is
// written, at any depth, in a map or a list, the first time or any later time, exactly the
// text an equal object that is not a fragment gives.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toYaml, yamlFile } from '../../compiler/emit/yaml.js';
import { constant, fragment } from '../../compiler/expand/fragment.js';
import { stringToYaml } from './yaml-string-writer.js';

function labelsOf(name: string, component: string): Record<string, string> {
  return { 'app.kubernetes.io/instance': name, 'app.kubernetes.io/component': component };
}

function withResources(image: string, resources: { cpu: string; memory?: string }): Record<string, unknown> {
  return { image, resources: { requests: { ...resources } } };
}

describe('fragment', () => {
  it('gives one deep-frozen object per distinct arguments', () => {
    const a = fragment(labelsOf, 'db-1', 'server');
    expect(fragment(labelsOf, 'db-1', 'server')).toBe(a);
    expect(fragment(labelsOf, 'db-1', 'proxy')).not.toBe(a);
    expect(fragment(labelsOf, 'db-2', 'server')).toEqual({ 'app.kubernetes.io/instance': 'db-2', 'app.kubernetes.io/component': 'server' });
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      (a as Record<string, string>)['x'] = 'y';
    }).toThrow(TypeError);
  });

  it('looks object arguments up by their JSON, frozen ones (fragments) by identity', () => {
    const r = fragment(withResources, 'redis:7', { cpu: '1', memory: '1Gi' });
    expect(fragment(withResources, 'redis:7', { cpu: '1', memory: '1Gi' })).toBe(r);
    expect(fragment(withResources, 'redis:7', { cpu: '2', memory: '1Gi' })).not.toBe(r);
    expect(Object.isFrozen((r['resources'] as { requests: object }).requests)).toBe(true);
    // An argument edited between two calls is looked up by what it holds now.
    const res: { cpu: string; memory?: string } = { cpu: '1' };
    const first = fragment(withResources, 'redis:7', res);
    res.cpu = '3';
    expect(fragment(withResources, 'redis:7', res)).not.toBe(first);
    expect(fragment(withResources, 'redis:7', res)).toEqual({ image: 'redis:7', resources: { requests: { cpu: '3' } } });
    const labels = fragment(labelsOf, 'db-1', 'server');
    const merged = (l: Record<string, string>, role: string): Record<string, string> => ({ ...l, role });
    expect(fragment(merged, labels, 'primary')).toBe(fragment(merged, labels, 'primary'));
    expect(fragment(merged, labels, 'primary')).toEqual({ ...labels, role: 'primary' });
  });

  it('throws, with DBTOPO_CHECK_FRAGMENTS=1 (the unit project), when a builder is not a function of its arguments', () => {
    expect(process.env.DBTOPO_CHECK_FRAGMENTS).toBe('1');
    let calls = 0;
    const impure = (name: string): Record<string, unknown> => ({ name, calls: ++calls });
    fragment(impure, 'x');
    expect(() => fragment(impure, 'x')).toThrow(/fragment impure\(\["x"\]\) built .*"calls":2.*kept .*"calls":1/);
  });
});

describe('the YAML of fragments', () => {
  const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('yes', '7.2.4', 'a\nb\n', 'x: y'));
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, tie('arr'), tie('obj')),
    arr: fc.array(tie('value'), { maxLength: 3 }),
    obj: fc.dictionary(fc.constantFrom('name', 'spec', 'a', 'b', 'labels', 'yes'), tie('value'), { maxKeys: 4 }),
  })).value;

  it('is the text of an equal object that is no fragment, at every level, first and later', () => {
    fc.assert(
      fc.property(fc.array(json, { minLength: 1, maxLength: 3 }), (parts) => {
        // Each part twice as a fragment and once as a plain copy, in a map, in a list and nested deeper.
        const frozen = parts.map((p) => (p !== null && typeof p === 'object' ? constant(structuredClone(p)) : p));
        const doc = (xs: unknown[]): unknown => ({ top: xs[0], list: xs, deeper: { in: { a: xs, b: [[xs[0]]] } } });
        const plain = doc(parts);
        const shared = doc(frozen);
        for (let round = 0; round < 3; round++) {
          expect(toYaml(shared)).toBe(stringToYaml(plain));
          expect(Buffer.from(yamlFile([shared, frozen, shared])).toString('utf8')).toBe([plain, parts, plain].map(stringToYaml).join('---\n'));
        }
      }),
      { numRuns: 1500, seed: 5 },
    );
  });

  it('keeps nothing for a fragment that writes nothing (only undefined values)', () => {
    const empty = constant({ a: undefined, b: undefined } as Record<string, unknown>);
    const doc = { x: [empty, 1], y: { z: empty }, w: 2 };
    const plain = { x: [{ a: undefined, b: undefined }, 1], y: { z: { a: undefined } }, w: 2 };
    expect(toYaml(doc)).toBe(stringToYaml(plain));
    expect(toYaml(doc)).toBe(stringToYaml(plain));
  });
});
