import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { objectKey } from '../../compiler/emit/paths.js';
import { diffObjects, diffValues } from '../../compiler/plan/diff.js';
import { namespaceObject, topology } from './plan-fixtures.js';

describe('plan diff', () => {
  it('finds no change between identical sides', () => {
    expect(diffObjects(topology({ name: 'a' }), topology({ name: 'a' }))).toEqual([]);
  });

  it('keys objects by env, member cluster, apiVersion, kind, namespace and name', () => {
    const [o] = topology({ name: 'a', env: 'dev', member: 'm1', namespace: 'ns1' });
    expect(objectKey(o!)).toBe('dev|m1|dbtopo.dev/v1alpha1|Cluster|ns1|a');
    // the same topology in another member cluster is another object
    const changes = diffObjects(topology({ name: 'a', member: 'm1' }), topology({ name: 'a', member: 'm2' }));
    expect(changes.filter((c) => c.type === 'removed').every((c) => c.memberCluster === 'm1')).toBe(true);
    expect(changes.filter((c) => c.type === 'added').every((c) => c.memberCluster === 'm2')).toBe(true);
    expect(changes).toHaveLength(2 * topology({ name: 'a' }).length);
  });

  it('reports added and removed objects and field-level changes with old → new', () => {
    const base = [...topology({ name: 'a', replicas: 3 }), namespaceObject('prod', 'member-a', 'old')];
    const head = [...topology({ name: 'a', replicas: 5 }), namespaceObject('prod', 'member-a', 'new')];
    const changes = diffObjects(base, head);
    expect(changes.map((c) => [c.kind, c.name, c.type])).toEqual([
      ['Cluster', 'a', 'changed'],
      ['InstanceSet', 'a-server', 'changed'],
      ['Namespace', 'new', 'added'],
      ['Namespace', 'old', 'removed'],
    ]);
    expect(changes[1]!.fields).toEqual([{ path: '/spec/replicas', segments: ['spec', 'replicas'], op: 'replace', old: 3, new: 5 }]);
  });

  it('compares lists of named items by name and escapes keys like JSON pointers', () => {
    const a = { spec: { containers: [{ name: 'redis', image: 'r:1' }, { name: 'exporter', image: 'e:1' }] }, metadata: { annotations: { 'dbtopo.dev/x': '1' } } };
    const b = { spec: { containers: [{ name: 'exporter', image: 'e:1' }, { name: 'redis', image: 'r:2' }, { name: 'sidecar', image: 's:1' }] }, metadata: { annotations: {} } };
    expect(diffValues(a, b).map((f) => [f.op, f.path])).toEqual([
      ['replace', '/spec/containers/name=redis/image'],
      ['add', '/spec/containers/name=sidecar'],
      ['remove', '/metadata/annotations/dbtopo.dev~1x'],
    ]);
  });

  it('replaces scalar lists as a whole', () => {
    expect(diffValues({ args: ['a', 'b'] }, { args: ['a'] })).toEqual([
      { path: '/args', segments: ['args'], op: 'replace', old: ['a', 'b'], new: ['a'] },
    ]);
  });

  it('is empty exactly when the values are equal, and never reports an unchanged path (property)', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(
      fc.property(json, json, (a, b) => {
        const d = diffValues(a, b);
        const equal = JSON.stringify(a) === JSON.stringify(b);
        if (equal) expect(d).toEqual([]);
        for (const f of d) expect(JSON.stringify(f.old)).not.toBe(JSON.stringify(f.new));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses two objects with one key (a compiler bug) instead of planning wrongly', () => {
    const [o] = topology({ name: 'a' });
    expect(() => diffObjects([o!, o!], [])).toThrow(/share the key/);
  });
});
