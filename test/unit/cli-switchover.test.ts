import { describe, expect, it } from 'vitest';
import { switchoverOutcome, validateRequest } from '../../compiler/cli/switchover.js';
import { buildProgram } from '../../compiler/cli/main.js';
import type { InstanceSet } from '../../schemas/types/index.js';

function is(primary: string | undefined, annotation?: string, replicas = 3): InstanceSet {
  return {
    apiVersion: 'dbtopo.dev/v1alpha1',
    kind: 'InstanceSet',
    metadata: { name: 'db-0', namespace: 'ns', ...(annotation ? { annotations: { 'dbtopo.dev/switchover': annotation } } : {}) },
    spec: {
      replicas,
      selector: {},
      template: { spec: { containers: [{ name: 'mysql', image: 'mariadb:10.11' }] } },
      roles: [{ name: 'primary', updatePriority: 2, participatesInQuorum: true, isExclusive: true }],
      podManagementPolicy: 'Parallel',
      memberUpdateStrategy: 'Serial',
      serviceName: 'db-0',
      engine: { type: 'mysql', version: '10.11', port: 3306 },
    },
    status: primary ? { primary } : {},
  };
}

describe('dbtopo switchover', () => {
  it('is done when the primary moved (to the wanted pod)', () => {
    expect(switchoverOutcome(is('db-0-1'), 'db-0-0', undefined)).toEqual({ state: 'done', primary: 'db-0-1' });
    expect(switchoverOutcome(is('db-0-2'), 'db-0-0', 'db-0-2')).toEqual({ state: 'done', primary: 'db-0-2' });
    expect(switchoverOutcome(is('db-0-1'), 'db-0-0', 'db-0-2').state).toBe('refused');
    expect(switchoverOutcome(is('db-0-0', 'any'), 'db-0-0', undefined)).toEqual({ state: 'pending', why: 'primary is still db-0-0' });
  });

  it('reports a refusal the controller wrote as a condition', () => {
    const x = is('db-0-0');
    x.status!.conditions = [{ type: 'SwitchoverFailed', status: 'True', reason: 'NoCandidate', message: 'no healthy replica', lastTransitionTime: '' }];
    expect(switchoverOutcome(x, 'db-0-0', undefined)).toEqual({ state: 'refused', why: 'no healthy replica' });
  });

  it("reads the controller's switchover record: this request's, not an older one", () => {
    const older = { from: 'db-0-0', phase: 'Failed' as const, reason: 'requested by annotation', startedAt: '2026-12-01T10:00:00.000Z', message: 'old failure' };
    const x = is('db-0-0');
    x.status!.switchover = older;
    // the record was there before the request: not this request's outcome
    expect(switchoverOutcome(x, 'db-0-0', undefined, older.startedAt)).toEqual({ state: 'pending', why: 'the request was withdrawn' });
    x.status!.switchover = { from: 'db-0-0', phase: 'Requested', reason: 'requested by annotation', startedAt: '2026-12-01T10:05:00.000Z' };
    expect(switchoverOutcome(x, 'db-0-0', undefined, older.startedAt)).toEqual({ state: 'pending', why: 'requested at 2026-12-01T10:05:00.000Z; the role loop carries it out' });
    x.status!.switchover = { from: 'db-0-0', phase: 'Running', reason: 'requested by annotation', startedAt: '2026-12-01T10:05:00.000Z' };
    expect(switchoverOutcome(x, 'db-0-0', undefined, older.startedAt)).toEqual({ state: 'pending', why: 'switching over from db-0-0 since 2026-12-01T10:05:00.000Z' });
    x.status!.switchover = { ...x.status!.switchover, phase: 'Failed', message: 'NOGOODSLAVE No suitable replica to promote' };
    expect(switchoverOutcome(x, 'db-0-0', undefined, older.startedAt)).toEqual({ state: 'refused', why: 'NOGOODSLAVE No suitable replica to promote' });
  });

  it('refuses requests that cannot work before writing anything', () => {
    expect(validateRequest(is('db-0-0'), 'other-1')).toMatch(/not a pod of db-0/);
    expect(validateRequest(is('db-0-0', undefined, 1), undefined)).toMatch(/needs a secondary/);
    const proxy = is(undefined);
    delete proxy.spec.roles;
    expect(validateRequest(proxy, undefined)).toMatch(/has no roles/);
    expect(validateRequest(is('db-0-0'), 'db-0-2')).toBeUndefined();
  });

  it('is registered in the CLI', () => {
    const cmd = buildProgram().commands.find((c) => c.name() === 'switchover');
    expect(cmd?.options.map((o) => o.long)).toEqual(['--to', '--namespace', '--kubeconfig', '--timeout']);
  });
});
