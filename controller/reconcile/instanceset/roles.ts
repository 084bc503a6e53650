// The role-probe loop: per server InstanceSet, every roleProbe.periodSeconds, probe each pod's
// engine, decide (role-plan.ts) and act: bootstrap wiring (promote / follow), role labels, Events.
// Sentinel InstanceSets: make every sentinel monitor the shards it watches, and subscribe to
// +switch-master so a failover is relabelled at once instead of at the next period.
// Between rounds, the role watch (role-watch.ts) starts a set's round at once when an engine
// reports another role than at the last round.
import * as k8s from '@kubernetes/client-node';
import { FIELD_MANAGER_CONTROLLER, GUARD_ANNOTATIONS, LABELS, SENTINEL_TIMING, type InstanceSet, type KubeObject, type Role } from '../../../schemas/types/index.js';
import { CredentialsReader } from '../../engines/credentials.js';
import { driverFor } from '../../engines/index.js';
import { ensureMonitor, sentinelPrimary, watchSwitchMaster } from '../../engines/redis/sentinel.js';
import { forgetMysqlRoles, keepMysqlRoles } from '../../engines/mysql/failover.js';
import { semiSyncFixes } from '../../engines/mysql/semisync.js';
import { guardSplitBrain } from '../../engines/splitbrain.js';
import { electabilityChanges } from '../../update/electability.js';
import { restoreNoted, unelect } from '../../update/priority-journal.js';
import type { EngineTarget, ProbeResult, ServerDriver } from '../../engines/types.js';
import { keyOf, splitKey, type ControllerContext } from '../../runtime/context.js';
import { resourcePath } from '../../runtime/kube.js';
import { ordinalOf } from './ordinals.js';
import { podStatus } from './pods.js';
import { decideRoles, type MemberView, type RoleDecision } from './role-plan.js';
import { roleChanged, seenRoles, type SeenRoles } from './role-watch.js';
import { engineTargets } from './targets.js';

interface Loop {
  timer: NodeJS.Timeout | undefined;
  running: Promise<boolean> | undefined;
  again: boolean;
  switchWatch?: { close(): Promise<void> };
  sentinelsWatched?: string;
  /** The role watch's next check, and the one in flight. */
  watchTimer?: NodeJS.Timeout | undefined;
  watching?: Promise<void> | undefined;
  /** What the engines reported at the end of the last full round (role-watch.ts). */
  seen?: SeenRoles;
}

export interface RoleProbeOptions {
  /** Role watch interval between full rounds (role-watch.ts); 0 = off. Default DEFAULT_ROLE_WATCH_MS. */
  watchMs?: number;
}

/** 250 ms: relabel p99 under 1 s at fleet scale (test/bench/prober.bench.ts); see role-watch.ts. */
export const DEFAULT_ROLE_WATCH_MS = 250;

const SETTLE_MS = 500;

const hasRoles = (is: InstanceSet): boolean => (is.spec.roles?.length ?? 0) > 0 && driverFor(is.spec.engine.type) !== undefined;
const isSentinel = (is: InstanceSet): boolean => is.spec.engine.type === 'redis-sentinel' && (is.spec.engine.monitors?.length ?? 0) > 0;

export class RoleProbes {
  private readonly loops = new Map<string, Loop>();
  private readonly drivers = new Map<string, ServerDriver>();
  /** Per spread set: the waiting reason last reported in an Event. */
  private readonly waiting = new Map<string, string>();
  private readonly creds: CredentialsReader;
  private started = false;
  private stopped = false;
  private readonly watchMs: number;

  constructor(
    private readonly ctx: ControllerContext,
    opts: RoleProbeOptions = {},
  ) {
    this.creds = new CredentialsReader(ctx.client.kc.makeApiClient(k8s.CoreV1Api));
    this.watchMs = Math.max(0, opts.watchMs ?? DEFAULT_ROLE_WATCH_MS);
  }

  private driver(type: InstanceSet['spec']['engine']['type']): ServerDriver | undefined {
    let d = this.drivers.get(type);
    if (d === undefined) {
      d = driverFor(type);
      if (d !== undefined) this.drivers.set(type, d);
    }
    return d;
  }

  start(): void {
    this.started = true;
    for (const is of this.ctx.caches.instanceSets.list()) this.instanceSetChanged('add', is);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const loops = [...this.loops.values()];
    for (const l of loops) {
      clearTimeout(l.timer);
      clearTimeout(l.watchTimer);
    }
    await Promise.all(loops.map((l) => l.running));
    await Promise.all(loops.map((l) => l.watching));
    await Promise.all(loops.map((l) => l.switchWatch?.close()));
    this.loops.clear();
    await Promise.all([...this.drivers.values()].map((d) => d.close()));
  }

  instanceSetChanged(type: 'add' | 'update' | 'delete', is: InstanceSet): void {
    if (!this.started || this.stopped) return;
    const key = keyOf(is.metadata.namespace, is.metadata.name);
    if (type === 'delete' || !(hasRoles(is) || isSentinel(is))) {
      // The failover bookkeeping (lost-probe counts, fencing) of a set that is gone or has no roles.
      forgetMysqlRoles(this.ctx.memory.mysqlKeepers, key);
      this.waiting.delete(key);
      const l = this.loops.get(key);
      if (l !== undefined) {
        clearTimeout(l.timer);
        clearTimeout(l.watchTimer);
        void l.switchWatch?.close();
        this.loops.delete(key);
      }
      return;
    }
    if (!this.loops.has(key)) {
      this.loops.set(key, { timer: undefined, running: undefined, again: false });
      this.kick(key);
    }
  }

  /** A pod became Ready without a role: probe its set now rather than at the next period. */
  podChanged(_type: 'add' | 'update' | 'delete', pod: KubeObject): void {
    const set = pod.metadata.labels?.[LABELS.instanceSet];
    if (set === undefined || pod.metadata.labels?.[LABELS.role] !== undefined) return;
    if ((podStatus(pod).conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')) this.kick(keyOf(pod.metadata.namespace, set));
  }

  /** Runs the set's probe now (or right after the running one) and reschedules it. */
  kick(key: string): void {
    const l = this.loops.get(key);
    if (l === undefined || this.stopped) return;
    if (l.running !== undefined) {
      l.again = true;
      return;
    }
    clearTimeout(l.timer);
    clearTimeout(l.watchTimer);
    l.watchTimer = undefined;
    let unsettled = true;
    l.running = this.tick(key)
      .then((u) => (unsettled = u))
      .catch((err: unknown) => {
        this.ctx.log.warn({ instanceSet: key, err: err instanceof Error ? err.message : String(err) }, 'role probe failed');
        return true;
      })
      .finally(() => {
        l.running = undefined;
        if (this.stopped || !this.loops.has(key)) return;
        if (l.again) {
          l.again = false;
          this.kick(key);
          return;
        }
        const is = this.ctx.caches.instanceSets.get(splitKey(key).namespace, splitKey(key).name);
        // While roles are in motion (a failover half done, pods not yet labelled) look again soon.
        const period = (is?.spec.roleProbe?.periodSeconds ?? 2) * 1000;
        const next = unsettled ? Math.min(period, SETTLE_MS) : period;
        l.timer = setTimeout(() => this.kick(key), next);
        l.timer.unref();
        this.scheduleWatch(key, l, next);
      });
  }

  /** The next role-watch check of a set, when the next full round is further away than one interval. */
  private scheduleWatch(key: string, l: Loop, untilRoundMs: number): void {
    if (this.watchMs <= 0 || this.watchMs >= untilRoundMs || this.stopped || l.seen === undefined) return;
    clearTimeout(l.watchTimer);
    l.watchTimer = setTimeout(() => {
      l.watchTimer = undefined;
      l.watching = this.watch(key, l)
        .catch((err: unknown) => this.ctx.log.debug({ instanceSet: key, err: err instanceof Error ? err.message : String(err) }, 'role watch failed'))
        .finally(() => (l.watching = undefined));
    }, this.watchMs);
    l.watchTimer.unref();
  }

  /** One role-watch check (role-watch.ts): a full round at once if an engine's role changed. */
  private async watch(key: string, l: Loop): Promise<void> {
    if (this.stopped || l.running !== undefined || this.loops.get(key) !== l) return;
    const { namespace, name } = splitKey(key);
    const is = this.ctx.caches.instanceSets.get(namespace, name);
    if (is === undefined || is.spec.paused === true || isSentinel(is) || this.ctx.memory.locks.isBusy(key)) return;
    const driver = this.driver(is.spec.engine.type);
    if (driver === undefined) return;
    const pods = this.ctx.caches.pods.byLabel(namespace, name);
    const targets = await engineTargets(this.creds, is, pods);
    const timeoutMs = (is.spec.roleProbe?.timeoutSeconds ?? 1) * 1000;
    const now = seenRoles(await Promise.all([...targets.values()].map(async (t) => ({ podName: t.podName, probe: await driver.probe(t, timeoutMs) }))));
    // A round started meanwhile (a pod event): it reschedules the watch itself.
    if (this.stopped || l.running !== undefined || this.loops.get(key) !== l) return;
    const changed = roleChanged(l.seen, now);
    if (changed !== undefined) {
      this.ctx.metrics.roleWatchChanges.inc({ engine: is.spec.engine.type });
      this.ctx.log.debug({ instanceSet: key, pod: changed }, 'role watch: engine role changed; probing the set now');
      this.kick(key);
      return;
    }
    // Nothing changed: check again one interval later (the next full round cancels it).
    this.scheduleWatch(key, l, Number.POSITIVE_INFINITY);
  }

  /** One probe round; true when roles are still in motion (look again soon). */
  private async tick(key: string): Promise<boolean> {
    const { namespace, name } = splitKey(key);
    const is = this.ctx.caches.instanceSets.get(namespace, name);
    if (is === undefined || is.spec.paused === true) return false;
    // A switchover is moving the role right now (controller/update/lock.ts): probe after it.
    if (this.ctx.memory.locks.isBusy(key)) return true;
    if (isSentinel(is)) {
      await this.sentinelTick(is);
      return false;
    }
    const driver = this.driver(is.spec.engine.type);
    if (driver === undefined) return false;
    const started = performance.now();
    try {
      return await this.serverRound(key, is, driver);
    } finally {
      this.ctx.metrics.roleProbeRound.observe({ engine: is.spec.engine.type }, (performance.now() - started) / 1000);
    }
  }

  /** The probe round of a server set (not Sentinel): probe, decide, wire, guard, label. */
  private async serverRound(key: string, is: InstanceSet, driver: ServerDriver): Promise<boolean> {
    const { namespace, name } = splitKey(key);
    const pods = this.ctx.caches.pods.byLabel(namespace, name);
    const targets = await engineTargets(this.creds, is, pods);
    const timeoutMs = (is.spec.roleProbe?.timeoutSeconds ?? 1) * 1000;
    const probeAll = async (): Promise<MemberView[]> =>
      await Promise.all(
        pods.map(async (p) => {
          const t = targets.get(p.metadata.name);
          const label = p.metadata.labels?.[LABELS.role] as Role | undefined;
          return {
            podName: p.metadata.name,
            ordinal: ordinalOf(name, p.metadata.name) ?? Number.MAX_SAFE_INTEGER,
            port: is.spec.engine.port,
            ...(t !== undefined ? { host: t.host, probe: await driver.probe(t, timeoutMs) } : {}),
            ...(label !== undefined ? { label } : {}),
          };
        }),
      );
    const sentinelManaged = is.spec.engine.replication?.sentinel !== undefined;
    // A spread shard: nothing here may make a primary — no bootstrap promotion (role-plan.ts), no
    // split-brain guard (it keeps one claimant and wires the others to it), no MariaDB failover or
    // fencing. Labels still follow what the engines report.
    const spread = is.spec.spread;
    const claimantsOf = (ms: MemberView[]): MemberView[] => ms.filter((m) => m.probe?.reachable === true && m.probe.role === 'primary');
    const decide = async (members: MemberView[]): Promise<RoleDecision> => {
      const claimants = claimantsOf(members);
      // Under Sentinel, Sentinel is the guard: while a failover is half done (the promoted replica
      // and the old primary both report master) the address Sentinel names is the primary.
      let chosen: string | undefined;
      if (sentinelManaged && claimants.length > 1) {
        const addr = await this.sentinelView(is);
        chosen = claimants.find((m) => addr !== undefined && m.host === addr.host && m.port === addr.port)?.podName;
      }
      return decideRoles(members, { sentinelManaged, ...(chosen !== undefined ? { guard: () => chosen } : {}), ...(spread !== undefined ? { spread } : {}) });
    };
    // What the split-brain guard and the MariaDB keeper act on: each probed engine and its label.
    const engineViews = (ms: MemberView[]): Array<{ target: EngineTarget; probe: ProbeResult; labelledPrimary: boolean }> =>
      ms.flatMap((m) => {
        const t = targets.get(m.podName);
        return t !== undefined && m.probe !== undefined ? [{ target: t, probe: m.probe, labelledPrimary: m.label === 'primary' }] : [];
      });
    let members = await probeAll();
    let decision = await decide(members);
    if (decision.promote !== undefined || decision.follow.length > 0) {
      await this.wire(is, targets, decision.promote, decision.follow);
      // Label from what the engines report after the wiring, not from what we asked for.
      members = await probeAll();
      decision = await decide(members);
    }
    // Under Sentinel, Sentinel itself turns a stale primary into a replica; the guard would fight it.
    if (!sentinelManaged && spread === undefined && decision.primary === undefined && claimantsOf(members).length > 1) {
      // Two engines claim primary: demote all but one IN THE ENGINE, then label from a fresh probe.
      const guarded = await guardSplitBrain(is.spec.engine, engineViews(members));
      if (guarded !== undefined) {
        this.ctx.events.emit(is, guarded.event.type, guarded.event.reason, 'Demote', guarded.event.message);
        members = await probeAll();
        decision = await decide(members);
      }
    }
    if (is.spec.engine.type === 'mysql' && !sentinelManaged && spread === undefined) {
      // MariaDB has no Sentinel: failover after failureThreshold lost probes, and fencing of servers
      // that replicate from nobody (UPDATES: controller/engines/mysql/failover.ts).
      const events = await keepMysqlRoles(
        this.ctx.memory.mysqlKeepers,
        key,
        is.spec.engine,
        engineViews(members),
        is.spec.roleProbe?.failureThreshold ?? 3,
      );
      if (events.length > 0) {
        for (const e of events) this.ctx.events.emit(is, e.type, e.reason, 'Failover', e.message);
        members = await probeAll();
        decision = await decide(members);
      }
    }
    if (sentinelManaged) await this.keepElectable(is, pods, targets, members, decision.primary);
    if (is.spec.engine.type === 'mysql') await this.placeSemiSync(is, driver, targets, members, decision.primary);
    for (const w of decision.warnings) {
      this.ctx.log.warn({ instanceSet: key }, w);
      this.ctx.events.emit(is, 'Warning', 'SplitBrain', 'Probe', w);
    }
    this.noteWaiting(is, key, decision.waiting);
    const loop = this.loops.get(key);
    if (loop !== undefined) loop.seen = seenRoles(members);
    for (const change of decision.labels) await this.label(is, namespace, change.podName, change.role);
    // The primary carries the prevent-delete marker the admission guard protects it by; a pod whose
    // label is right but whose marker is not (labelled before the guard existed) gets it now.
    const relabelled = new Set(decision.labels.map((c) => c.podName));
    for (const p of pods) {
      const role = p.metadata.labels?.[LABELS.role] as Role | undefined;
      const marked = p.metadata.annotations?.[GUARD_ANNOTATIONS.preventDelete] === 'true';
      if (!relabelled.has(p.metadata.name) && (role === 'primary') !== marked) await this.writeRole(namespace, p.metadata.name, role);
    }
    // A spread shard waiting for the authority is not "in motion": probe it at the normal period.
    if (decision.waiting !== undefined) return decision.labels.length > 0;
    return decision.labels.length > 0 || decision.warnings.length > 0 || claimantsOf(members).length !== 1 || members.some((m) => m.probe?.reachable === true && m.label === undefined);
  }

  /** A Warning Event when a spread shard starts (or changes why it keeps) waiting; once per reason, not every probe. */
  private noteWaiting(is: InstanceSet, key: string, waiting: string | undefined): void {
    if (waiting === undefined) {
      this.waiting.delete(key);
      return;
    }
    if (this.waiting.get(key) === waiting) return;
    this.waiting.set(key, waiting);
    this.ctx.log.warn({ instanceSet: key }, waiting);
    this.ctx.events.emit(is, 'Warning', 'WaitingForFederation', 'Probe', waiting);
  }

  /**
   * Under Sentinel: replicas that do not replicate from the primary are unelectable until they do
   * (controller/update/electability.ts); values noted on pods — by that, or by a switchover a
   * restart cut off — are restored once the replica is synced.
   */
  private async keepElectable(is: InstanceSet, pods: KubeObject[], targets: Map<string, EngineTarget>, members: MemberView[], primaryPod: string | undefined): Promise<void> {
    const namespace = is.metadata.namespace ?? 'default';
    const p = members.find((m) => m.podName === primaryPod && m.probe?.reachable === true && m.probe.role === 'primary');
    const { unelect: down, restore } = electabilityChanges(members, p?.host !== undefined ? { host: p.host, port: p.port } : undefined, pods);
    const made = await unelect(this.ctx.client, namespace, down, targets);
    if (made.length > 0) this.ctx.events.emit(is, 'Normal', 'Unelectable', 'Protect', `replica-priority 0 on ${made.join(', ')} while it does not replicate from the primary: Sentinel must not promote a replica without the acknowledged writes`);
    const restored = await restoreNoted(this.ctx.client, namespace, pods, targets, restore);
    if (restored.length > 0) this.ctx.events.emit(is, 'Normal', 'Electable', 'Protect', `restored replica-priority on ${restored.join(', ')}: it replicates from the primary again`);
  }

  /** MariaDB semi-sync: the primary side on the primary only (controller/engines/mysql/semisync.ts). */
  private async placeSemiSync(is: InstanceSet, driver: ServerDriver, targets: Map<string, EngineTarget>, members: MemberView[], primaryPod: string | undefined): Promise<void> {
    const fix = semiSyncFixes(members, primaryPod, is.spec.engine.replication?.mode === 'semi-sync');
    const primary = primaryPod !== undefined ? targets.get(primaryPod) : undefined;
    if (fix.enableOn !== undefined && primary !== undefined && (await driver.promote(primary, is.spec.engine))) {
      this.ctx.events.emit(is, 'Normal', 'SemiSync', 'Wire', `semi-sync primary side switched on on ${fix.enableOn} (it came back with it off)`);
    }
    for (const pod of fix.disableOn) {
      const t = targets.get(pod);
      // follow() of a replica already wired to the primary only corrects its flags.
      if (t !== undefined && primary !== undefined && (await driver.follow(t, primary, is.spec.engine))) {
        this.ctx.events.emit(is, 'Normal', 'SemiSync', 'Wire', `semi-sync primary side switched off on secondary ${pod}`);
      }
    }
  }

  /** The primary address the shard's sentinels report (first that answers). */
  private async sentinelView(is: InstanceSet): Promise<{ host: string; port: number } | undefined> {
    const ref = is.spec.engine.replication?.sentinel;
    const namespace = is.metadata.namespace ?? 'default';
    const sentinelSet = ref !== undefined ? this.ctx.caches.instanceSets.get(namespace, ref.instanceSet) : undefined;
    if (ref === undefined || sentinelSet === undefined) return undefined;
    const pods = this.ctx.caches.pods.byLabel(namespace, sentinelSet.metadata.name);
    for (const t of (await engineTargets(this.creds, sentinelSet, pods)).values()) {
      try {
        const addr = await sentinelPrimary(t, ref.masterName, 1000);
        if (addr !== undefined) return addr;
      } catch {
        // this sentinel does not answer: ask the next
      }
    }
    return undefined;
  }

  private async wire(is: InstanceSet, targets: Map<string, EngineTarget>, promote: string | undefined, follow: Array<{ replica: string; primary: string }>): Promise<void> {
    const driver = this.driver(is.spec.engine.type);
    if (driver === undefined) return;
    if (promote !== undefined) {
      const t = targets.get(promote);
      if (t !== undefined && (await driver.promote(t, is.spec.engine))) {
        this.ctx.events.emit(is, 'Normal', 'Bootstrap', 'Promote', `made ${promote} the primary (lowest ordinal of a new set)`);
      }
    }
    for (const f of follow) {
      const r = targets.get(f.replica);
      const p = targets.get(f.primary);
      if (r === undefined || p === undefined) continue;
      if (await driver.follow(r, p, is.spec.engine)) {
        this.ctx.events.emit(is, 'Normal', 'Wired', 'Follow', `${f.replica} now replicates from ${f.primary}`);
      }
    }
  }

  /**
   * The role label and, on the primary only, the prevent-delete marker, in one write: applied
   * together, so a later apply without the marker (the pod became a secondary) removes it.
   */
  private async writeRole(namespace: string, podName: string, role: Role | undefined): Promise<void> {
    const path = resourcePath('Pod', namespace, podName);
    const marker = GUARD_ANNOTATIONS.preventDelete;
    if (role === undefined) {
      await this.ctx.client.mergePatch(path, { metadata: { labels: { [LABELS.role]: null }, annotations: { [marker]: null } } }, FIELD_MANAGER_CONTROLLER);
    } else {
      const annotations = role === 'primary' ? { annotations: { [marker]: 'true' } } : {};
      await this.ctx.client.apply(path, { apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, namespace, labels: { [LABELS.role]: role }, ...annotations } }, FIELD_MANAGER_CONTROLLER);
    }
  }

  private async label(is: InstanceSet, namespace: string, podName: string, role: Role | undefined): Promise<void> {
    await this.writeRole(namespace, podName, role);
    this.ctx.metrics.roleChanges.inc({ instanceset: is.metadata.name, role: role ?? 'none' });
    this.ctx.log.info({ instanceSet: `${namespace}/${is.metadata.name}`, pod: podName, role: role ?? null }, 'role label changed');
    const pod = this.ctx.caches.pods.get(namespace, podName);
    if (pod !== undefined) this.ctx.events.emit(pod, 'Normal', 'RoleChanged', 'Label', `role label set to ${role ?? '(none)'} from the engine's report`);
  }

  /** Every sentinel monitors each shard it watches; +switch-master kicks the shard's probe at once. */
  private async sentinelTick(is: InstanceSet): Promise<void> {
    const namespace = is.metadata.namespace ?? 'default';
    const pods = this.ctx.caches.pods.byLabel(namespace, is.metadata.name).filter((p) => podStatus(p).podIP !== undefined);
    const sentinels = [...(await engineTargets(this.creds, is, pods)).values()];
    const key = keyOf(namespace, is.metadata.name);
    const loop = this.loops.get(key);
    const ids = sentinels.map((s) => `${s.host}:${s.port}`).sort().join(',');
    if (loop !== undefined && loop.sentinelsWatched !== ids) {
      await loop.switchWatch?.close();
      const monitors = is.spec.engine.monitors ?? [];
      loop.switchWatch = watchSwitchMaster(sentinels, (masterName) => {
        const m = monitors.find((x) => x.masterName === masterName);
        if (m !== undefined) this.kick(keyOf(namespace, m.instanceSet));
      });
      loop.sentinelsWatched = ids;
    }
    for (const m of is.spec.engine.monitors ?? []) {
      const server = this.ctx.caches.instanceSets.get(namespace, m.instanceSet);
      const primaryName = server?.status?.primary;
      const primaryPod = primaryName !== undefined ? this.ctx.caches.pods.get(namespace, primaryName) : undefined;
      const ip = primaryPod !== undefined ? podStatus(primaryPod).podIP : undefined;
      if (server === undefined || primaryName === undefined || ip === undefined) continue; // no primary yet
      const primary = await this.creds.target(namespace, server.spec.engine, { podName: primaryName, host: ip, port: m.port });
      for (const s of sentinels) {
        try {
          const changed = await ensureMonitor(s, m.masterName, primary, m.quorum, {
            downAfterMs: SENTINEL_TIMING.downAfterMs,
            failoverTimeoutMs: SENTINEL_TIMING.failoverTimeoutMs,
            parallelSyncs: SENTINEL_TIMING.parallelSyncs,
            ...(primary.password !== undefined ? { authPass: primary.password } : {}),
            ...(primary.username !== undefined ? { authUser: primary.username } : {}),
          });
          if (changed) this.ctx.events.emit(is, 'Normal', 'Monitor', 'Monitor', `${s.podName} monitors ${m.masterName} at ${primaryName}`);
        } catch (err) {
          this.ctx.log.warn({ sentinel: s.podName, master: m.masterName, err: err instanceof Error ? err.message : String(err) }, 'ensureMonitor failed');
        }
      }
    }
  }
}
