// CustomResourceDefinition instancesets.dbtopo.dev (v1alpha1); schemas/types/instanceset.ts
// derives the InstanceSet type from its schema. Field names follow KubeBlocks' InstanceSet where
// the meaning is the same; the schema is written here, not copied.
import { MAX_INSTANCES } from '../fragments.js';
import { SWITCHOVER_PHASES } from '../types/events.js';
import { federationPodRef } from './federation.crd.js';
import type { KubeObject } from '../types/k8s.js';
import {
  namespacedCrd,
  objectSchema,
  immutable,
  podTemplate,
  withRules,
  atomicList,
  bool,
  conditions,
  int,
  mapList,
  obj,
  opaque,
  resources,
  setList,
  str,
  strEnum,
  strMap,
} from './openapi.js';

// Bounds on lists the CEL rules below iterate: the API server refuses a rule whose worst-case cost
// it cannot bound. The compiler renders one range per template (MAX_INSTANCES bounds templates).
const MAX_RANGES = 8;
const MAX_DISCRETE = 32;

const range = withRules(
  obj('A range start..end, inclusive.', { start: int('First ordinal.', { minimum: 0 }), end: int('Last ordinal.', { minimum: 0 }) }, ['start', 'end']),
  [{ rule: 'self.start <= self.end', message: 'an ordinal range must not end before it starts' }],
);

const ordinals = (description: string) =>
  withRules(
    obj(description, {
      ranges: { ...atomicList('Inclusive ranges of ordinals.', range), maxItems: MAX_RANGES },
      discrete: { ...setList('Single ordinals.', int('An ordinal.', { minimum: 0 })), maxItems: MAX_DISCRETE },
    }),
    [{ rule: `${disjointWithin('self')}`, message: 'ordinal ranges and single ordinals of one template must not overlap' }],
  );

/** CEL: the ranges and single ordinals of one ordinals object do not overlap each other. */
function disjointWithin(o: string): string {
  return (
    `(!has(${o}.ranges) || ${o}.ranges.all(a, ${o}.ranges.exists_one(b, a.start <= b.end && b.start <= a.end))) && ` +
    `(!has(${o}.ranges) || !has(${o}.discrete) || ${o}.discrete.all(d, ${o}.ranges.all(r, d < r.start || d > r.end)))`
  );
}

/** CEL: two ordinals objects share no ordinal. */
function disjoint(a: string, b: string): string {
  const rangesVsDiscrete = (x: string, y: string) => `(!has(${x}.discrete) || !has(${y}.ranges) || ${x}.discrete.all(d, ${y}.ranges.all(r, d < r.start || d > r.end)))`;
  return (
    `(!has(${a}.ranges) || !has(${b}.ranges) || ${a}.ranges.all(x, ${b}.ranges.all(y, x.end < y.start || y.end < x.start))) && ` +
    `${rangesVsDiscrete(a, b)} && ${rangesVsDiscrete(b, a)} && ` +
    `(!has(${a}.discrete) || !has(${b}.discrete) || ${a}.discrete.all(d, !(d in ${b}.discrete)))`
  );
}

const secretKeyRef = (description: string) =>
  obj(description, { name: str('Secret name.'), key: str('Key within the Secret.') }, ['name', 'key']);

const labelSelector = obj(
  'Label query over the pods this InstanceSet owns; must match the template labels.',
  {
    matchLabels: { ...strMap('Labels a pod must carry.'), maxProperties: 32, additionalProperties: { type: 'string', maxLength: 63 } },
    matchExpressions: atomicList('Set-based requirements.', obj('One requirement.', {
      key: str('Label key.'),
      operator: strEnum('Relation of key and values.', ['In', 'NotIn', 'Exists', 'DoesNotExist']),
      values: atomicList('Values for In / NotIn.', { type: 'string' }),
    }, ['key', 'operator'])),
  },
);

const engine = obj(
  'The engine the pods run and how it is wired; read by the controller\'s role probes and switchover.',
  {
    type: strEnum('Engine component.', ['redis', 'redis-sentinel', 'twemproxy', 'mysql', 'haproxy']),
    version: str('Engine version.'),
    port: int('Container port the engine listens on.', { minimum: 1, maximum: 65535 }),
    credentials: obj('Admin credentials, only as Secret references.', {
      username: secretKeyRef('Secret key holding the admin user name.'),
      password: secretKeyRef('Secret key holding the admin password.'),
    }, ['password']),
    replication: obj('Servers: how replicas follow the primary.', {
      mode: strEnum('Replication mode.', ['async', 'semi-sync']),
      sentinel: obj('The Sentinel InstanceSet that watches this shard.', {
        instanceSet: str('Sentinel InstanceSet name.'),
        masterName: str('Name the Sentinels monitor this shard under.'),
        quorum: int('Sentinels that must agree the primary is down.', { minimum: 1 }),
      }, ['instanceSet', 'masterName', 'quorum']),
    }, ['mode']),
    monitors: mapList('Sentinels: the shards they monitor.', ['masterName'], obj('One monitored shard.', {
      masterName: str('Monitored master name.'),
      instanceSet: str('Server InstanceSet of the shard.'),
      port: int('Server port.', { minimum: 1, maximum: 65535 }),
      quorum: int('Sentinels that must agree the primary is down.', { minimum: 1 }),
    }, ['masterName', 'instanceSet', 'port', 'quorum'])),
    backends: mapList('Proxies: the server InstanceSets behind them, one per shard.', ['shard'], obj('One backend shard.', {
      shard: str('Shard name.'),
      instanceSet: str('Server InstanceSet of the shard.'),
      port: int('Server port.', { minimum: 1, maximum: 65535 }),
    }, ['shard', 'instanceSet', 'port'])),
  },
  ['type', 'version', 'port'],
);

const spec = obj(
  'Desired pods of one component of one shard.',
  {
    replicas: int('Number of pods.', { minimum: 0 }),
    defaultTemplateOrdinals: ordinals('Ordinals of the default template; by default 0..replicas-1 minus those used by instance templates.'),
    selector: labelSelector,
    template: podTemplate,
    instances: { ...mapList('Heterogeneous instances: pods that differ from the default template.', ['name'], obj('One instance template.', {
      name: str('Instance template name.', { maxLength: 54 }),
      replicas: int('Pods of this template.', { minimum: 0 }),
      ordinals: ordinals('Ordinals these pods use.'),
      labels: strMap('Extra pod labels.'),
      annotations: strMap('Extra pod annotations.'),
      resources: resources('Resources replacing the template\'s for the engine container.'),
      nodeSelector: strMap('Extra node selector.'),
      zone: str('Zone these pods must run in (topology.kubernetes.io/zone).'),
      env: mapList('Extra environment variables of the engine container.', ['name'], obj('One variable.', { name: str('Variable name.'), value: str('Value.') }, ['name', 'value'])),
    }, ['name', 'replicas'])), maxItems: MAX_INSTANCES },
    volumeClaimTemplates: atomicList('PersistentVolumeClaims each pod gets, named <claim>-<pod>.', obj('One claim template.', {
      metadata: obj('Claim name and labels.', { name: str('Claim name.'), labels: strMap('Claim labels.'), annotations: strMap('Claim annotations.') }, ['name']),
      spec: opaque('core/v1 PersistentVolumeClaimSpec.'),
    }, ['metadata', 'spec'])),
    persistentVolumeClaimRetentionPolicy: obj('What happens to claims when the InstanceSet is deleted or scaled in.', {
      whenDeleted: strEnum('On deletion of the InstanceSet.', ['Retain', 'Delete']),
      whenScaled: strEnum('On scale-in.', ['Retain', 'Delete']),
    }, ['whenDeleted', 'whenScaled']),
    podManagementPolicy: strEnum('OrderedReady creates pods one by one; Parallel at once.', ['OrderedReady', 'Parallel']),
    parallelPodManagementConcurrency: int('Pods created at once under podManagementPolicy Parallel.', { minimum: 1 }),
    roles: mapList('Roles pods can hold; present on servers only.', ['name'], obj('One role.', {
      name: strEnum('Role name, written on pods as the dbtopo.dev/role label.', ['primary', 'secondary']),
      updatePriority: int('Higher is updated later: secondaries (1) before the primary (2).', { minimum: 0 }),
      participatesInQuorum: bool('Whether holders count towards the quorum.'),
      isExclusive: bool('At most one pod may hold an exclusive role at a time.'),
    }, ['name', 'updatePriority', 'participatesInQuorum', 'isExclusive'])),
    roleProbe: obj('How the controller asks the engine for each pod\'s role.', {
      periodSeconds: int('Seconds between probes.', { minimum: 1 }),
      timeoutSeconds: int('Seconds before a probe fails.', { minimum: 1 }),
      failureThreshold: int('Consecutive failures before a primary is considered lost.', { minimum: 1 }),
    }, ['periodSeconds', 'timeoutSeconds', 'failureThreshold']),
    spread: obj('Set on the servers of a shard spread over several member clusters: one authority across them decides the primary; this member cluster\'s controller never promotes a pod of it (bootstrap, failover, fencing).', {
      memberClusters: setList('Every member cluster holding servers of the shard.', { type: 'string' }),
    }, ['memberClusters']),
    memberUpdateStrategy: strEnum('Order of pod updates: Serial (secondaries, then primary), BestEffortParallel, Parallel.', ['Serial', 'BestEffortParallel', 'Parallel']),
    instanceUpdateStrategy: obj('Rolling update limits.', {
      rollingUpdate: obj('Rolling update.', {
        maxUnavailable: { anyOf: [{ type: 'integer' }, { type: 'string' }], 'x-kubernetes-int-or-string': true, description: 'Pods that may be unavailable during an update: a number or a percentage.' },
      }),
    }),
    minReadySeconds: int('Seconds a pod must be ready before it counts as available.', { minimum: 0 }),
    offlineInstances: setList('Pod names (<instanceset>-<ordinal>) taken out of service.', { type: 'string' }),
    paused: bool('Stop reconciling pods (status is still reported).'),
    serviceName: str('Headless Service giving the pods stable DNS names.'),
    engine,
  },
  ['replicas', 'selector', 'template', 'podManagementPolicy', 'memberUpdateStrategy', 'serviceName', 'engine'],
);

// What the API server refuses so that every InstanceSet it accepts is one the controller can run.
// Field-level immutability sits on the fields (below); rules over several fields sit on spec.
const specRules = [
  {
    rule: '!has(self.roles) || size(self.roles) == 0 || self.roles.filter(r, r.isExclusive).size() == 1',
    message: 'roles must hold exactly one exclusive role (the primary)',
  },
  {
    rule: '!has(self.selector.matchLabels) || self.selector.matchLabels.all(k, has(self.template.metadata) && has(self.template.metadata.labels) && k in self.template.metadata.labels && self.template.metadata.labels[k] == self.selector.matchLabels[k])',
    message: 'the pod template must carry every label of spec.selector.matchLabels, or the InstanceSet would not see its own pods',
  },
  {
    rule: `!has(self.instances) || !has(self.defaultTemplateOrdinals) || self.instances.all(i, !has(i.ordinals) || ${disjoint('i.ordinals', 'self.defaultTemplateOrdinals')})`,
    message: 'an instance template\'s ordinals must not overlap defaultTemplateOrdinals: two pods would get one name',
  },
  {
    rule: `!has(self.instances) || self.instances.all(i, self.instances.all(j, i.name == j.name || !has(i.ordinals) || !has(j.ordinals) || ${disjoint('i.ordinals', 'j.ordinals')}))`,
    message: 'the ordinals of two instance templates must not overlap: two pods would get one name',
  },
];
withRules(spec, specRules);
immutable(spec, 'selector', 'spec.selector is immutable: it would orphan the running pods; create a new InstanceSet (a new topology) instead');
immutable(spec, 'serviceName', 'spec.serviceName is immutable: every pod\'s DNS name would change; create a new InstanceSet (a new topology) instead');

const status = obj('Observed state, written by the controller.', {
  observedGeneration: { type: 'integer', format: 'int64', description: 'Generation last reconciled.' },
  replicas: int('Pods that exist.'),
  readyReplicas: int('Pods that are ready.'),
  availableReplicas: int('Pods ready for at least minReadySeconds.'),
  updatedReplicas: int('Pods at the update revision.'),
  currentRevision: str('Revision of the pods before the current update.'),
  updateRevision: str('Revision of the current template.'),
  membersStatus: mapList('Role and readiness of each pod.', ['podName'], obj('One pod.', {
    podName: str('Pod name.'),
    role: strEnum('Role the engine reports.', ['primary', 'secondary']),
    ready: bool('Pod readiness.'),
  }, ['podName', 'ready'])),
  primary: str('Pod the engine reports as primary.'),
  lastPrimary: str('The primary before the current one.'),
  switchover: obj('The last switchover: Requested (the update step or a user asked for it), Running once the role loop touches the engines, then Succeeded or Failed.', {
    from: str('Primary the switchover moves away from.'),
    to: str('Requested target (absent: the most advanced secondary).'),
    phase: strEnum('Where it stands.', [...SWITCHOVER_PHASES]),
    reason: str('Why it was requested.'),
    startedAt: { type: 'string', format: 'date-time', description: 'When it was requested.' },
    finishedAt: { type: 'string', format: 'date-time', description: 'When it ended.' },
    message: str('Failed: why; Succeeded: the outcome.'),
  }, ['from', 'phase', 'reason', 'startedAt']),
  selector: str('spec.selector as a string, for the scale subresource.'),
  federation: {
    ...obj('Spread shards only: the global primary as the federation manager decided it (docs/federation.md); written by the federation manager alone, with server-side apply under field manager dbtopo-federation. Unknown fields are kept.', {
      primary: federationPodRef,
      decidedAt: { type: 'string' as const, format: 'date-time' as const, description: 'When the manager decided this primary.' },
      state: str('The manager\'s named state of the shard, e.g. Healthy, NoPrimary, FailingOver.'),
      message: str('Why the state is what it is.'),
      memberCluster: str('The member cluster this InstanceSet is in (its name in the environment file): pods of the same name may exist in two member clusters while an ordinal moves.'),
      released: setList('Ordinals no longer in this member cluster\'s spec whose pods may go: the manager releases a leaving pod once the pod replacing it in another member cluster is synced and it is not the primary; until then the member controller keeps it.', int('An ordinal.', { minimum: 0 })),
      updateGeneration: { type: 'integer' as const, format: 'int64' as const, description: 'The metadata.generation whose rolling update the manager lets this member cluster run (the change DAG, docs/federation.md#the-change-dag-executed): the member cluster\'s controller replaces outdated pods of the shard only while this equals metadata.generation; the canary member cluster first, the others once the canary\'s secondaries are updated and healthy.' },
      updateWaiting: str('Why the manager does not let this member cluster\'s rolling update run yet: the step it waits for.'),
    }),
    'x-kubernetes-preserve-unknown-fields': true as const,
  },
  conditions,
});

/** The schema of an InstanceSet object; schemas/types/instanceset.ts derives its type. */
export const instanceSetSchema = objectSchema(
  'InstanceSet',
  'InstanceSet: the pods of one component (server, sentinel, proxy) of one shard, with ordinals, roles and a role-aware update strategy.',
  spec,
  status,
);

export const instanceSetCrd = namespacedCrd({
  kind: 'InstanceSet',
  plural: 'instancesets',
  singular: 'instanceset',
  shortNames: ['dbis'],
  subresources: {
    status: {},
    scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  },
  columns: [
    { name: 'REPLICAS', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'READY', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'PRIMARY', type: 'string', jsonPath: '.status.primary' },
  ],
  schema: instanceSetSchema,
}) satisfies KubeObject;
