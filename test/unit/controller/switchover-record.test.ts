import { describe, expect, it } from 'vitest';
import { deferRecord, finishRecord, isOpen, lastPrimaryOf, newerRecord, requestRecord, runRecord, sameRequest, settleOrphan, startRecord } from '../../../controller/reconcile/instanceset/switchover-record.js';

const T0 = Date.parse('2026-12-02T07:00:00.000Z');

describe('switchover record', () => {
  it('keeps the newer record: later start first, then finished over running', () => {
    const a = startRecord('db-0', 'db-1', 'requested by annotation', T0);
    const b = startRecord('db-1', undefined, 'before updating db-1', T0 + 5_000);
    expect(newerRecord(a, b)).toBe(b);
    expect(newerRecord(b, a)).toBe(b);
    const done = finishRecord(a, 'Succeeded', 'moved', T0 + 900);
    // the cache still shows Running, memory has Succeeded: Succeeded wins, in either order
    expect(newerRecord(a, done)).toBe(done);
    expect(newerRecord(done, a)).toBe(done);
    expect(newerRecord(undefined, a)).toBe(a);
    expect(newerRecord(a, undefined)).toBe(a);
  });

  it('a request goes Requested → Running → Succeeded under one request time; each step is newer', () => {
    const req = requestRecord('db-0', undefined, 'before updating db-0', T0);
    expect(req).toEqual({ from: 'db-0', phase: 'Requested', reason: 'before updating db-0', startedAt: '2026-12-02T07:00:00.000Z' });
    const running = runRecord(req);
    expect(running).toEqual({ ...req, phase: 'Running' });
    const done = finishRecord(running, 'Succeeded', 'moved', T0 + 900);
    expect(newerRecord(req, running)).toBe(running);
    expect(newerRecord(running, req)).toBe(running);
    expect(newerRecord(done, req)).toBe(done);
    // Tried, not done (NOGOODSLAVE): filed again, later than the Running record a lagging cache shows.
    const deferred = deferRecord(running, 'NOGOODSLAVE', T0);
    expect(deferred).toMatchObject({ phase: 'Requested', message: 'NOGOODSLAVE', startedAt: '2026-12-02T07:00:00.001Z' });
    expect(newerRecord(running, deferred)).toBe(deferred);
    expect(runRecord(deferred)).not.toHaveProperty('message');
    expect([req, deferred, running, done].map(isOpen)).toEqual([true, true, true, false]);
    expect(isOpen(undefined)).toBe(false);
    expect(sameRequest(req, done)).toBe(true);
    expect(sameRequest(req, requestRecord('db-0', undefined, 'before updating db-0', T0 + 1))).toBe(false);
  });

  it('records from, to, reason and both times', () => {
    const rec = finishRecord(startRecord('db-0', undefined, 'before removing db-0 (scale in / offline)', T0), 'Failed', 'NOGOODSLAVE', T0 + 2_000);
    expect(rec).toEqual({ from: 'db-0', phase: 'Failed', reason: 'before removing db-0 (scale in / offline)', startedAt: '2026-12-02T07:00:00.000Z', finishedAt: '2026-12-02T07:00:02.000Z', message: 'NOGOODSLAVE' });
  });

  it('settles a Running record of a controller that is gone, from the labels', () => {
    const rec = startRecord('db-0', 'db-2', 'requested by annotation', T0);
    expect(settleOrphan(rec, true, 'db-0', T0 + 1)).toBeUndefined(); // ours and still running
    expect(settleOrphan(finishRecord(rec, 'Succeeded', 'x', T0), false, 'db-2', T0)).toBeUndefined(); // finished
    expect(settleOrphan(rec, false, 'db-2', T0 + 1)?.phase).toBe('Succeeded');
    expect(settleOrphan(rec, false, 'db-0', T0 + 1)).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/interrupted.*on db-0/) });
    expect(settleOrphan(rec, false, 'db-1', T0 + 1)?.phase).toBe('Failed'); // moved, but not where asked
    expect(settleOrphan(rec, false, undefined, T0 + 1)).toMatchObject({ phase: 'Failed', message: expect.stringMatching(/unknown/) });
  });

  it('lastPrimary: the primary before the current one, across a gap with no primary', () => {
    expect(lastPrimaryOf(undefined, 'db-0')).toBeUndefined();
    expect(lastPrimaryOf({ primary: 'db-0' }, 'db-0')).toBeUndefined();
    expect(lastPrimaryOf({ primary: 'db-0' }, 'db-1')).toBe('db-0');
    // A → none → B: the gap keeps A, and B keeps it too
    const gap = lastPrimaryOf({ primary: 'db-0' }, undefined);
    expect(gap).toBe('db-0');
    expect(lastPrimaryOf({ lastPrimary: gap! }, 'db-1')).toBe('db-0');
  });
});
