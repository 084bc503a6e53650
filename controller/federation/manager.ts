// startFederationManager: the controller binary's federation mode (main.ts --mode federation).
// It runs against the federation API server, which holds the Federation objects Argo CD syncs
// from rendered/<env>/_federation/, and reaches every member cluster through its cluster Secret
// (members.ts). Leader-elected (a Lease on the federation API server): only the leader decides,
// so a spread shard has one authority even with several manager replicas.
//
// Each round (every periodMs), for every spread shard of every Federation, in parallel:
//   observe (gather.ts) → decide (decide.ts, pure) → one operation (operate.ts) → publish
//   (publish.ts: status.federation and the primary's EndpointSlice in every member cluster that
//   answers) → the Federation's status, written only when it changed.
// The member clusters' own controllers keep everything local (pods, claims, labels from what the
// engines report, rolling updates); for a spread shard they never promote, fail over or wire
// (roles/role-plan.ts), and they label primary only the pod status.federation names.
import * as os from 'node:os';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  API_VERSION,
  FIELD_MANAGER_FEDERATION,
  type EventReason,
  type Federation,
  type FederationShard,
  type FederationShardStatus,
  type FederationStatus,
} from '../../schemas/types/index.js';
import { FEDERATION_PLURAL } from '../../schemas/crds/federation.crd.js';
import { engineFor, type Engine } from '../engines/index.js';
import type { ProbeHistory } from '../roles/failover.js';
import { EventRecorder } from '../runtime/events.js';
import { KubeClient } from '../runtime/kube.js';
import { DEFAULT_LEASE, LeaderElector } from '../runtime/leader.js';
import { makeLogger } from '../runtime/log.js';
import { federationSteps, gateSwitchover, shardSteps, stepPods, StepMemory, type ShardStep } from './steps.js';
import { decideFederatedShard, recordRound, replicasRequired, type FedDecision, type FedOperation, type RecordedPrimary } from './decide.js';
import { newSightMemory, observeShard, placementOf, type ShardObservation, type SightMemory } from './gather.js';
import { MemberClusters, type MemberAccess } from './members.js';
import { operateFederated, receivedOf } from './operate.js';
import { publishEndpoints, publishStatus, type PublishMemo } from './publish.js';
import { decideRelease, type ReleaseDecision } from './release.js';

export const DEFAULT_FEDERATION_PERIOD_MS = 1_000;

export interface FederationManagerOptions {
  /** The federation API server: a kubeconfig path or a loaded KubeConfig (default: in-cluster / $KUBECONFIG). */
  kubeconfig?: string | k8s.KubeConfig;
  /** Namespace of the member clusters' cluster Secrets (and of the Lease). */
  secretsNamespace: string;
  /** Only Federations in this namespace (default: all). */
  namespace?: string;
  periodMs?: number;
  leaderElect?: boolean;
  leaseName?: string;
  identity?: string;
  lease?: Partial<typeof DEFAULT_LEASE>;
  log?: Logger;
  onLostLeadership?: () => void;
}

export interface RunningFederationManager {
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Rounds completed (tests wait on it). */
  rounds(): number;
  client: KubeClient;
}

interface ShardMemory {
  history: ProbeHistory;
  sights: SightMemory;
  engine?: Engine;
  /** `<primary>=<n>`: the min-replicas-to-write last set (Redis). */
  required?: string;
  /** The recorded primary's position seen at the last round (release.ts: a replica at or past it is synced). */
  mark?: { primary: string; offset: number };
  /** `<memberCluster>/<ordinal>` released and announced (one Released Event each). */
  released: Set<string>;
}

const fedPath = (ns?: string, name?: string, sub?: string): string =>
  `/apis/dbtopo.dev/v1alpha1${ns !== undefined ? `/namespaces/${encodeURIComponent(ns)}` : ''}/${FEDERATION_PLURAL}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}${sub !== undefined ? `/${sub}` : ''}`;

const REASON_OF: Record<FedOperation['kind'], EventReason | undefined> = {
  none: undefined,
  adopt: 'PrimaryAdopted',
  switchover: 'SwitchoverDone',
  bootstrap: 'Bootstrap',
  failover: 'Failover',
  demote: 'SplitBrain',
  wire: 'Wired',
};

/** A shard's state as the step state of status.step: something runs, or it waits. */
const STEP_STATE: Record<string, string> = { Bootstrapping: 'Running', FailingOver: 'Running', SplitBrain: 'Running', Updating: 'Running', Moving: 'Running', Degraded: 'Waiting', Waiting: 'Waiting' };

/** Status without its clock, to tell whether anything changed. */
const stable = (s: FederationStatus | undefined): string => JSON.stringify(s ?? {}, (k, v: unknown) => (k === 'observedAt' || k === 'lastTransitionTime' ? undefined : v));

export async function startFederationManager(opts: FederationManagerOptions): Promise<RunningFederationManager> {
  const log = opts.log ?? makeLogger();
  const kc = opts.kubeconfig instanceof k8s.KubeConfig ? opts.kubeconfig : new k8s.KubeConfig();
  if (!(opts.kubeconfig instanceof k8s.KubeConfig)) {
    if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  }
  const client = new KubeClient(kc);
  const identity = opts.identity ?? `${os.hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const events = new EventRecorder(client, identity, log);
  const members = new MemberClusters(client, opts.secretsNamespace);
  const memory = new Map<string, ShardMemory>();
  const memo: PublishMemo = new Map();
  /** The change DAG per shard (steps.ts): what status.steps shows, by `<ns>/<federation>/<shard>`. */
  const stepMemory = new StepMemory();
  const stepsNow = new Map<string, ShardStep[]>();
  const periodMs = opts.periodMs ?? DEFAULT_FEDERATION_PERIOD_MS;
  let leading = opts.leaderElect !== true;
  let stopped = false;
  let rounds = 0;
  let loop: Promise<void> | undefined;

  const shardMemory = (key: string): ShardMemory => {
    let m = memory.get(key);
    if (m === undefined) memory.set(key, (m = { history: { history: new Map() }, sights: newSightMemory(), released: new Set() }));
    return m;
  };

  async function writeStatus(fed: Federation, status: FederationStatus): Promise<void> {
    await client.apply(
      fedPath(fed.metadata.namespace, fed.metadata.name, 'status'),
      { apiVersion: API_VERSION, kind: 'Federation', metadata: { name: fed.metadata.name, namespace: fed.metadata.namespace }, status },
      FIELD_MANAGER_FEDERATION,
    );
  }

  /** One shard's round; returns its new status entry. `record` writes a new primary durably first. */
  async function shardRound(access: Map<string, MemberAccess>, fed: Federation, shard: FederationShard, prev: FederationShardStatus | undefined, record: (s: FederationShardStatus) => Promise<void>): Promise<FederationShardStatus> {
    const ns = fed.metadata.namespace ?? 'default';
    const mem = shardMemory(`${ns}/${fed.metadata.name}/${shard.name}`);
    const obs = await observeShard({ namespace: ns, shard, members: access, engine: (t) => (mem.engine ??= engineFor(t)), memory: mem.sights });
    const now = new Date().toISOString();
    const base = (state: string, message: string, primary?: RecordedPrimary): FederationShardStatus => ({
      name: shard.name,
      state,
      message,
      ...(primary !== undefined ? { primary } : {}),
      observedAt: now,
      members: memberStatus(shard, obs),
    });
    if (obs.is === undefined || mem.engine === undefined) {
      const why = obs.perMember.map((m) => `${m.memberCluster}: ${m.error ?? 'no server InstanceSet'}`).join('; ');
      return base('Waiting', `no member cluster shows the shard's servers yet (${why})`, prev?.primary);
    }
    const engine = mem.engine;
    const threshold = obs.is.spec.roleProbe?.failureThreshold ?? 3;
    let recorded: RecordedPrimary | undefined = prev?.primary;
    // Members are keyed by podName (decide.ts): a leaving pod is `<pod>@<memberCluster>`; the record names the pod.
    const keyOf = (r: RecordedPrimary | undefined): string | undefined =>
      r === undefined ? undefined : (obs.members.find((m) => m.memberCluster === r.memberCluster && (m.pod ?? m.podName) === r.pod)?.podName ?? r.pod);
    const refOf = (key: string): RecordedPrimary | undefined => {
      const m = obs.members.find((x) => x.podName === key);
      return m === undefined ? undefined : { memberCluster: m.memberCluster, pod: m.pod ?? m.podName };
    };
    const recKey = keyOf(recorded);
    const keyed = recorded !== undefined ? { memberCluster: recorded.memberCluster, pod: recKey! } : undefined;
    const recMember = obs.members.find((m) => m.podName === recKey);
    const received = recMember?.probe?.reachable === true ? undefined : await receivedOf(engine, obs.members).catch(() => undefined);
    const watched = recordRound(mem.history, obs.members, keyed, threshold);
    const decided: FedDecision = decideFederatedShard({
      members: obs.members,
      expectedPods: shard.members.reduce((n, m) => n + m.ordinals.length, 0),
      ...(keyed !== undefined ? { recorded: keyed } : {}),
      failureThreshold: threshold,
      history: mem.history,
      watched,
      ...(received !== undefined ? { received } : {}),
      semiSync: obs.is.spec.engine.replication?.mode === 'semi-sync',
    });
    // Leaving pods (an ordinal moving to another member cluster, or scaled in): which may go now,
    // and whether the primary must be handed over first (release.ts). The hand-over is this
    // round's one operation only when decide.ts has nothing to do. Decided before the steps, which
    // show why a move or a scale-in waits (gateSwitchover below changes only a rolling update's
    // decision, never a Healthy one with nothing to do: `healthy` is the same after it).
    const placement = placementOf(shard);
    const release: ReleaseDecision = decideRelease({
      members: obs.members,
      ...(recKey !== undefined ? { recorded: recKey } : {}),
      placement,
      ...(mem.mark !== undefined ? { mark: mem.mark } : {}),
      healthy: decided.state === 'Healthy' && decided.op.kind === 'none',
    });
    // The change DAG (steps.ts, the plan's spreadSteps): each step judged on this round's
    // observation and release decision, before the operation (a switchover decided now shows as
    // running, also in the intent written first); a rolling update's switchover acts only once its
    // step may run (gateSwitchover); a member cluster whose step may not run yet is held (publish below).
    const stepKey = `${ns}/${fed.metadata.name}/${shard.name}`;
    const dag = shardSteps({
      shard: shard.name,
      memberOrder: fed.spec.memberClusters,
      members: shard.members.map((m) => m.memberCluster),
      pods: stepPods(obs.members, (mc, pod) => obs.perMember.find((o) => o.memberCluster === mc)?.sight?.ready.get(pod), recKey),
      expected: shard.members.flatMap((m) => m.pods.map((p) => ({ memberCluster: m.memberCluster, pod: p.name }))),
      ...(recMember !== undefined ? { primary: recMember.pod ?? recMember.podName } : {}),
      decision: { switchover: decided.op.kind === 'switchover', reason: decided.op.reason },
      release,
      ...stepMemory.inputOf(stepKey),
    });
    stepsNow.set(stepKey, stepMemory.record(stepKey, dag));
    const decision = gateSwitchover(decided, dag);
    mem.mark = recMember?.probe?.reachable === true && recMember.probe.role === 'primary' && recMember.probe.offset !== undefined ? { primary: recMember.podName, offset: recMember.probe.offset } : undefined;
    const moving = release.held.length > 0 || release.released.length > 0;
    const op: FedOperation = decision.op.kind === 'none' && release.switchover !== undefined ? { kind: 'switchover', ...release.switchover } : decision.op;
    const state = op.kind === 'switchover' && op !== decision.op ? 'Moving' : decision.state === 'Healthy' && moving ? 'Moving' : decision.state;
    const said = op === decision.op && moving ? `${decision.op.reason}; ${[...release.held.map((h) => h.reason), ...release.released.map((r) => `${r.pod} (${r.memberCluster}) released`)].join('; ')}` : op.reason;
    const primaryAfter = op === decision.op ? decision.primary : op.kind === 'switchover' ? op.to : undefined;
    const outcome = await operateFederated(
      {
        engine,
        spec: obs.is.spec.engine,
        record: async (p) => {
          await record(base(state, op.reason, p));
          recorded = p;
        },
      },
      obs.members,
      op,
    );
    const reason = REASON_OF[op.kind];
    if (reason !== undefined && (outcome.acted || outcome.error !== undefined)) {
      const note = `${shard.name}: ${op.reason}${outcome.steps.length > 0 ? `; ${outcome.steps.join('; ')}` : ''}${outcome.error !== undefined ? `; failed: ${outcome.error}` : ''}`;
      events.emit(fed, outcome.error !== undefined || op.kind === 'failover' || op.kind === 'demote' ? 'Warning' : 'Normal', reason, 'Federate', note);
      log.info({ federation: `${ns}/${fed.metadata.name}`, shard: shard.name, state, op: op.kind }, note);
    }
    if (op.kind === 'adopt' || op.kind === 'bootstrap' || op.kind === 'failover' || op.kind === 'switchover') {
      if (outcome.error === undefined && primaryAfter !== undefined) recorded = refOf(primaryAfter) ?? { memberCluster: '', pod: primaryAfter };
    }
    // Released only when no primary moved this round (the next round decides on what the engines say then).
    const released = outcome.acted && op.kind !== 'wire' && op.kind !== 'none' ? [] : release.released;
    for (const r of released) {
      const k = `${r.memberCluster}/${r.ordinal}`;
      if (mem.released.has(k)) continue;
      mem.released.add(k);
      const note = `${shard.name}: ${r.pod} (${r.memberCluster}, ordinal ${r.ordinal}) released: ${placement.get(r.ordinal) !== undefined ? `its new pod in ${placement.get(r.ordinal)} is synced` : 'scaled in'} and it is not the primary; ${r.memberCluster} may remove it`;
      events.emit(fed, 'Normal', 'Released', 'Federate', note);
      log.info({ federation: `${ns}/${fed.metadata.name}`, shard: shard.name }, note);
    }
    for (const k of [...mem.released]) if (!obs.members.some((m) => m.leaving === true && `${m.memberCluster}/${m.ordinal}` === k)) mem.released.delete(k);
    // Fencing of a Redis primary cut off with its local replicas (decide.ts replicasRequired).
    const recNowKey = keyOf(recorded);
    const recNow = recorded !== undefined && primaryAfter === recNowKey ? obs.members.find((m) => m.podName === recNowKey) : undefined;
    if (engine.requireReplicas !== undefined && recNow?.target !== undefined && recNow.probe?.role === 'primary' && outcome.error === undefined) {
      const n = replicasRequired(obs.members, recNow);
      if (n !== undefined && mem.required !== `${recNow.podName}=${n}`) {
        await engine.requireReplicas(recNow.target, n).then(
          () => (mem.required = `${recNow.podName}=${n}`),
          (err: unknown) => log.warn({ shard: shard.name, err: err instanceof Error ? err.message : String(err) }, 'could not set the replicas the primary needs; retrying next round'),
        );
      }
    }
    const gate = (memberCluster: string, is: { metadata: { generation?: number } }): { updateGeneration: number } | { updateWaiting: string } => {
      const waiting = dag.hold.get(memberCluster);
      return waiting === undefined && is.metadata.generation !== undefined ? { updateGeneration: is.metadata.generation } : { updateWaiting: waiting ?? 'no generation observed yet' };
    };
    // Publish the recorded primary (never an undecided one) to every member cluster that answers.
    const p = recorded !== undefined ? obs.members.find((m) => m.podName === recNowKey) : undefined;
    const published = p?.target !== undefined ? { memberCluster: p.memberCluster, pod: p.pod ?? p.podName, host: p.target.host, port: p.target.port } : undefined;
    const message = outcome.error !== undefined ? `${said}; failed: ${outcome.error}` : said;
    await Promise.all(
      obs.perMember.map(async (m) => {
        const a = access.get(m.memberCluster);
        if (!m.apiReachable || a === undefined || m.sight === undefined) return;
        const free = released.filter((r) => r.memberCluster === m.memberCluster).map((r) => r.ordinal).sort((x, y) => x - y);
        try {
          await publishStatus(a, m.sight.is, {
            ...(recorded !== undefined ? { primary: recorded } : {}),
            decidedAt: now,
            state,
            message,
            memberCluster: m.memberCluster,
            ...(free.length > 0 ? { released: free } : {}),
            ...gate(m.memberCluster, m.sight.is),
          });
          await publishEndpoints(a, ns, shard, published, memo);
        } catch (err) {
          log.warn({ memberCluster: m.memberCluster, shard: shard.name, err: err instanceof Error ? err.message : String(err) }, 'could not publish the primary to the member cluster; retrying next round');
        }
      }),
    );
    return base(state, message, recorded);
  }

  async function federationRound(access: Map<string, MemberAccess>, fed: Federation): Promise<void> {
    const prevStatus = fed.status ?? {};
    const prevShards = new Map((prevStatus.shards ?? []).map((s) => [s.name, s]));
    const current = new Map(prevShards);
    const statusOf = (): FederationStatus => {
      const shards = fed.spec.shards.map((s) => current.get(s.name)).filter((s): s is FederationShardStatus => s !== undefined);
      const withPrimary = shards.filter((s) => s.primary !== undefined);
      // The change DAG (steps.ts): the plan's steps with their states, across the shards.
      const steps = federationSteps(fed.spec.shards.map((s) => ({ shard: s.name, steps: stepsNow.get(`${fed.metadata.namespace ?? 'default'}/${fed.metadata.name}/${s.name}`) ?? [] })));
      // The step in motion (kubectl get dbfed's STEP and STATE): the first step of the DAG not
      // Done, else the first shard not Healthy (a failover is no step of a change).
      const dagStep = steps.find((s) => s.state !== 'Done');
      const moving = shards.find((s) => s.state !== 'Healthy');
      const { step: _step, steps: _steps, ...rest } = prevStatus;
      return {
        ...rest,
        ...(fed.metadata.generation !== undefined ? { observedGeneration: fed.metadata.generation } : {}),
        primary: shards.length === 1 ? (withPrimary[0] !== undefined ? `${withPrimary[0].primary!.memberCluster}/${withPrimary[0].primary!.pod}` : '') : `${withPrimary.length}/${shards.length}`,
        shards,
        ...(dagStep !== undefined
          ? { step: { id: dagStep.id, state: dagStep.state, message: dagStep.message ?? '' } }
          : moving !== undefined
            ? { step: { id: `${moving.name}/${moving.state ?? ''}`, state: STEP_STATE[moving.state ?? ''] ?? 'Waiting', message: moving.message ?? '' } }
            : {}),
        ...(steps.length > 0 ? { steps } : {}),
      };
    };
    // Records are written one at a time (write-ahead of a new primary), the rest once at the end.
    let writing = Promise.resolve();
    const record = (s: FederationShardStatus): Promise<void> => {
      current.set(s.name, s);
      writing = writing.then(() => writeStatus(fed, statusOf()));
      return writing;
    };
    await Promise.all(
      fed.spec.shards.map(async (shard) => {
        try {
          current.set(shard.name, await shardRound(access, fed, shard, prevShards.get(shard.name), record));
        } catch (err) {
          log.warn({ federation: `${fed.metadata.namespace}/${fed.metadata.name}`, shard: shard.name, err: err instanceof Error ? err.message : String(err) }, 'federation round failed; retrying next round');
        }
      }),
    );
    await writing.catch(() => undefined);
    const next = statusOf();
    if (stable(next) !== stable(prevStatus)) await writeStatus(fed, next);
  }

  async function round(): Promise<void> {
    const access = await members.refresh();
    for (const e of members.errors) log.warn(e);
    const list = await client.list<Federation>(fedPath(opts.namespace));
    await Promise.all(
      list.items.map((fed) =>
        federationRound(access, fed).catch((err: unknown) => log.warn({ federation: `${fed.metadata.namespace}/${fed.metadata.name}`, err: err instanceof Error ? err.message : String(err) }, 'federation status not written; retrying next round')),
      ),
    );
  }

  const run = async (): Promise<void> => {
    while (!stopped) {
      const started = Date.now();
      if (leading) {
        try {
          await round();
          rounds++;
        } catch (err) {
          log.warn({ err: err instanceof Error ? err.message : String(err) }, 'federation round failed');
        }
      }
      const wait = Math.max(50, periodMs - (Date.now() - started));
      await new Promise((r) => setTimeout(r, wait));
    }
  };

  let elector: LeaderElector | undefined;
  if (opts.leaderElect === true) {
    elector = new LeaderElector(client, { namespace: opts.secretsNamespace, name: opts.leaseName ?? 'dbtopo-federation', identity, ...DEFAULT_LEASE, ...opts.lease }, log, {
      onStartedLeading: () => {
        log.info({ identity }, 'leading the federation');
        leading = true;
      },
      onStoppedLeading: () => {
        leading = false;
        if (!stopped) opts.onLostLeadership?.();
      },
    });
    elector.start();
  }
  loop = run();

  return {
    stop: async () => {
      stopped = true;
      await loop;
      await elector?.stop();
      members.close();
      for (const m of memory.values()) await m.engine?.close().catch(() => undefined);
      client.close();
    },
    isLeader: () => leading,
    rounds: () => rounds,
    client,
  };
}

function memberStatus(shard: FederationShard, obs: ShardObservation): NonNullable<FederationShardStatus['members']> {
  return shard.members.map((m) => {
    const o = obs.perMember.find((x) => x.memberCluster === m.memberCluster);
    const pods = obs.members.filter((x) => x.memberCluster === m.memberCluster);
    const ready = [...(o?.sight?.ready.entries() ?? [])].filter(([, r]) => r).length;
    return {
      memberCluster: m.memberCluster,
      reachable: o?.apiReachable === true,
      ready,
      pods: pods.map((x) => ({ name: x.pod ?? x.podName, role: x.probe?.reachable === true ? (x.probe.role ?? '') : '', ready: o?.sight?.ready.get(x.pod ?? x.podName) === true })),
      ...(o?.error !== undefined ? { message: o.error } : {}),
    };
  });
}
