// Gathers the status set of one spread shard for decideFederatedShard: from every member cluster
// holding part of it, the server InstanceSet (engine spec, credentials, what the manager published
// there) and its pods, then every engine probed directly over the pod network (flat pod routing or
// Multi-Cluster Services: docs/federation.md). A member cluster whose API server does not answer
// within MEMBER_TIMEOUT_MS is not a member cluster whose engines are gone: its pods are probed at
// their last known addresses with their last known credentials, so losing an API server alone
// never causes a failover.
import type { FederationShard, InstanceSet, KubeObject } from '../../schemas/types/index.js';
import { LABELS } from '../../schemas/types/index.js';
import { CredentialsReader } from '../engines/credentials.js';
import type { Engine, EngineTarget } from '../engines/types.js';
import { ordinalOf } from '../update/plan.js';
import { isReady } from '../reconcile/instanceset/pods.js';
import { engineTargets } from '../reconcile/instanceset/targets.js';
import { resourcePath } from '../runtime/kube.js';
import type { FedMember } from './decide.js';
import type { MemberAccess } from './members.js';

/** Bound of one member cluster's API reads per round: an API server that hangs must not stall the shard. */
export const MEMBER_TIMEOUT_MS = 3_000;

/** What the manager last saw of one member cluster's part of a shard (its memory across rounds). */
export interface MemberSight {
  is: InstanceSet;
  targets: Map<string, EngineTarget>;
  ready: Map<string, boolean>;
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
      const targets = await engineTargets(new CredentialsReader(access.core), is, pods);
      return { is, targets, ready: new Map(pods.map((p) => [p.metadata.name, isReady(p)])) };
    })(),
    MEMBER_TIMEOUT_MS,
    `member cluster ${access.name}`,
  );
}

export async function observeShard(opts: {
  namespace: string;
  shard: FederationShard;
  members: Map<string, MemberAccess>;
  engine: (type: InstanceSet['spec']['engine']['type']) => Engine | undefined;
  memory: Map<string, MemberSight>;
}): Promise<ShardObservation> {
  const { namespace, shard } = opts;
  const perMember = await Promise.all(
    shard.members.map(async (m): Promise<MemberObservation> => {
      const access = opts.members.get(m.memberCluster);
      const last = opts.memory.get(m.memberCluster);
      if (access === undefined) return { memberCluster: m.memberCluster, apiReachable: false, error: `no cluster Secret names member cluster ${m.memberCluster}`, ...(last !== undefined ? { sight: last } : {}) };
      try {
        const sight = await readMember(access, namespace, shard.name);
        opts.memory.set(m.memberCluster, sight);
        return { memberCluster: m.memberCluster, apiReachable: true, sight };
      } catch (err) {
        return { memberCluster: m.memberCluster, apiReachable: false, error: err instanceof Error ? err.message : String(err), ...(last !== undefined ? { sight: last } : {}) };
      }
    }),
  );
  const is = perMember.find((o) => o.apiReachable && o.sight !== undefined)?.sight?.is ?? perMember.find((o) => o.sight !== undefined)?.sight?.is;
  const engine = is !== undefined ? opts.engine(is.spec.engine.type) : undefined;
  const timeoutMs = (is?.spec.roleProbe?.timeoutSeconds ?? 1) * 1000;
  const members = await Promise.all(
    perMember.flatMap((o) =>
      [...(o.sight?.targets.values() ?? [])].map(async (target): Promise<FedMember> => ({
        memberCluster: o.memberCluster,
        podName: target.podName,
        ordinal: ordinalOf(target.podName),
        target,
        ...(engine !== undefined ? { probe: await engine.probe(target, timeoutMs) } : {}),
      })),
    ),
  );
  members.sort((a, b) => a.ordinal - b.ordinal);
  return { members, perMember, ...(is !== undefined ? { is } : {}) };
}
