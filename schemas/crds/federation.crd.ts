// CustomResourceDefinition federations.dbtopo.dev (v1alpha1); schemas/types/federation.ts derives
// the Federation type from its schema. One Federation per (environment, topology) with at least
// one spread shard (a shard whose servers the compiler placed in several member clusters). It
// lives on the federation API server (rendered/<env>/_federation/, docs/federation.md): the spec
// is compiled from Git and names, per spread shard, every member cluster's part of it and each
// pod's cross-cluster name; the status is written by the federation manager only, the one
// authority that decides a spread shard's primary.
import type { KubeObject } from '../types/k8s.js';
import { atomicList, bool, conditions, int, mapList, namespacedCrd, obj, objectSchema, setList, str, strEnum } from './openapi.js';

const dateTime = (description: string) => ({ type: 'string' as const, format: 'date-time' as const, description });

/** A pod of a spread shard in one member cluster, as the federation manager names it. */
export const federationPodRef = obj('A pod in a member cluster.', {
  memberCluster: str('Member cluster the pod runs in (its name in the environment file).'),
  pod: str('Pod name (<instanceset>-<ordinal>; ordinals are global, so the name is unique across member clusters).'),
}, ['memberCluster', 'pod']);

const member = obj('The part of a spread shard one member cluster runs: an InstanceSet named like the shard in that member cluster.', {
  memberCluster: str('Member cluster name.'),
  ordinals: setList('Global ordinals of the servers this member cluster runs.', int('An ordinal.', { minimum: 0 })),
  pods: mapList('The servers, in ordinal order.', ['name'], obj('One server pod.', {
    name: str('Pod name.'),
    clusterSetName: str('DNS name other member clusters reach the pod by (Multi-Cluster Services, KEP-1645): <pod>.<member-cluster>.<headless Service>.<namespace>.svc.clusterset.local, served for the ServiceExport rendered with the set.'),
  }, ['name', 'clusterSetName'])),
}, ['memberCluster', 'ordinals', 'pods']);

const spec = obj(
  'The spread shards of one topology in one environment, as compiled from Git.',
  {
    topology: str('Topology the shards belong to.'),
    environment: str('Environment compiled for.'),
    engine: strEnum('Database engine.', ['redis', 'mysql']),
    memberClusters: atomicList('Member clusters holding servers of a spread shard, in rollout order (the canary first), as `dbtopo plan` prints it.', { type: 'string' as const }),
    shards: mapList('The spread shards.', ['name'], obj('One spread shard.', {
      name: str('The server InstanceSet of the shard: the same name in every member cluster.'),
      primaryService: str('The <shard>-primary Service in every member cluster; where the primary is not local, the federation manager writes its EndpointSlice.'),
      headlessService: str('The headless Service of the server InstanceSet, exported to the clusterset (ServiceExport of the same name).'),
      port: int('Server port.', { minimum: 1, maximum: 65535 }),
      members: mapList('Member clusters holding servers of the shard, in rollout order.', ['memberCluster'], member),
    }, ['name', 'primaryService', 'headlessService', 'port', 'members'])),
  },
  ['topology', 'environment', 'engine', 'memberClusters', 'shards'],
);

const shardStatus = obj('What the federation manager last decided and observed for one spread shard.', {
  name: str('Shard (server InstanceSet) name.'),
  state: str('The manager\'s named state of the shard, e.g. Healthy, NoPrimary, FailingOver, Fenced.'),
  message: str('Why the state is what it is.'),
  primary: federationPodRef,
  observedAt: dateTime('When the engines were last probed for this status.'),
  members: mapList('Per member cluster.', ['memberCluster'], obj('One member cluster\'s part of the shard.', {
    memberCluster: str('Member cluster name.'),
    reachable: bool('Whether the manager reached the member cluster\'s API server and engines at observedAt.'),
    ready: int('Ready server pods there.', { minimum: 0 }),
    pods: mapList('Each server pod there.', ['name'], obj('One pod.', {
      name: str('Pod name.'),
      role: str('Role the engine reports (primary, secondary) or empty when it did not answer.'),
      ready: bool('Pod readiness.'),
    }, ['name'])),
    message: str('Detail, e.g. why it is unreachable.'),
  }, ['memberCluster'])),
}, ['name']);

const stepStatus = obj('One step of the change DAG (`dbtopo plan`, compiler/rollout/spread-steps.ts) the manager executes, its state judged from what the manager observes now.', {
  id: str('Step id as the plan prints it: <action>@<member cluster>, e.g. update-secondaries@prod-eu-west, switchover@_federation.'),
  action: str('The plan\'s action, e.g. update-secondaries, switchover, update-primary.'),
  memberCluster: str('Member cluster the step runs in, or _federation for the steps of the whole shard.'),
  shard: str('Shard the step acts on, when only one shard is in it.'),
  state: str('Done, Running, Waiting (has work but waits for the step before it; its member cluster\'s update is held) or Pending.'),
  reason: str('Machine-readable reason in CamelCase: what it waits for.'),
  message: str('Human-readable detail.'),
  startedAt: dateTime('When the step started.'),
  finishedAt: dateTime('When the step ended.'),
}, ['id', 'state']);

const status = obj('Written by the federation manager only (field manager dbtopo-federation).', {
  observedGeneration: { type: 'integer', format: 'int64', description: 'Generation last acted on.' },
  primary: str('One line for kubectl get: the global primary as <member-cluster>/<pod> with one spread shard, "<n>/<m>" shards with a primary with several.'),
  shards: mapList('State per spread shard.', ['name'], shardStatus),
  step: obj('The step in motion, for kubectl get: the first step of steps not Done, else the first shard not Healthy (<shard>/<state>).', {
    id: str('Step id.'),
    state: str('Pending, Running, Waiting, Done or Failed.'),
    message: str('What it does or waits for.'),
  }, ['id']),
  steps: mapList('The change DAG in execution order, with each step\'s state.', ['id'], stepStatus),
  conditions,
});

/** The schema of a Federation object; schemas/types/federation.ts derives its type. */
export const federationSchema = objectSchema(
  'Federation',
  'Federation: the spread shards of one topology in one environment (servers placed in several member clusters), the object the federation manager decides their primaries from, and its global status.',
  spec,
  status,
);

export const FEDERATION_PLURAL = 'federations';

export const federationCrd = namespacedCrd({
  kind: 'Federation',
  plural: FEDERATION_PLURAL,
  singular: 'federation',
  shortNames: ['dbfed'],
  subresources: { status: {} },
  columns: [
    { name: 'PRIMARY', type: 'string', jsonPath: '.status.primary' },
    { name: 'STEP', type: 'string', jsonPath: '.status.step.id' },
    { name: 'STATE', type: 'string', jsonPath: '.status.step.state' },
  ],
  schema: federationSchema,
}) satisfies KubeObject;
