// The change DAG of a spread shard at run time (controller/federation/steps.ts): the steps are the
// plan's (compiler/rollout/spread-steps.ts), each judged on what is observed now — the pods'
// revision computed from the spec, readiness, the engine replicating — and the member clusters
// other than the canary are held (status.federation.updateGeneration, read by the member
// controller's update planner: federationHold) until the canary's secondaries are updated and
// healthy.
import { describe, expect, it } from 'vitest';
import { spreadSteps } from '../../../compiler/rollout/spread-steps.js';
import type { FedDecision } from '../../../controller/federation/decide.js';
import { federationSteps, gateSwitchover, shardSteps, StepMemory, type ShardStepsInput, type StepPod } from '../../../controller/federation/steps.js';
import { federationHold, planUpdate, type PlanInput } from '../../../controller/update/plan.js';

const WEST = 'prod-eu-west';
const CENTRAL = 'prod-eu-central';
const ORDER = [WEST, CENTRAL];
const pod = (memberCluster: string, n: number, x: Partial<StepPod> = {}): StepPod => ({ memberCluster, pod: `s-${n}`, outdated: false, ready: true, replicating: true, primary: false, ...x });
const run = (pods: StepPod[], primary = 's-0', done?: ReadonlySet<string>) =>
  shardSteps({ shard: 's', memberOrder: ORDER, members: ORDER, pods, primary, decision: { switchover: false, reason: 'waiting' }, ...(done !== undefined ? { done } : {}) });
const states = (r: ReturnType<typeof run>): string[] => r.steps.map((s) => `${s.id} ${s.state}`);

describe('the steps of a spread shard at run time', () => {
  it('are the plan\'s steps for an update (the same function, the same ids)', () => {
    const r = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1, { outdated: true }), pod(CENTRAL, 2, { outdated: true })]);
    const plan = spreadSteps({ memberOrder: ORDER, perMember: new Map(ORDER.map((m) => [m, new Set(['update-secondaries' as const])])), switchover: true });
    expect(r.steps.map((s) => s.id)).toEqual(plan.map((s) => s.id));
    expect(r.steps.map((s) => s.id)).toEqual(['update-secondaries@prod-eu-west', 'update-secondaries@prod-eu-central', 'switchover@_federation', 'update-primary@_federation']);
  });

  it('the canary runs first; the other member cluster is held until the canary\'s secondaries are updated AND healthy', () => {
    const start = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1, { outdated: true }), pod(CENTRAL, 2, { outdated: true })]);
    expect(states(start)).toEqual(['update-secondaries@prod-eu-west Running', 'update-secondaries@prod-eu-central Waiting', 'switchover@_federation Pending', 'update-primary@_federation Pending']);
    expect(start.hold.get(WEST)).toBeUndefined();
    expect(start.hold.get(CENTRAL)).toMatch(/update-secondaries@prod-eu-west is not done: s-1 outdated/);
    // Replaced but not Ready, then Ready but not yet replicating: still held.
    for (const x of [{ ready: false }, { replicating: false }]) {
      const r = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1, x), pod(CENTRAL, 2, { outdated: true })]);
      expect(r.steps[0]!.state).toBe('Running');
      expect(r.hold.get(CENTRAL)).toBeDefined();
    }
    const next = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1), pod(CENTRAL, 2, { outdated: true })]);
    expect(states(next)).toEqual(['update-secondaries@prod-eu-west Done', 'update-secondaries@prod-eu-central Running', 'switchover@_federation Pending', 'update-primary@_federation Pending']);
    expect(next.hold.get(CENTRAL)).toBeUndefined();
  });

  it('switchover runs once every secondary is updated; update-primary after it; Done at the end, kept Done by the memory', () => {
    const mem = new StepMemory();
    const key = 'ns/fed/s';
    const r1 = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1), pod(CENTRAL, 2)], 's-0', mem.doneOf(key));
    expect(states({ ...r1, steps: mem.record(key, r1) })).toEqual(['update-secondaries@prod-eu-west Done', 'update-secondaries@prod-eu-central Done', 'switchover@_federation Running', 'update-primary@_federation Pending']);
    // Switched over to s-2; s-0 is now an outdated secondary: update-primary runs, the earlier steps stay Done.
    const r2 = run([pod(WEST, 0, { outdated: true, primary: false }), pod(WEST, 1), pod(CENTRAL, 2, { primary: true, replicating: false })], 's-2', mem.doneOf(key));
    expect(states({ ...r2, steps: mem.record(key, r2) })).toEqual(['update-secondaries@prod-eu-west Done', 'update-secondaries@prod-eu-central Done', 'switchover@_federation Done', 'update-primary@_federation Running']);
    expect(r2.hold.get(WEST)).toBeUndefined();
    // The old primary deleted, not back yet: still update-primary's, not over.
    const gone = shardSteps({ shard: 's', memberOrder: ORDER, members: ORDER, pods: [pod(WEST, 1), pod(CENTRAL, 2, { primary: true, replicating: false })], expected: [0, 1, 2].map((n) => ({ memberCluster: n < 2 ? WEST : CENTRAL, pod: `s-${n}` })), primary: 's-2', done: mem.doneOf(key) });
    expect(gone.moving).toBe(true);
    expect(states({ ...gone, steps: mem.record(key, gone) }).at(-1)).toBe('update-primary@_federation Running');
    // All done: the last change's steps, all Done.
    const r3 = run([pod(WEST, 0), pod(WEST, 1), pod(CENTRAL, 2, { primary: true, replicating: false })], 's-2', mem.doneOf(key));
    expect(r3.moving).toBe(false);
    expect(mem.record(key, r3).map((s) => s.state)).toEqual(['Done', 'Done', 'Done', 'Done']);
    // Nothing in motion and nothing remembered: no steps, nobody held.
    const idle = run([pod(WEST, 0, { primary: true, replicating: false }), pod(WEST, 1), pod(CENTRAL, 2)]);
    expect(idle.steps).toEqual([]);
    expect([...idle.hold.values()].every((h) => h === undefined)).toBe(true);
  });

  it('a member cluster seen done out of order (its spec read before the change reached it) is not remembered: once it shows outdated pods it is held', () => {
    const mem = new StepMemory();
    const key = 'ns/fed/s';
    // Round 1: west's new spec seen, central's read predates the change (nothing outdated there yet).
    const r1 = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1, { outdated: true }), pod(CENTRAL, 2)], 's-0', mem.doneOf(key));
    mem.record(key, r1);
    expect(r1.hold.get(CENTRAL)).toBeUndefined();
    // Round 2: central's new spec seen: its secondary is outdated, and it waits for the canary.
    const r2 = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1, { outdated: true }), pod(CENTRAL, 2, { outdated: true })], 's-0', mem.doneOf(key));
    expect(states({ ...r2, steps: mem.record(key, r2) })).toEqual(['update-secondaries@prod-eu-west Running', 'update-secondaries@prod-eu-central Waiting', 'switchover@_federation Pending', 'update-primary@_federation Pending']);
    expect(r2.hold.get(CENTRAL)).toMatch(/update-secondaries@prod-eu-west is not done/);
  });

  it('the switchover a rolling update decides runs only when its step may: a replica replicating but not Ready holds it back', () => {
    const switchover: FedDecision = { state: 'Updating', op: { kind: 'switchover', from: 's-0', to: 's-2', reason: 'every secondary is updated' }, primary: 's-2' };
    const notReady = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1), pod(CENTRAL, 2, { ready: false })]);
    expect(gateSwitchover(switchover, notReady)).toEqual({ state: 'Updating', op: { kind: 'none', reason: expect.stringMatching(/waits for update-secondaries@prod-eu-central: s-2 not Ready/) }, primary: 's-0' });
    const ready = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1), pod(CENTRAL, 2)]);
    expect(gateSwitchover(switchover, ready)).toBe(switchover);
    // Anything else (a failover, a move's hand-over) is not the DAG's to hold.
    const failover: FedDecision = { state: 'FailingOver', op: { kind: 'failover', candidate: 's-1', others: [], reason: 'lost' }, primary: 's-1' };
    expect(gateSwitchover(failover, notReady)).toBe(failover);
  });

  it('a revision not known (the member cluster\'s API server did not answer) is not an updated pod', () => {
    const r = run([pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1, { outdated: undefined }), pod(CENTRAL, 2, { outdated: true })] as StepPod[]);
    expect(r.steps[0]!.state).toBe('Running');
    expect(r.steps[0]!.message).toMatch(/s-1 revision unknown/);
    expect(r.hold.get(CENTRAL)).toBeDefined();
  });

  it('status.steps across shards: Done when every shard is, Running while any runs or some are done', () => {
    const s = (id: string, state: 'Done' | 'Running' | 'Waiting' | 'Pending') => ({ id, action: 'update-secondaries' as const, memberCluster: WEST, state, message: state });
    const out = federationSteps([
      { shard: 'a', steps: [s('x', 'Done'), s('y', 'Pending'), s('z', 'Waiting')] },
      { shard: 'b', steps: [s('x', 'Done'), s('y', 'Done'), s('z', 'Waiting')] },
    ]);
    expect(out.map((x) => `${x.id} ${x.state}`)).toEqual(['x Done', 'y Running', 'z Waiting']);
    expect(out[1]!.message).toBe('a Pending: Pending; b Done: Done');
  });
});

describe('the steps of a scale or an ordinal move at run time (scale-out, move-ordinal, scale-in)', () => {
  const KEY = 'ns/fed/s';
  const at = (memberCluster: string, n: number) => ({ memberCluster, pod: `s-${n}` });
  /** One round as the manager runs it: the memory's input, this round's observation, the memory updated; returns the steps shown. */
  const round = (mem: StepMemory, x: Pick<ShardStepsInput, 'pods' | 'expected' | 'release'> & { primary?: string }) => {
    const r = shardSteps({ shard: 's', memberOrder: ORDER, members: ORDER, primary: x.primary ?? 's-0', decision: { switchover: false, reason: 'Healthy' }, pods: x.pods, ...(x.expected !== undefined ? { expected: x.expected } : {}), ...(x.release !== undefined ? { release: x.release } : {}), ...mem.inputOf(KEY) });
    const shown = mem.record(KEY, r);
    return { r, shown, states: shown.map((s) => `${s.id} ${s.state}`), message: (id: string) => shown.find((s) => s.id === id)?.message ?? '' };
  };
  const primary0 = pod(WEST, 0, { primary: true, replicating: false });
  /** Before the change: s-0 (primary), s-1 in west, s-2 in central, all healthy: nothing to show, the servers known. */
  const before = (): StepMemory => {
    const mem = new StepMemory();
    const r = round(mem, { pods: [primary0, pod(WEST, 1), pod(CENTRAL, 2)], expected: [at(WEST, 0), at(WEST, 1), at(CENTRAL, 2)] });
    expect(r.shown).toEqual([]);
    return mem;
  };

  it('a secondary\'s ordinal moved: scale-out runs until its new pod is Ready, move-ordinal runs (naming the ordinal and what it waits for) until the old pod is gone, then all Done', () => {
    const mem = before();
    const expected = [at(WEST, 0), at(WEST, 1), at(WEST, 2)];
    const old2 = pod(CENTRAL, 2, { leaving: true });
    const held = (why: string) => ({ released: [], held: [{ memberCluster: CENTRAL, ordinal: 2, pod: 's-2', reason: `s-2 (${CENTRAL}) stays: ordinal 2 moves to ${WEST}, where ${why}` }] });
    // The Federation places ordinal 2 in west; west has not made its pod yet.
    const r1 = round(mem, { pods: [primary0, pod(WEST, 1), old2], expected, release: held('its new pod does not exist yet') });
    expect(r1.states).toEqual([`scale-out@${WEST} Running`, 'move-ordinal@_federation Running']);
    expect(r1.message(`scale-out@${WEST}`)).toBe('s-2 not there yet');
    expect(r1.message('move-ordinal@_federation')).toBe(`ordinal 2: ${CENTRAL} → ${WEST}: its new pod in ${WEST} is not synced yet: ordinal 2 moves to ${WEST}, where its new pod does not exist yet`);
    expect(r1.r.moving).toBe(true);
    expect([...r1.r.hold.values()].every((h) => h === undefined), 'a move holds no rolling update').toBe(true);
    // The new pod is there, not Ready, then Ready but not synced: scale-out Done once Ready, the move still runs.
    const r2 = round(mem, { pods: [primary0, pod(WEST, 1), pod(WEST, 2, { ready: false, replicating: false }), old2], expected, release: held('s-2 does not answer') });
    expect(r2.states).toEqual([`scale-out@${WEST} Running`, 'move-ordinal@_federation Running']);
    expect(r2.message(`scale-out@${WEST}`)).toBe('s-2 not Ready');
    const r3 = round(mem, { pods: [primary0, pod(WEST, 1), pod(WEST, 2, { replicating: false }), old2], expected, release: held('s-2 its replication link is not up yet (syncing)') });
    expect(r3.states).toEqual([`scale-out@${WEST} Done`, 'move-ordinal@_federation Running']);
    expect(r3.message('move-ordinal@_federation')).toMatch(/^ordinal 2: prod-eu-central → prod-eu-west: its new pod in prod-eu-west is not synced yet: .*s-2 its replication link is not up yet/);
    // Synced: released, waiting for central to remove it.
    const r4 = round(mem, { pods: [primary0, pod(WEST, 1), pod(WEST, 2), old2], expected, release: { released: [{ memberCluster: CENTRAL, ordinal: 2, pod: 's-2' }], held: [] } });
    expect(r4.states).toEqual([`scale-out@${WEST} Done`, 'move-ordinal@_federation Running']);
    expect(r4.message('move-ordinal@_federation')).toBe(`ordinal 2: ${CENTRAL} → ${WEST}: released, waiting for ${CENTRAL} to remove s-2`);
    expect(r4.r.moving).toBe(true);
    // The old pod gone: over, every step Done, and still shown Done afterwards.
    const r5 = round(mem, { pods: [primary0, pod(WEST, 1), pod(WEST, 2)], expected, release: { released: [], held: [] } });
    expect(r5.r.moving).toBe(false);
    expect(r5.states).toEqual([`scale-out@${WEST} Done`, 'move-ordinal@_federation Done']);
    expect(r5.message('move-ordinal@_federation')).toBe(`s ordinal 2: ${CENTRAL} → ${WEST}: the old pods are gone`);
    expect(round(mem, { pods: [primary0, pod(WEST, 1), pod(WEST, 2)], expected }).states).toEqual([`scale-out@${WEST} Done`, 'move-ordinal@_federation Done']);
  });

  it('the primary\'s ordinal moved: move-ordinal says the primary is handed over first', () => {
    const mem = before();
    const expected = [at(CENTRAL, 0), at(WEST, 1), at(CENTRAL, 2)];
    const old0 = pod(WEST, 0, { leaving: true, primary: true, replicating: false });
    const handOver = { from: `s-0@${WEST}`, to: 's-0', reason: 'handing over' };
    const r = round(mem, {
      pods: [old0, pod(WEST, 1), pod(CENTRAL, 0), pod(CENTRAL, 2)],
      expected,
      release: { released: [], held: [{ memberCluster: WEST, ordinal: 0, pod: 's-0', reason: `s-0 (${WEST}) stays: it is the primary: handing it over to s-0 (${CENTRAL}) first` }], switchover: handOver },
    });
    expect(r.states).toEqual([`scale-out@${CENTRAL} Done`, 'move-ordinal@_federation Running']);
    expect(r.message('move-ordinal@_federation')).toBe(`ordinal 0: ${WEST} → ${CENTRAL}: the primary is handed over first: handing it over to s-0 (${CENTRAL}) first`);
    // Told by the release decision alone (the old primary not answering this round): still the primary's.
    const quiet = shardSteps({ shard: 's', memberOrder: ORDER, members: ORDER, pods: [{ ...old0, primary: false }, pod(WEST, 1), pod(CENTRAL, 0), pod(CENTRAL, 2)], expected, primary: 's-0', release: { released: [], held: [{ memberCluster: WEST, ordinal: 0, pod: 's-0', reason: 'x' }], switchover: handOver }, ...mem.inputOf('ns/fed/s') });
    expect(quiet.steps.find((s) => s.id === 'move-ordinal@_federation')?.message).toMatch(/the primary is handed over first/);
  });

  it('a scale-out: a server new in a member cluster runs until it is Ready; a replaced server (seen before) or one missing at the first round is no scale-out', () => {
    const mem = before();
    const expected = [at(WEST, 0), at(WEST, 1), at(CENTRAL, 2), at(CENTRAL, 3)];
    const base = [primary0, pod(WEST, 1), pod(CENTRAL, 2)];
    const r1 = round(mem, { pods: base, expected });
    expect(r1.states).toEqual([`scale-out@${CENTRAL} Running`]);
    expect(r1.message(`scale-out@${CENTRAL}`)).toBe('s-3 not there yet');
    expect(round(mem, { pods: [...base, pod(CENTRAL, 3, { ready: false, replicating: false })], expected }).states).toEqual([`scale-out@${CENTRAL} Running`]);
    // Ready: Done; the change lasts until it replicates, then ends all Done.
    const r3 = round(mem, { pods: [...base, pod(CENTRAL, 3, { replicating: false })], expected });
    expect(r3.states).toEqual([`scale-out@${CENTRAL} Done`]);
    expect(r3.r.moving).toBe(true);
    const r4 = round(mem, { pods: [...base, pod(CENTRAL, 3)], expected });
    expect(r4.r.moving).toBe(false);
    expect(r4.states).toEqual([`scale-out@${CENTRAL} Done`]);
    // A server seen before and missing now (replaced, or lost) is no scale-out.
    const replaced = round(before(), { pods: [primary0, pod(CENTRAL, 2)], expected: [at(WEST, 0), at(WEST, 1), at(CENTRAL, 2)] });
    expect(replaced.shown).toEqual([]);
    // Nothing seen before (the manager's first round): a missing server is not called new.
    const first = shardSteps({ shard: 's', memberOrder: ORDER, members: ORDER, pods: base, expected, primary: 's-0' });
    expect(first.steps).toEqual([]);
  });

  it('a scale-in: a leaving pod whose ordinal the Federation places nowhere runs until it is gone; one it still places in its own member cluster is no step yet', () => {
    const mem = before();
    const expected = [at(WEST, 0), at(WEST, 1)];
    const r1 = round(mem, { pods: [primary0, pod(WEST, 1), pod(CENTRAL, 2, { leaving: true })], expected, release: { released: [{ memberCluster: CENTRAL, ordinal: 2, pod: 's-2' }], held: [] } });
    expect(r1.states).toEqual([`scale-in@${CENTRAL} Running`]);
    expect(r1.message(`scale-in@${CENTRAL}`)).toBe(`s-2 (ordinal 2, placed nowhere): released, waiting for ${CENTRAL} to remove s-2`);
    const r2 = round(mem, { pods: [primary0, pod(WEST, 1)], expected });
    expect(r2.r.moving).toBe(false);
    expect(r2.states).toEqual([`scale-in@${CENTRAL} Done`]);
    // Scaled out again later: a new server (the one removed is not remembered as seen).
    expect(round(mem, { pods: [primary0, pod(WEST, 1)], expected: [...expected, at(CENTRAL, 2)] }).states).toEqual([`scale-out@${CENTRAL} Running`]);
    // Central's spec dropped s-2 before the Federation did: held by release.ts, no step of the plan yet.
    const stale = round(before(), { pods: [primary0, pod(WEST, 1), pod(CENTRAL, 2, { leaving: true })], expected: [at(WEST, 0), at(WEST, 1), at(CENTRAL, 2)] });
    expect(stale.shown).toEqual([]);
  });

  it('a rolling update during a move: the update steps gate as before (the move neither holds a member cluster nor the switchover)', () => {
    const mem = before();
    const expected = [at(WEST, 0), at(WEST, 1), at(WEST, 2)];
    const pods = [pod(WEST, 0, { outdated: true, primary: true, replicating: false }), pod(WEST, 1), pod(WEST, 2), pod(CENTRAL, 2, { leaving: true })];
    const r = round(mem, { pods, expected, release: { released: [], held: [] } });
    expect(r.states).toEqual([`scale-out@${WEST} Done`, 'move-ordinal@_federation Running', `update-secondaries@${WEST} Done`, `update-secondaries@${CENTRAL} Done`, 'switchover@_federation Running', 'update-primary@_federation Pending']);
    const switchover: FedDecision = { state: 'Updating', op: { kind: 'switchover', from: 's-0', to: 's-1', reason: 'every secondary is updated' }, primary: 's-1' };
    expect(gateSwitchover(switchover, r.r)).toBe(switchover);
    expect([...r.r.hold.values()].every((h) => h === undefined)).toBe(true);
  });
});

describe('the member controller\'s gate (federationHold → planUpdate)', () => {
  const spread = { metadata: { generation: 7 }, spec: { spread: { memberClusters: ORDER } } };
  const input: PlanInput = {
    pods: [
      { name: 's-1', revision: 'old', ready: true, role: 'secondary' },
      { name: 's-0', revision: 'old', ready: true, role: 'primary' },
    ],
    updateRevision: 'new',
    roles: [
      { name: 'primary', updatePriority: 2, participatesInQuorum: false, isExclusive: true },
      { name: 'secondary', updatePriority: 1, participatesInQuorum: false, isExclusive: false },
    ],
    memberUpdateStrategy: 'Serial',
  };

  it('a spread set is held until the manager publishes its generation; a set not spread never is', () => {
    expect(federationHold({ metadata: { generation: 7 }, spec: {} })).toBeUndefined();
    const held = federationHold(spread);
    expect(held).toMatch(/federation manager has not let/);
    expect(federationHold({ ...spread, status: { federation: { updateGeneration: 6, updateWaiting: 'update-secondaries@prod-eu-west is not done' } } })).toMatch(/update-secondaries@prod-eu-west is not done/);
    expect(federationHold({ ...spread, status: { federation: { updateGeneration: 7 } } })).toBeUndefined();
    expect(planUpdate({ ...input, hold: held! })).toEqual({ next: [], done: false, waitingFor: held });
    expect(planUpdate(input).next).toEqual(['s-1']);
  });

  it('a hold does not stop anything when nothing is outdated', () => {
    const fresh = input.pods.map((p) => ({ ...p, revision: 'new' }));
    expect(planUpdate({ ...input, pods: fresh, hold: 'held' }).done).toBe(true);
  });
});
