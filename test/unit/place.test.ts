// Placement: weighted rendezvous hashing is deterministic, follows the weights, and moves only
// what it must when member clusters change; shards split over member clusters keep global,
// contiguous ordinals.

import { describe, expect, it } from 'vitest';
import { splitShard, toRanges } from '../../compiler/place/ordinals.js';
import { rendezvousPick, unitHash } from '../../compiler/place/rendezvous.js';

const names = Array.from({ length: 3000 }, (_, i) => `topology-${i}`);

describe('rendezvousPick', () => {
  const three = [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 2 },
    { name: 'c', weight: 1 },
  ];

  it('is deterministic and independent of candidate order', () => {
    for (const n of names.slice(0, 200)) {
      expect(rendezvousPick(n, three)).toBe(rendezvousPick(n, [...three].reverse()));
    }
  });

  it('spreads topologies in proportion to the weights', () => {
    const counts = new Map<string, number>();
    for (const n of names) {
      const pick = rendezvousPick(n, three) ?? '';
      counts.set(pick, (counts.get(pick) ?? 0) + 1);
    }
    // Expected 750 / 1500 / 750; allow sampling noise.
    expect(counts.get('b')).toBeGreaterThan(1350);
    expect(counts.get('b')).toBeLessThan(1650);
    expect(counts.get('a')).toBeGreaterThan(630);
    expect(counts.get('c')).toBeGreaterThan(630);
  });

  it('moves only topologies that now score highest on a new member cluster', () => {
    const four = [...three, { name: 'd', weight: 1 }];
    let moved = 0;
    for (const n of names) {
      const before = rendezvousPick(n, three);
      const after = rendezvousPick(n, four);
      if (before !== after) {
        expect(after).toBe('d');
        moved++;
      }
    }
    // About weight share 1/5 of them.
    expect(moved / names.length).toBeGreaterThan(0.15);
    expect(moved / names.length).toBeLessThan(0.25);
  });

  it('never picks a zero-weight member cluster unless all are zero', () => {
    const list = [
      { name: 'a', weight: 0 },
      { name: 'b', weight: 1 },
    ];
    for (const n of names.slice(0, 300)) expect(rendezvousPick(n, list)).toBe('b');
    expect(rendezvousPick('x', [{ name: 'only', weight: 0 }])).toBe('only');
    expect(rendezvousPick('x', [])).toBeUndefined();
  });

  it('hashes into (0,1)', () => {
    for (const n of names.slice(0, 500)) {
      const u = unitHash(n);
      expect(u).toBeGreaterThan(0);
      expect(u).toBeLessThan(1);
    }
  });
});

describe('splitShard', () => {
  const members = [
    { name: 'west', zones: ['w1', 'w2'] },
    { name: 'east', zones: ['e1'] },
  ];

  it('gives every ordinal exactly once, default template first, in contiguous shares', () => {
    const { perMember } = splitShard(5, [], members);
    expect(perMember.map((l) => l.map((s) => s.ordinal))).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });

  it('sends zoned instances to the member cluster owning the zone', () => {
    const { perMember, unknownZones } = splitShard(4, [{ name: 'big', replicas: 1, zone: 'e1' }, { name: 'x', replicas: 1 }], members);
    const east = perMember[1] ?? [];
    expect(east.find((s) => s.template === 'big')?.ordinal).toBe(2);
    const all = perMember.flat().map((s) => s.ordinal).sort();
    expect(all).toEqual([0, 1, 2, 3]);
    expect(unknownZones).toEqual([]);
  });

  it('reports zones no member cluster has', () => {
    expect(splitShard(2, [{ name: 'far', replicas: 1, zone: 'mars' }], members).unknownZones).toEqual(['far']);
  });

  it('compresses ordinals to ranges', () => {
    expect(toRanges([5, 0, 1, 2, 7, 6])).toEqual([
      { start: 0, end: 2 },
      { start: 5, end: 7 },
    ]);
    expect(toRanges([])).toEqual([]);
  });
});
