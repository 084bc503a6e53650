// The role loop's scheduler: per server InstanceSet, a round (round.ts: snapshot → decideState →
// one operation at a time → settle) every roleProbe.periodSeconds, sooner while roles are in
// motion; between rounds, the role watch (role-watch.ts) starts a round at once when an engine
// reports another role than at the last round. Sentinel InstanceSets keep their monitors
// (sentinel-monitors.ts) instead.
import * as k8s from '@kubernetes/client-node';
import { LABELS, type InstanceSet, type KubeObject } from '../../schemas/types/index.js';
import { CredentialsReader } from '../engines/credentials.js';
import { engineFor, hasRoles as engineHasRoles, monitorsShards } from '../engines/index.js';
import type { Engine } from '../engines/types.js';
import { podStatus } from '../reconcile/instanceset/pods.js';
import { currentRecord } from '../reconcile/instanceset/switchover-store.js';
import { engineTargets } from '../reconcile/instanceset/targets.js';
import { keyOf, splitKey, type ControllerContext } from '../runtime/context.js';
import { kubeShardPorts } from './kube-shard.js';
import { roleChanged, seenRoles, type SeenRoles } from './role-watch.js';
import { runRound } from './round.js';
import { keepMonitors, type SwitchWatch } from './sentinel-monitors.js';

interface Loop extends SwitchWatch {
  timer: NodeJS.Timeout | undefined;
  running: Promise<boolean> | undefined;
  again: boolean;
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

const hasRoles = (is: InstanceSet): boolean => (is.spec.roles?.length ?? 0) > 0 && engineHasRoles(is.spec.engine.type);

export class RoleProbes {
  private readonly loops = new Map<string, Loop>();
  private readonly engines = new Map<string, Engine>();
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

  private engine(type: InstanceSet['spec']['engine']['type']): Engine | undefined {
    let e = this.engines.get(type);
    if (e === undefined) {
      e = engineFor(type);
      if (e !== undefined) this.engines.set(type, e);
    }
    return e;
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
    await Promise.all([...this.engines.values()].map((e) => e.close()));
  }

  instanceSetChanged(type: 'add' | 'update' | 'delete', is: InstanceSet): void {
    if (!this.started || this.stopped) return;
    const key = keyOf(is.metadata.namespace, is.metadata.name);
    if (type === 'delete' || !(hasRoles(is) || monitorsShards(is.spec.engine))) {
      // The failover bookkeeping (lost-probe history) of a set that is gone or has no roles.
      this.ctx.memory.probeHistory.delete(key);
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
    } else if (currentRecord(this.ctx, is)?.phase === 'Requested') {
      // A switchover was asked for (the update step, a user): carry it out now, not at the next period.
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
    if (is === undefined || is.spec.paused === true || monitorsShards(is.spec.engine) || this.ctx.memory.locks.isBusy(key)) return;
    const engine = this.engine(is.spec.engine.type);
    if (engine === undefined) return;
    const pods = this.ctx.caches.pods.byLabel(namespace, name);
    const targets = await engineTargets(this.creds, is, pods);
    const timeoutMs = (is.spec.roleProbe?.timeoutSeconds ?? 1) * 1000;
    const now = seenRoles(await Promise.all([...targets.values()].map(async (t) => ({ podName: t.podName, probe: await engine.probe(t, timeoutMs) }))));
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

  /** One round; true when roles are still in motion (look again soon). */
  private async tick(key: string): Promise<boolean> {
    const { namespace, name } = splitKey(key);
    const is = this.ctx.caches.instanceSets.get(namespace, name);
    if (is === undefined || is.spec.paused === true) return false;
    if (monitorsShards(is.spec.engine)) {
      const loop = this.loops.get(key);
      if (loop !== undefined) await keepMonitors(this.ctx, this.creds, is, loop, (k) => this.kick(k));
      return false;
    }
    const engine = this.engine(is.spec.engine.type);
    if (engine === undefined) return false;
    const started = performance.now();
    let probed = false;
    try {
      const ports = kubeShardPorts({
        ctx: this.ctx,
        creds: this.creds,
        engine,
        is,
        onSettle: (snap, roles) => {
          this.noteWaiting(is, key, roles.waiting);
          const loop = this.loops.get(key);
          if (loop !== undefined) loop.seen = seenRoles(snap.members);
        },
      });
      // A switchover is moving the role right now (controller/update/lock.ts): probe after it.
      const request = currentRecord(this.ctx, is);
      const out = await runRound(ports, { switching: this.ctx.memory.locks.isBusy(key), ...(request?.phase === 'Requested' ? { switchover: request } : {}) });
      probed = out.snapshot !== undefined;
      if (out.ran.length > 1) this.ctx.log.debug({ instanceSet: key, state: out.state, ran: out.ran }, 'role round');
      return out.unsettled;
    } finally {
      // A round that probed nothing (another round holds the engines) is not a probe round.
      if (probed) this.ctx.metrics.roleProbeRound.observe({ engine: is.spec.engine.type }, (performance.now() - started) / 1000);
    }
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
}
