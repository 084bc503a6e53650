import { describe, expect, it } from 'vitest';
import { electabilityChanges, type ElectabilityView } from '../../controller/engines/redis/electability.js';
import { ANNOTATIONS, type KubeObject } from '../../schemas/types/index.js';

const P = { host: '10.0.0.1', port: 6379 };
const pod = (name: string, note?: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...(note !== undefined ? { annotations: { [ANNOTATIONS.restoreReplicaPriority]: note } } : {}) },
});
const replica = (podName: string, following: { host: string; linkUp: boolean }): ElectabilityView => ({
  podName,
  port: 6379,
  probe: { reachable: true, role: 'secondary', following: { host: following.host, port: 6379, linkUp: following.linkUp } },
});

describe('electabilityChanges', () => {
  it('makes a replica without a live link to the primary unelectable, once', () => {
    const members = [
      { podName: 's-0', port: 6379, probe: { reachable: true, role: 'primary' as const } },
      replica('s-1', { host: P.host, linkUp: true }),
      replica('s-2', { host: P.host, linkUp: false }),
      replica('s-3', { host: '10.0.0.9', linkUp: true }), // linked, but to another (old) primary
    ];
    expect(electabilityChanges(members, P, [pod('s-0'), pod('s-1'), pod('s-2'), pod('s-3')])).toEqual({ unelect: ['s-2', 's-3'], restore: [] });
    // Already noted: not again.
    expect(electabilityChanges(members, P, [pod('s-0'), pod('s-1'), pod('s-2', '100'), pod('s-3', '100')])).toEqual({ unelect: [], restore: [] });
  });

  it('keeps every replica electable while none is linked (no write can be acknowledged then)', () => {
    const members: ElectabilityView[] = [
      { podName: 's-0', port: 6379, probe: { reachable: true, role: 'primary' } },
      replica('s-1', { host: P.host, linkUp: false }),
      replica('s-2', { host: P.host, linkUp: false }),
    ];
    expect(electabilityChanges(members, P, [pod('s-0'), pod('s-1', '100'), pod('s-2')])).toEqual({ unelect: [], restore: ['s-1'] });
  });

  it('changes nothing while no primary is reachable (Sentinel must stay free to promote)', () => {
    const members = [replica('s-1', { host: P.host, linkUp: false }), replica('s-2', { host: P.host, linkUp: false })];
    expect(electabilityChanges(members, undefined, [pod('s-1'), pod('s-2', '100')])).toEqual({ unelect: [], restore: [] });
  });

  it('restores a noted replica once it replicates from the primary, and a noted pod that became primary; never an unreachable one', () => {
    const members: ElectabilityView[] = [
      { podName: 's-0', port: 6379, probe: { reachable: true, role: 'primary' } },
      replica('s-1', { host: P.host, linkUp: true }),
      { podName: 's-2', port: 6379, probe: { reachable: false } },
    ];
    expect(electabilityChanges(members, P, [pod('s-0', '100'), pod('s-1', '50'), pod('s-2', '100')])).toEqual({ unelect: [], restore: ['s-0', 's-1'] });
  });
});
