// Gathers the status set of one spread shard for decideFederatedShard: from every member cluster
// holding part of it, the server InstanceSet (engine spec, credentials, what the manager published
// there) and its pods, then every engine probed directly over the pod network (flat pod routing or
// Multi-Cluster Services: docs/federation.md). A member cluster whose API server does not answer
// within ROUND_BUDGET_MS is not a member cluster whose engines are gone: its pods are probed at
// their last known addresses with their last known credentials, so losing an API server alone
// never causes a failover. Its read goes on in the background (bounded by MEMBER_TIMEOUT_MS, one
// at a time per member cluster) and the round does not wait for it: a hanging API server must not
// slow the failure detector of the other member clusters' engines (measured: with rounds waiting
// the full 3 s bound, a lost member cluster was failed over after 14.6 s instead of ~3 rounds).
import type { FederationShard, InstanceSet, KubeObject } from '../../schemas/types/index.js';
import { LABELS } from '../../schemas/types/index.js';
import type { Engine, EngineTarget } from '../engines/types.js';
import { ordinalOf } from '../update/plan.js';
import { desiredPods } from '../reconcile/instanceset/desired.js';
import { isReady } from '../reconcile/instanceset/pods.js';
import { engineTargets } from '../reconcile/instanceset/targets.js';
import { resourcePath } from '../runtime/kube.js';
import type { FedMember } from './decide.js';
import type { MemberAccess } from './members.js';

/** Bound of one member cluster's API reads: an API server that hangs is retried after this. */
export const MEMBER_TIMEOUT_MS = 3_000;
/** How long a round waits for a member cluster's API reads before it goes on with what it last saw. */
export const ROUND_BUDGET_MS = 750;

/** What the manager last saw of one member cluster's part of a shard (its memory across rounds). */
export interface MemberSight {
  is: InstanceSet;
  targets: Map<string, EngineTarget>;
  ready: Map<string, boolean>;
  /** Pods whose dbtopo.dev/revision label is not their template's revision in the current spec. */
  outdated: Map<string, boolean>;
  /** The pods the member cluster's spec wants (desiredPods): a pod outside it is leaving. */
  wanted: Set<string>;
}

export interface MemberObservation {
  memberCluster: string;
  /** The API server answered this round. */
  apiReachable: boolean;
  error?: string;
  /** This round's, or the last known when the API server did not answer. */
  sight?: MemberSight;
}

export interface ShardObservation {
  members: FedMember[];
  perMember: MemberObservation[];
  /** The server InstanceSet's engine spec (from any member cluster that answered, or the last known). */
  is?: InstanceSet;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

/** One member cluster's InstanceSet, pods and engine targets (bounded). */
async function readMember(access: MemberAccess, namespace: string, shard: string): Promise<MemberSight> {
  return await within(
    (async () => {
      const is = (await access.client.get(resourcePath('InstanceSet', namespace, shard))) as InstanceSet | undefined;
      if (is === undefined) throw new Error(`InstanceSet ${namespace}/${shard} does not exist (not synced yet?)`);
      const pods = (await access.client.list<KubeObject>(resourcePath('Pod', namespace), { labelSelector: `${LABELS.instanceSet}=${shard}` })).items;
      const targets = await engineTargets(access.creds, is, pods);
      // Each pod's revision is computed from the spec just read (desiredPods, what the member
      // controller creates pods from), not taken from status: a status the member controller has
      // not rewritten since the spec changed would call every pod updated (the stale-status bug
      // class of Argo CD #29410). A pod is updated once its member cluster replaced it.
      const want = new Map(desiredPods(is).map((d) => [d.name, d.revision]));
      return {
        is,
        targets,
        ready: new Map(pods.map((p) => [p.metadata.name, isReady(p)])),
        outdated: new Map(pods.flatMap((p) => (want.has(p.metadata.name) ? [[p.metadata.name, p.metadata.labels?.[LABELS.revision] !== want.get(p.metadata.name)] as const] : []))),
        wanted: new Set(want.keys()),
      };
    })(),
    MEMBER_TIMEOUT_MS,
    `member cluster ${access.name}`,
  );
}

/** Per member cluster: what was last read, the read under way, and the last read's error. */
export interface SightMemory {
  sights: Map<string, MemberSight>;
  reading: Map<string, Promise<void>>;
  errors: Map<string, string>;
}

export const newSightMemory = (): SightMemory => ({ sights: new Map(), reading: new Map(), errors: new Map() });

export async function observeShard(opts: {
  namespace: string;
  shard: FederationShard;
  members: Map<string, MemberAccess>;
  engine: (type: InstanceSet['spec']['engine']['type']) => Engine | undefined;
  memory: SightMemory;
}): Promise<ShardObservation> {
  const { namespace, shard, memory } = opts;
  const perMember = await Promise.all(
    shard.members.map(async (m): Promise<MemberObservation> => {
      const name = m.memberCluster;
      const access = opts.members.get(name);
      if (access === undefined) {
        const last = memory.sights.get(name);
        return { memberCluster: name, apiReachable: false, error: `no cluster Secret names member cluster ${name}`, ...(last !== undefined ? { sight: last } : {}) };
      }
      let reading = memory.reading.get(name);
      if (reading === undefined) {
        reading = readMember(access, namespace, shard.name).then(
          (sight) => {
            memory.sights.set(name, sight);
            memory.errors.delete(name);
          },
          (err: unknown) => {
            memory.errors.set(name, err instanceof Error ? err.message : String(err));
          },
        );
        memory.reading.set(name, reading);
        void reading.finally(() => memory.reading.delete(name));
      }
      let timer: NodeJS.Timeout | undefined;
      const fresh = await Promise.race([reading.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ROUND_BUDGET_MS)))]).finally(() => clearTimeout(timer));
      const last = memory.sights.get(name);
      const error = !fresh ? `member cluster ${name}: its API server did not answer within ${ROUND_BUDGET_MS} ms (engines probed at their last known addresses)` : memory.errors.get(name);
      return { memberCluster: name, apiReachable: error === undefined, ...(error !== undefined ? { error } : {}), ...(last !== undefined ? { sight: last } : {}) };
    }),
  );
  const is = perMember.find((o) => o.apiReachable && o.sight !== undefined)?.sight?.is ?? perMember.find((o) => o.sight !== undefined)?.sight?.is;
  const engine = is !== undefined ? opts.engine(is.spec.engine.type) : undefined;
  const timeoutMs = (is?.spec.roleProbe?.timeoutSeconds ?? 1) * 1000;
  // Where the Federation places each global ordinal. A pod its member cluster's spec no longer
  // wants, or whose ordinal the Federation places elsewhere, is leaving (an ordinal moving between
  // member clusters, or scaled in): its member cluster keeps it until release.ts releases it, and
  // it is keyed `<pod>@<memberCluster>` — the pod replacing it elsewhere has the same name.
  const placement = placementOf(shard);
  const members = await Promise.all(
    perMember.flatMap((o) =>
      [...(o.sight?.targets.values() ?? [])].map(async (t): Promise<FedMember> => {
        const ordinal = ordinalOf(t.podName);
        const leaving = o.sight?.wanted.has(t.podName) !== true || placement.get(ordinal) !== o.memberCluster;
        const target = leaving ? { ...t, podName: `${t.podName}@${o.memberCluster}` } : t;
        return {
          memberCluster: o.memberCluster,
          podName: target.podName,
          ...(leaving ? { pod: t.podName, leaving: true } : {}),
          ordinal,
          target,
          ...(o.sight?.outdated.has(t.podName) === true ? { outdated: o.sight.outdated.get(t.podName)! } : {}),
          ...(engine !== undefined ? { probe: await engine.probe(target, timeoutMs) } : {}),
        };
      }),
    ),
  );
  members.sort((a, b) => a.ordinal - b.ordinal || Number(a.leaving === true) - Number(b.leaving === true));
  return { members, perMember, ...(is !== undefined ? { is } : {}) };
}

/** The Federation's spec of a shard: global ordinal → the member cluster holding it. */
export function placementOf(shard: FederationShard): Map<number, string> {
  return new Map(shard.members.flatMap((m) => m.ordinals.map((o) => [o, m.memberCluster] as const)));
}
