import { describe, expect, it } from 'vitest';
import type { InstanceSet } from '../../schemas/types/index.js';
import { canonicalJson, effectiveTemplate, podRevision, updateRevision } from '../../controller/update/revision.js';

function set(image = 'redis:7.0'): InstanceSet {
  return {
    apiVersion: 'dbtopo.dev/v1alpha1',
    kind: 'InstanceSet',
    metadata: { name: 'cache-0', namespace: 'ns' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { a: 'b' } },
      template: {
        metadata: { labels: { app: 'x' } },
        spec: { containers: [{ name: 'redis', image, env: [{ name: 'A', value: '1' }] }] },
      },
      instances: [{ name: 'big', replicas: 1, resources: { limits: { memory: '2Gi' } }, env: [{ name: 'A', value: '2' }, { name: 'B', value: '3' }], zone: 'z1' }],
      podManagementPolicy: 'OrderedReady',
      memberUpdateStrategy: 'Serial',
      serviceName: 'cache-0-headless',
      engine: { type: 'redis', version: '7.0', port: 6379 },
    },
  };
}

describe('pod revisions', () => {
  it('ignores key order and is stable', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 1, x: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":2,"y":1}]},"b":1}');
    expect(podRevision(set())).toBe(podRevision(set()));
    expect(podRevision(set())).toMatch(/^[0-9a-f]{10}$/);
  });

  it('changes with the image and differs per instance template', () => {
    expect(podRevision(set('redis:7.2'))).not.toBe(podRevision(set()));
    expect(podRevision(set(), 'big')).not.toBe(podRevision(set()));
    expect(updateRevision(set('redis:7.2'))).not.toBe(updateRevision(set()));
  });

  it('applies instance overrides to the engine container without touching the InstanceSet', () => {
    const s = set();
    const t = effectiveTemplate(s, 'big');
    expect(t.spec.containers[0]).toMatchObject({
      resources: { limits: { memory: '2Gi' } },
      env: [{ name: 'A', value: '2' }, { name: 'B', value: '3' }],
    });
    expect(t.spec.nodeSelector).toEqual({ 'topology.kubernetes.io/zone': 'z1' });
    expect(s.spec.template.spec.containers[0]!.env).toEqual([{ name: 'A', value: '1' }]);
    expect(() => effectiveTemplate(s, 'nope')).toThrow(/no instance template "nope"; use one of: big/);
  });
});
