import { describe, expect, it } from 'vitest';
import { canAcquire } from '../../../controller/runtime/leader.js';

describe('canAcquire (Lease)', () => {
  const now = Date.parse('2026-02-01T00:00:10Z');
  it('takes a missing, empty or released lease', () => {
    expect(canAcquire(undefined, 'a', now)).toBe(true);
    expect(canAcquire({}, 'a', now)).toBe(true);
    expect(canAcquire({ holderIdentity: '' , renewTime: '2026-02-01T00:00:09.000000Z', leaseDurationSeconds: 15 }, 'a', now)).toBe(true);
  });
  it('renews its own lease', () => {
    expect(canAcquire({ holderIdentity: 'a', renewTime: '2026-02-01T00:00:09.000000Z', leaseDurationSeconds: 15 }, 'a', now)).toBe(true);
  });
  it('waits while another holder renews within the lease duration, takes over once it expired', () => {
    const held = { holderIdentity: 'b', renewTime: '2026-02-01T00:00:00.000000Z', leaseDurationSeconds: 15 };
    expect(canAcquire(held, 'a', now)).toBe(false);
    expect(canAcquire(held, 'a', now + 5_001)).toBe(true);
    expect(canAcquire({ ...held, leaseDurationSeconds: 5 }, 'a', now + 1)).toBe(true);
  });
});
