// The role round's ports for one server InstanceSet in a member cluster (round.ts): a snapshot
// is the set's pods from the informer cache, each pod's engine probed through the Engine, and —
// under Sentinel, when two engines claim primary or one claimant is unproven (role-plan.ts) — the
// address the sentinels name; settling writes the role labels (removals and secondaries first,
// the primary last), puts semi-sync's primary side where it belongs, keeps Sentinel replicas
// unelectable while they are not synced, and reports warnings as Events.
import { GUARD_ANNOTATIONS, LABELS, type InstanceSet, type KubeObject, type Role } from '../../schemas/types/index.js';
import type { CredentialsReader } from '../engines/credentials.js';
import { sentinelPrimary } from '../engines/redis/sentinel.js';
import type { Engine, EngineTarget } from '../engines/types.js';
import { ordinalOf } from '../reconcile/instanceset/ordinals.js';
import { engineTargets } from '../reconcile/instanceset/targets.js';
import { keyOf, type ControllerContext } from '../runtime/context.js';
import { electabilityChanges } from '../engines/redis/electability.js';
import { podAnnotationJournal, restoreNoted, unelect } from '../engines/redis/priority-journal.js';
import { isReady } from '../reconcile/instanceset/pods.js';
import { sameRequest } from '../reconcile/instanceset/switchover-record.js';
import { currentRecord, writeRecord } from '../reconcile/instanceset/switchover-store.js';
import { claimantsOf, guardedHere, type ShardSnapshot } from './decide.js';
import { relabel, writeRole } from './labels.js';
import { unprovenClaimants, type MemberView, type RoleDecision } from './role-plan.js';
import type { SwitchoverPorts } from './operate.js';
import type { RoundPorts } from './round.js';

export interface KubeShardOptions {
  ctx: ControllerContext;
  creds: CredentialsReader;
  engine: Engine;
  is: InstanceSet;
  /** Called with the round's last snapshot before labels are written (the role watch compares against it). */
  onSettle?: (snap: ShardSnapshot, roles: RoleDecision) => void;
}

export function kubeShardPorts(o: KubeShardOptions): RoundPorts {
  const { ctx, creds, engine, is } = o;
  const namespace = is.metadata.namespace ?? 'default';
  const name = is.metadata.name;
  const key = keyOf(namespace, name);
  const pods = ctx.caches.pods.byLabel(namespace, name);
  // Read once, at the first snapshot: a round that stops before it (Switching) reads no Secret.
  let targetsOnce: Promise<Map<string, EngineTarget>> | undefined;
  const timeoutMs = (is.spec.roleProbe?.timeoutSeconds ?? 1) * 1000;
  const sentinelManaged = is.spec.engine.replication?.sentinel !== undefined;
  // The federation manager's choice, named as a pod here only when it is in this member cluster:
  // while an ordinal moves, pods of one name run in two member clusters (federation/gather.ts), and
  // a primary elsewhere is `<pod>@<memberCluster>`, which no pod here is called.
  const chosen = federationChoice(is);
  const spread = is.spec.spread !== undefined ? { spread: { ...is.spec.spread, ...(chosen !== undefined ? { primary: chosen } : {}) } } : {};
  const history = engine.failoverBy === 'controller' && guardedHere({ sentinelManaged, ...spread }) ? historyOf(ctx, key) : undefined;
  const probeAll = async (targets: Map<string, EngineTarget>): Promise<MemberView[]> =>
    await Promise.all(
      pods.map(async (p) => {
        const t = targets.get(p.metadata.name);
        const label = p.metadata.labels?.[LABELS.role] as Role | undefined;
        return {
          podName: p.metadata.name,
          ordinal: ordinalOf(name, p.metadata.name) ?? Number.MAX_SAFE_INTEGER,
          port: is.spec.engine.port,
          ...(t !== undefined ? { host: t.host, probe: await engine.probe(t, timeoutMs) } : {}),
          ...(label !== undefined ? { label } : {}),
        };
      }),
    );
  return {
    engine,
    spec: is.spec.engine,
    emit: (e) => ctx.events.emit(is, e.type, e.reason, e.action, e.message),
    switchover: switchoverPorts(ctx, creds, is),
    snapshot: async () => {
      const targets = await (targetsOnce ??= engineTargets(creds, is, pods));
      const members = await probeAll(targets);
      const askSentinel = sentinelManaged && (claimantsOf(members).length > 1 || unprovenClaimants(members).length > 0);
      const sentinelView = askSentinel ? await sentinelAddress(ctx, creds, is) : undefined;
      return {
        members,
        targets,
        sentinelManaged,
        ...(sentinelView !== undefined ? { sentinelPrimary: sentinelView } : {}),
        ...spread,
        failoverBy: engine.failoverBy,
        failureThreshold: is.spec.roleProbe?.failureThreshold ?? 3,
        ...(history !== undefined ? { history } : {}),
      };
    },
    settle: async (snap, roles) => {
      if (sentinelManaged) await keepElectable(ctx, is, pods, snap.targets, snap.members, roles.primary);
      // A spread shard's semi-sync sides are the federation manager's (it keeps acknowledgements to
      // replicas in other member clusters than the primary's; re-enabling them here would fight it).
      if (is.spec.spread === undefined) await placeSemiSync(ctx, engine, is, snap.targets, snap.members, roles.primary);
      for (const w of roles.warnings) {
        ctx.log.warn({ instanceSet: key, reason: w.reason }, w.message);
        ctx.events.emit(is, 'Warning', w.reason, 'Probe', w.message);
      }
      o.onSettle?.(snap, roles);
      for (const change of roles.labels) await relabel(ctx, is, namespace, change.podName, change.role);
      // The primary carries the prevent-delete marker the admission guard protects it by; a pod whose
      // label is right but whose marker is not (labelled before the guard existed) gets it now.
      const relabelled = new Set(roles.labels.map((c) => c.podName));
      for (const p of pods) {
        const role = p.metadata.labels?.[LABELS.role] as Role | undefined;
        const marked = p.metadata.annotations?.[GUARD_ANNOTATIONS.preventDelete] === 'true';
        if (!relabelled.has(p.metadata.name) && (role === 'primary') !== marked) await writeRole(ctx, namespace, p.metadata.name, role);
      }
    },
  };
}

/** Switchover records in status.switchover, the shard's lock, its sentinels and the pods' replica-priority notes. */
function switchoverPorts(ctx: ControllerContext, creds: CredentialsReader, is: InstanceSet): SwitchoverPorts {
  const namespace = is.metadata.namespace ?? 'default';
  const key = keyOf(namespace, is.metadata.name);
  return {
    record: async (rec, expect) => {
      // The freshest object: the update step may have replaced the request since the round began.
      const now = ctx.caches.instanceSets.get(namespace, is.metadata.name) ?? is;
      if (expect !== undefined) {
        const cur = currentRecord(ctx, now);
        if (cur?.phase !== 'Requested' || !sameRequest(cur, expect)) return false;
      }
      await writeRecord(ctx, now, rec);
      return true;
    },
    exclusive: (fn) => ctx.memory.locks.runExclusive(key, fn),
    ...(is.spec.engine.replication?.sentinel !== undefined ? { sentinels: () => sentinelTargets(ctx, creds, is) } : {}),
    journal: podAnnotationJournal(ctx.client, namespace),
    now: () => ctx.now(),
  };
}

/**
 * The pods of the set's Sentinel InstanceSet as engine targets: the Ready ones (a switchover asks
 * those), or all of them (`readyOnly` false: asking where the primary is, any that answers will do).
 */
async function sentinelTargets(ctx: ControllerContext, creds: CredentialsReader, is: InstanceSet, readyOnly = true): Promise<EngineTarget[]> {
  const s = is.spec.engine.replication?.sentinel;
  const ns = is.metadata.namespace ?? 'default';
  const set = s !== undefined ? ctx.caches.instanceSets.get(ns, s.instanceSet) : undefined;
  if (s === undefined || set === undefined) return [];
  const pods = ctx.caches.pods.byLabel(ns, s.instanceSet);
  return [...(await engineTargets(creds, set, readyOnly ? pods.filter(isReady) : pods)).values()];
}

function historyOf(ctx: ControllerContext, key: string) {
  let h = ctx.memory.probeHistory.get(key);
  if (h === undefined) {
    h = { history: new Map() };
    ctx.memory.probeHistory.set(key, h);
  }
  return h;
}

/** The primary address the shard's sentinels report (first that answers). */
async function sentinelAddress(ctx: ControllerContext, creds: CredentialsReader, is: InstanceSet): Promise<{ host: string; port: number } | undefined> {
  const masterName = is.spec.engine.replication?.sentinel?.masterName;
  if (masterName === undefined) return undefined;
  for (const t of await sentinelTargets(ctx, creds, is, false)) {
    try {
      const addr = await sentinelPrimary(t, masterName, 1000);
      if (addr !== undefined) return addr;
    } catch {
      // this sentinel does not answer: ask the next
    }
  }
  return undefined;
}

/**
 * Under Sentinel: replicas that do not replicate from the primary are unelectable until they do
 * (controller/engines/redis/electability.ts); values noted on pods — by that, or by a switchover a
 * restart cut off — are restored once the replica is synced.
 */
async function keepElectable(ctx: ControllerContext, is: InstanceSet, pods: KubeObject[], targets: Map<string, EngineTarget>, members: MemberView[], primaryPod: string | undefined): Promise<void> {
  const namespace = is.metadata.namespace ?? 'default';
  const p = members.find((m) => m.podName === primaryPod && m.probe?.reachable === true && m.probe.role === 'primary');
  const { unelect: down, restore } = electabilityChanges(members, p?.host !== undefined ? { host: p.host, port: p.port } : undefined, pods);
  const made = await unelect(ctx.client, namespace, down, targets);
  if (made.length > 0) ctx.events.emit(is, 'Normal', 'Unelectable', 'Protect', `replica-priority 0 on ${made.join(', ')} while it does not replicate from the primary: Sentinel must not promote a replica without the acknowledged writes`);
  const restored = await restoreNoted(ctx.client, namespace, pods, targets, restore);
  if (restored.length > 0) ctx.events.emit(is, 'Normal', 'Electable', 'Protect', `restored replica-priority on ${restored.join(', ')}: it replicates from the primary again`);
}

/** Semi-sync: the primary side on the primary only (Engine.semiSync; nothing for an engine without it). */
async function placeSemiSync(ctx: ControllerContext, engine: Engine, is: InstanceSet, targets: Map<string, EngineTarget>, members: MemberView[], primaryPod: string | undefined): Promise<void> {
  const fix = engine.semiSync(members, primaryPod, is.spec.engine);
  const primary = primaryPod !== undefined ? targets.get(primaryPod) : undefined;
  if (fix.enableOn !== undefined && primary !== undefined && (await engine.promote(primary, is.spec.engine))) {
    ctx.events.emit(is, 'Normal', 'SemiSync', 'Wire', `semi-sync primary side switched on on ${fix.enableOn} (it came back with it off)`);
  }
  for (const pod of fix.disableOn) {
    const t = targets.get(pod);
    // follow() of a replica already wired to the primary only corrects its flags.
    if (t !== undefined && primary !== undefined && (await engine.follow(t, primary, is.spec.engine))) {
      ctx.events.emit(is, 'Normal', 'SemiSync', 'Wire', `semi-sync primary side switched off on secondary ${pod}`);
    }
  }
}

/** status.federation's primary as a pod name of this member cluster, or `<pod>@<memberCluster>` when it runs in another. */
export function federationChoice(is: InstanceSet): string | undefined {
  const fed = is.status?.federation;
  const p = fed?.primary;
  if (p === undefined) return undefined;
  return fed?.memberCluster === undefined || p.memberCluster === fed.memberCluster ? p.pod : `${p.pod}@${p.memberCluster}`;
}
