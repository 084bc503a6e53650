import { describe, expect, it } from 'vitest';
import { semiSyncFixes } from '../../controller/engines/mysql/semisync.js';

const m = (podName: string, role: 'primary' | 'secondary', on: boolean, reachable = true) => ({ podName, probe: { reachable, role, semiSyncPrimarySide: on } });

describe('semiSyncFixes', () => {
  it('switches the master side on on a primary that came back without it, and off on secondaries that have it', () => {
    expect(semiSyncFixes([m('d-0', 'primary', false), m('d-1', 'secondary', true), m('d-2', 'secondary', false)], 'd-0', true)).toEqual({ enableOn: 'd-0', disableOn: ['d-1'] });
  });
  it('leaves a correct set, an async set and unreachable servers alone', () => {
    expect(semiSyncFixes([m('d-0', 'primary', true), m('d-1', 'secondary', false)], 'd-0', true)).toEqual({ disableOn: [] });
    expect(semiSyncFixes([m('d-0', 'primary', false), m('d-1', 'secondary', true)], 'd-0', false)).toEqual({ disableOn: [] });
    expect(semiSyncFixes([m('d-0', 'primary', false, false), m('d-1', 'secondary', true, false)], 'd-0', true)).toEqual({ disableOn: [] });
  });
  it('does not enable it on a claimant that is not the accepted primary', () => {
    expect(semiSyncFixes([m('d-0', 'primary', false), m('d-1', 'primary', false)], 'd-1', true)).toEqual({ enableOn: 'd-1', disableOn: [] });
    expect(semiSyncFixes([m('d-0', 'primary', false)], undefined, true)).toEqual({ disableOn: [] });
  });
});
