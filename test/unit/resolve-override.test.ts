import { describe, expect, it } from 'vitest';
import { applyOverride, overrideSource } from '../../compiler/resolve/override.js';
import type { Topology } from '../../schemas/types/topology.js';

const base: Topology = {
  name: 'orders-db',
  engine: 'mysql',
  mode: 'primary-replica',
  version: '10.11',
  replicas: 3,
  resources: { cpu: '1', memory: '2Gi' },
  storage: { size: '20Gi', class: 'gp3' },
  proxy: { kind: 'haproxy', replicas: 2, resources: { cpu: '250m' } },
  placement: { antiAffinity: 'preferred', nodeSelector: { pool: 'db' } },
  parameters: { max_connections: 500, innodb_buffer_pool_size: '1G' },
  instances: [{ name: 'reporting', replicas: 1, resources: { memory: '4Gi' } }],
  overrides: {
    prod: {
      replicas: 5,
      resources: { memory: '16Gi' },
      storage: { size: '200Gi' },
      proxy: { replicas: 3 },
      placement: { zoneSpread: true, antiAffinity: 'required' },
      parameters: { innodb_buffer_pool_size: '12G' },
      instances: [{ name: 'reporting', replicas: 1, zone: 'eu-west-1c' }],
    },
  },
};

describe('applyOverride', () => {
  it('replaces scalars, merges blocks field by field, replaces the instances list', () => {
    const prod = applyOverride(base, 'prod');
    expect(prod.replicas).toBe(5);
    expect(prod.resources).toEqual({ cpu: '1', memory: '16Gi' });
    expect(prod.storage).toEqual({ size: '200Gi', class: 'gp3' });
    expect(prod.proxy).toEqual({ kind: 'haproxy', replicas: 3, resources: { cpu: '250m' } });
    expect(prod.placement).toEqual({ antiAffinity: 'required', zoneSpread: true, nodeSelector: { pool: 'db' } });
    expect(prod.parameters).toEqual({ max_connections: 500, innodb_buffer_pool_size: '12G' });
    expect(prod.instances).toEqual([{ name: 'reporting', replicas: 1, zone: 'eu-west-1c' }]);
    expect(prod).not.toHaveProperty('overrides');
  });

  it('an environment without override sees the base, without the overrides block', () => {
    const { overrides: _o, ...rest } = base;
    expect(applyOverride(base, 'dev')).toEqual(rest);
    // "constructor" is a valid environment name; it must not find Object.prototype.constructor
    expect(applyOverride(base, 'constructor')).toEqual(rest);
  });

  it('is pure: neither the input nor the result share mutable state', () => {
    const before = structuredClone(base);
    const prod = applyOverride(base, 'prod');
    prod.resources!.cpu = '99';
    prod.instances![0]!.replicas = 7;
    applyOverride(base, 'dev').placement!.nodeSelector!.pool = 'x';
    expect(base).toEqual(before);
  });
});

describe('overrideSource', () => {
  it('points at the override when it sets the value, else at the base field', () => {
    expect(overrideSource(base, 'prod', ['replicas'])).toEqual(['overrides', 'prod', 'replicas']);
    expect(overrideSource(base, 'prod', ['resources', 'memory'])).toEqual(['overrides', 'prod', 'resources', 'memory']);
    expect(overrideSource(base, 'prod', ['resources', 'cpu'])).toEqual(['resources', 'cpu']);
    expect(overrideSource(base, 'prod', ['version'])).toEqual(['version']);
    expect(overrideSource(base, 'dev', ['replicas'])).toEqual(['replicas']);
  });

  it('instances come wholly from the override once it replaces the list', () => {
    expect(overrideSource(base, 'prod', ['instances', 0, 'resources', 'memory'])).toEqual(['overrides', 'prod', 'instances', 0, 'resources', 'memory']);
  });
});
