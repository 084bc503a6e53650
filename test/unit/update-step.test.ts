import { describe, expect, it } from 'vitest';
import { planPods } from '../../controller/reconcile/instanceset/update.js';
import type { DesiredPod } from '../../controller/reconcile/instanceset/desired.js';
import type { KubeObject } from '../../schemas/types/index.js';

const pod = (name: string, labels: Record<string, string>, ready: boolean, deleting = false): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});
const desired = (name: string, revision: string): DesiredPod => ({ name, ordinal: Number(name.split('-').at(-1)), revision, pod: pod(name, {}, false), pvcs: [] });

describe('update step: observed pods → plan input', () => {
  it('reads revision and role labels, readiness, termination, and each pod’s own target revision', () => {
    const got = planPods(
      [desired('db-0', 'a'), desired('db-1', 'b')],
      [
        pod('db-0', { 'dbtopo.dev/revision': 'a', 'dbtopo.dev/role': 'primary' }, true),
        pod('db-1', { 'dbtopo.dev/revision': 'x' }, false, true),
        pod('db-7', { 'dbtopo.dev/revision': 'x' }, true),
      ],
    );
    expect(got).toEqual([
      { name: 'db-0', revision: 'a', updateRevision: 'a', ready: true, role: 'primary', terminating: false },
      { name: 'db-1', revision: 'x', updateRevision: 'b', ready: false, terminating: true },
    ]);
  });
});
