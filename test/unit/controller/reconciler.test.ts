// reconcileInstanceSet for a set that is gone: nothing of it stays in the controller's memory.
// The context is the smallest one that reaches that branch; the rest of the chain runs against a
// real API server in test/e2e/controller-instanceset.test.ts.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { reconcileInstanceSet } from '../../../controller/reconcile/instanceset/reconciler.js';
import { newControllerMemory, type ControllerContext } from '../../../controller/runtime/context.js';

describe('reconcileInstanceSet', () => {
  it('forgets a deleted InstanceSet: switchover record, waiting reason and failover history go', async () => {
    const memory = newControllerMemory();
    const key = 'ns/orders-db-server';
    memory.switchovers.set(key, { from: 'a', phase: 'Running', reason: 'test', startedAt: '2026-12-02T00:00:00Z' });
    memory.updateWaiting.set(key, 'waiting');
    memory.probeHistory.set(key, { history: new Map() });
    memory.updateWaiting.set('ns/other', 'kept');
    const ctx = { memory, caches: { instanceSets: { get: () => undefined } }, log: pino({ level: 'silent' }) } as unknown as ControllerContext;
    expect(await reconcileInstanceSet(ctx, key)).toEqual({});
    expect([memory.switchovers.has(key), memory.updateWaiting.has(key), memory.probeHistory.has(key)]).toEqual([false, false, false]);
    expect(memory.updateWaiting.get('ns/other')).toBe('kept');
  });
});
