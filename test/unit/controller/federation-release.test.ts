// decideRelease (controller/federation/release.ts): when a leaving pod of a spread shard — an
// ordinal moved to another member cluster, or scaled in — may go. Its member cluster keeps it
// until then (controller/reconcile/instanceset/plan.ts), whichever member cluster Argo CD synced
// first; the primary is handed over first, and only to a synced replica.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FedMember } from '../../../controller/federation/decide.js';
import { decideRelease, notSynced, type ReleaseInput } from '../../../controller/federation/release.js';
import type { ProbeResult } from '../../../controller/engines/types.js';
import { federationChoice } from '../../../controller/roles/kube-shard.js';
import { instanceSet } from './fixtures.js';

const ip = (cluster: string, i: number): string => `10.244.${cluster === 'west' ? 1 : 2}.${10 + i}`;
/** Pod s-<i> in `cluster`; a leaving one is keyed s-<i>@<cluster>, as gather.ts keys it. */
const pod = (i: number, cluster: string, probe: ProbeResult | undefined, leaving = false): FedMember => {
  const key = leaving ? `s-${i}@${cluster}` : `s-${i}`;
  return { memberCluster: cluster, podName: key, ...(leaving ? { pod: `s-${i}`, leaving: true } : {}), ordinal: i, target: { podName: key, host: ip(cluster, i), port: 6379 }, ...(probe !== undefined ? { probe } : {}) };
};
const primaryAt = (offset: number, replicas: Array<[string, number]>, lag = 0): ProbeResult => ({
  reachable: true,
  role: 'primary',
  offset,
  replicas: replicas.length,
  replicaLinks: replicas.map(([c, i]) => ({ host: ip(c, i), port: 6379, lagSeconds: lag })),
});
const replicaOf = (cluster: string, i: number, offset: number, linkUp = true, error?: string): ProbeResult => ({
  reachable: true,
  role: 'secondary',
  offset,
  following: { host: ip(cluster, i), port: 6379, linkUp },
  ...(error !== undefined ? { error } : {}),
});
const fresh: ProbeResult = { reachable: true, role: 'primary', replicas: 0, offset: 0 };

// feed-shards shard 0: ordinals 0–1 in west, 2 in central. Ordinal 1 moves to central.
const moved = new Map([[0, 'west'], [1, 'central'], [2, 'central']]);
const input = (members: FedMember[], recorded: string | undefined, extra: Partial<ReleaseInput> = {}): ReleaseInput => ({
  members,
  ...(recorded !== undefined ? { recorded } : {}),
  placement: moved,
  mark: { primary: recorded ?? '', offset: 500 },
  healthy: true,
  ...extra,
});

describe('decideRelease: a secondary ordinal moves from west to central', () => {
  const links: Array<[string, number]> = [['west', 1], ['central', 1], ['central', 2]];
  const leaving = pod(1, 'west', replicaOf('west', 0, 520), true);
  const others = (newPod: FedMember | undefined): FedMember[] => [pod(0, 'west', primaryAt(530, links)), leaving, ...(newPod !== undefined ? [newPod] : []), pod(2, 'central', replicaOf('west', 0, 520))];

  it('holds the old pod while its new pod does not exist, is a fresh engine, syncs, or lags the primary', () => {
    for (const [newPod, why] of [
      [undefined, /moves to central, where its new pod does not exist yet/],
      [pod(1, 'central', fresh), /s-1 is not a replica yet/],
      [pod(1, 'central', { reachable: false, error: 'connect ECONNREFUSED' }), /s-1 does not answer/],
      [pod(1, 'central', replicaOf('west', 0, 0, false)), /its replication link is not up yet \(syncing\)/],
      [pod(1, 'central', replicaOf('west', 0, 0, false, 'Error reading packet')), /cannot replicate/],
      [pod(1, 'central', replicaOf('west', 0, 499)), /at position 499, the primary was at 500/],
      [pod(1, 'central', replicaOf('central', 2, 900)), /does not replicate from the primary s-0 yet/],
    ] as const) {
      const d = decideRelease(input(others(newPod), 's-0'));
      expect(d.released, String(why)).toEqual([]);
      expect(d.held).toEqual([{ memberCluster: 'west', ordinal: 1, pod: 's-1', reason: expect.stringMatching(why) }]);
      expect(d.switchover).toBeUndefined();
    }
  });

  it('releases it once the new pod replicates from the primary, link up, at or past the primary\'s earlier position, and heard from', () => {
    const d = decideRelease(input(others(pod(1, 'central', replicaOf('west', 0, 500))), 's-0'));
    expect(d).toEqual({ released: [{ memberCluster: 'west', ordinal: 1, pod: 's-1' }], held: [] });
    // the primary has not heard from it for a while: not synced
    const stale = [pod(0, 'west', primaryAt(530, links, 9)), leaving, pod(1, 'central', replicaOf('west', 0, 530)), pod(2, 'central', replicaOf('west', 0, 520))];
    expect(decideRelease(input(stale, 's-0')).held[0]?.reason).toMatch(/the primary has not heard from it within 3 s/);
    // no earlier look at the primary's position (first round, or the primary just changed): wait one round
    expect(decideRelease(input(others(pod(1, 'central', replicaOf('west', 0, 900))), 's-0', { mark: { primary: 's-2', offset: 1 } })).held[0]?.reason).toMatch(/a second look at the primary's position/);
    // the release does not wait for the shard to be Healthy (nothing moves but the leaving replica)
    expect(decideRelease(input(others(pod(1, 'central', replicaOf('west', 0, 500))), 's-0', { healthy: false })).released).toHaveLength(1);
  });

  it('holds everything while the primary does not answer as primary, or the Federation still places the ordinal where the pod is', () => {
    const synced = pod(1, 'central', replicaOf('west', 0, 900));
    const lost = [pod(0, 'west', { reachable: false, error: 'timeout' }), leaving, synced];
    expect(decideRelease(input(lost, 's-0')).held[0]?.reason).toMatch(/the primary s-0 does not answer as primary/);
    expect(decideRelease(input(others(synced), undefined)).held[0]?.reason).toMatch(/no primary is recorded/);
    // west synced first, the Federation not yet: it still places ordinal 1 in west
    const stale = new Map([[0, 'west'], [1, 'west'], [2, 'central']]);
    expect(decideRelease(input(others(undefined), 's-0', { placement: stale })).held[0]?.reason).toMatch(/the Federation still places ordinal 1 in west/);
  });

  it('scaled in (no member cluster holds the ordinal any more): released at once, unless it is or claims the primary', () => {
    const scaled = new Map([[0, 'west'], [2, 'central']]);
    expect(decideRelease(input(others(undefined), 's-0', { placement: scaled })).released).toEqual([{ memberCluster: 'west', ordinal: 1, pod: 's-1' }]);
    const claims = [pod(0, 'west', primaryAt(530, links)), pod(1, 'west', primaryAt(3, []), true), pod(2, 'central', replicaOf('west', 0, 520))];
    expect(decideRelease(input(claims, 's-0', { placement: scaled })).held[0]?.reason).toMatch(/claims primary: demoted first/);
  });

  it('scaled in only after the servers that stay are synced: a scale-out (or move) of the same change first', () => {
    // Ordinal 1 leaves west for good while ordinal 3 is new in central (and s-2 must be synced too).
    const grown = new Map([[0, 'west'], [2, 'central'], [3, 'central']]);
    const links3: Array<[string, number]> = [...links, ['central', 3]];
    const shard = (s3: ProbeResult | undefined, s2: ProbeResult = replicaOf('west', 0, 520)): FedMember[] => [
      pod(0, 'west', primaryAt(530, links3)),
      leaving,
      pod(2, 'central', s2),
      ...(s3 !== undefined ? [pod(3, 'central', s3)] : []),
    ];
    for (const [members, why] of [
      [shard(undefined), /scaled in once every server that stays is synced \(scale-out and moves first\): ordinal 3 \(central\) does not exist yet/],
      [shard(fresh), /s-3 \(central\) is not a replica yet/],
      [shard(replicaOf('west', 0, 0, false)), /s-3 \(central\) its replication link is not up yet/],
      [shard(replicaOf('west', 0, 520), { reachable: false, error: 'timeout' }), /s-2 \(central\) does not answer/],
    ] as const) {
      const d = decideRelease(input([...members], 's-0', { placement: grown }));
      expect(d.released).toEqual([]);
      expect(d.held[0]?.reason).toMatch(why);
    }
    expect(decideRelease(input(shard(replicaOf('west', 0, 520)), 's-0', { placement: grown })).released).toEqual([{ memberCluster: 'west', ordinal: 1, pod: 's-1' }]);
  });
});

describe('decideRelease: the primary\'s ordinal moves from west to central', () => {
  // Ordinal 0 (the primary, in west) moves to central.
  const placement = new Map([[0, 'central'], [1, 'west'], [2, 'central']]);
  const links: Array<[string, number]> = [['west', 1], ['central', 0], ['central', 2]];
  const old = pod(0, 'west', primaryAt(700, links), true);
  const shard = (newPod: ProbeResult | undefined, extra: Partial<ReleaseInput> = {}): ReleaseInput =>
    input([old, pod(1, 'west', replicaOf('west', 0, 690)), ...(newPod !== undefined ? [pod(0, 'central', newPod)] : []), pod(2, 'central', replicaOf('west', 0, 695))], 's-0@west', { placement, mark: { primary: 's-0@west', offset: 600 }, ...extra });

  it('hands the primary over to its synced successor first (a switchover, the record written before the engines move), and releases nothing meanwhile', () => {
    const d = decideRelease(shard(replicaOf('west', 0, 650)));
    expect(d.switchover).toEqual({ from: 's-0@west', to: 's-0', reason: expect.stringMatching(/s-0 leaves west \(ordinal 0 moves to central\): handing the primary over to s-0 \(central\), synced, before it goes/) });
    expect(d.released).toEqual([]);
    expect(d.held[0]?.reason).toMatch(/it is the primary: handing it over to s-0 \(central\) first/);
  });

  it('the successor not synced yet: hands over to the most advanced synced replica that stays instead; none: waits', () => {
    expect(decideRelease(shard(replicaOf('west', 0, 0, false))).switchover).toMatchObject({ from: 's-0@west', to: 's-2' });
    expect(decideRelease(shard(undefined)).switchover).toMatchObject({ to: 's-2' });
    const noneSynced = input([old, pod(0, 'central', fresh), pod(1, 'west', replicaOf('west', 0, 10)), pod(2, 'central', replicaOf('west', 0, 0, false))], 's-0@west', { placement, mark: { primary: 's-0@west', offset: 600 } });
    const d = decideRelease(noneSynced);
    expect(d.switchover).toBeUndefined();
    expect(d.held[0]?.reason).toMatch(/it is the primary: waiting for a synced replica to hand it over to \(s-0 \(central\) is not a replica yet\)/);
  });

  it('the shard not Healthy (decide.ts has something to do): the hand-over waits', () => {
    const d = decideRelease(shard(replicaOf('west', 0, 650), { healthy: false }));
    expect(d.switchover).toBeUndefined();
    expect(d.held[0]?.reason).toMatch(/the hand-over to s-0 \(central\) waits for the shard to be Healthy/);
  });

  it('after the hand-over the old pod is a replica of its successor: released', () => {
    const after = input(
      [pod(0, 'west', replicaOf('central', 0, 800), true), pod(0, 'central', primaryAt(810, [['west', 0], ['west', 1], ['central', 2]])), pod(1, 'west', replicaOf('central', 0, 800)), pod(2, 'central', replicaOf('central', 0, 800))],
      's-0',
      { placement, mark: { primary: 's-0', offset: 790 } },
    );
    expect(decideRelease(after)).toEqual({ released: [{ memberCluster: 'west', ordinal: 0, pod: 's-0' }], held: [] });
  });
});

describe('decideRelease: MariaDB server ids', () => {
  it('never releases to (nor hands the primary over to) a new pod with the old pod\'s server id: it would skip what the old one wrote', () => {
    const placement = new Map([[0, 'west'], [1, 'central'], [2, 'central']]);
    const links: Array<[string, number]> = [['west', 1], ['central', 1], ['central', 2]];
    const id = (p: ProbeResult, serverId: number): ProbeResult => ({ ...p, serverId });
    const members = (newId: number): FedMember[] => [pod(0, 'west', id(primaryAt(530, links), 1)), pod(1, 'west', id(replicaOf('west', 0, 520), 2), true), pod(1, 'central', id(replicaOf('west', 0, 530), newId)), pod(2, 'central', id(replicaOf('west', 0, 520), 3))];
    const same = decideRelease(input(members(2), 's-0', { placement }));
    expect(same.released).toEqual([]);
    expect(same.held[0]?.reason).toMatch(/its new pod s-1 \(central\) has its server id 2: a replica skips the events of its own server id/);
    expect(decideRelease(input(members(7), 's-0', { placement })).released).toEqual([{ memberCluster: 'west', ordinal: 1, pod: 's-1' }]);
  });
});

describe('decideRelease (property): never releases the primary, never hands it to a leaving or unsynced pod', () => {
  it('over random shards of up to 5 pods in two member clusters, some leaving', () => {
    const clusters = ['west', 'central'];
    const probe = (n: number) =>
      fc.oneof(
        fc.constant<ProbeResult>({ reachable: false, error: 'down' }),
        fc.constant(fresh),
        fc.record({ of: fc.integer({ min: 0, max: n - 1 }), c: fc.constantFrom(...clusters), offset: fc.integer({ min: 0, max: 20 }), up: fc.boolean() }).map((r) => replicaOf(r.c, r.of, r.offset, r.up)),
        fc.integer({ min: 0, max: 20 }).map((o) => primaryAt(o, [])),
      );
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }).chain((n) =>
          fc.tuple(
            fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.constantFrom(...clusters), probe(n), fc.boolean()), { minLength: 1, maxLength: n + 2 }),
            fc.array(fc.option(fc.constantFrom(...clusters), { nil: undefined }), { minLength: n, maxLength: n }),
            fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
            fc.integer({ min: 0, max: 20 }),
            fc.boolean(),
          ),
        ),
        ([specs, places, recIndex, markOffset, healthy]) => {
          const seen = new Set<string>();
          const members = specs.flatMap(([i, c, p, leaving]) => {
            const m = pod(i, c, p, leaving);
            if (seen.has(m.podName)) return [];
            seen.add(m.podName);
            return [m];
          });
          const placement = new Map(places.flatMap((c, i) => (c !== undefined ? [[i, c] as const] : [])));
          const rec = recIndex !== undefined ? members[recIndex % members.length] : undefined;
          const d = decideRelease({ members, ...(rec !== undefined ? { recorded: rec.podName } : {}), placement, mark: { primary: rec?.podName ?? '', offset: markOffset }, healthy });
          for (const r of d.released) {
            const m = members.find((x) => x.leaving === true && x.memberCluster === r.memberCluster && x.ordinal === r.ordinal)!;
            expect(m, JSON.stringify(r)).toBeDefined();
            expect(m === rec, `${m.podName} released while it is the recorded primary`).toBe(false);
            expect(m.probe?.reachable === true && m.probe.role === 'primary', `${m.podName} released while it claims primary`).toBe(false);
            expect(placement.get(r.ordinal)).not.toBe(r.memberCluster);
          }
          if (d.switchover !== undefined) {
            const to = members.find((x) => x.podName === d.switchover!.to)!;
            expect(to.leaving === true, 'hands over to a leaving pod').toBe(false);
            expect(notSynced(to, rec!, { primary: rec!.podName, offset: markOffset })).toBeUndefined();
            expect(healthy).toBe(true);
            expect(d.switchover.from).toBe(rec?.podName);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('the member controller names the chosen primary by member cluster (federationChoice)', () => {
  it('a pod of the same name elsewhere is `<pod>@<memberCluster>`; before the manager publishes memberCluster, the pod name', () => {
    const is = instanceSet('s');
    expect(federationChoice(is)).toBeUndefined();
    is.status = { federation: { primary: { memberCluster: 'west', pod: 's-0' } } };
    expect(federationChoice(is)).toBe('s-0');
    is.status = { federation: { primary: { memberCluster: 'west', pod: 's-0' }, memberCluster: 'central' } };
    expect(federationChoice(is)).toBe('s-0@west');
    is.status = { federation: { primary: { memberCluster: 'central', pod: 's-0' }, memberCluster: 'central' } };
    expect(federationChoice(is)).toBe('s-0');
  });
});
