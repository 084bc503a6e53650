// Classifies every object and field change of a plan. Table-driven: FIELD_RULES and OBJECT_RULES
// are read top to bottom and the first rule that matches and decides wins, so a specific rule sits
// above a general one. Every rule has an id that the plan output shows and a unit test.
import { ANNOTATIONS, LABELS } from '../../schemas/types/labels.js';
import { FEDERATION_DIR } from '../argocd/emit.js';
import type { KubeObject } from '../../schemas/types/index.js';
import { isRecord } from './diff.js';
import {
  maxClass,
  riskOf,
  type ChangeClass,
  type ClassifiedChange,
  type ClassifiedField,
  type FieldChange,
  type ObjectChange,
  type Verdict,
} from './model.js';
import { compareQuantities } from './quantity.js';
import { appliesAtRuntime, changedParameters, dialectOf } from './runtime-parameters.js';

/** Names are a topology ("orders-db": every environment) or "<env>/<topology>". */
export interface Acknowledgements {
  /** Topologies whose removal from an environment or member cluster is intended. */
  delete: string[];
  /** Topologies whose engine, mode or shard count may change. */
  migrate: string[];
}

export interface ClassifyOptions {
  /** `plan --allow-migration`: every engine/mode/shard-count change is acknowledged. */
  allowMigration: boolean;
  acknowledgements: Acknowledgements;
}

/** What a rule may look at besides the field itself. */
export interface RuleContext {
  change: ObjectChange;
  /** Migration acknowledged for this change's topology (flag, acknowledgements file or annotation). */
  migrationAllowed: boolean;
  /** The change's topology is gone from this member cluster (its Cluster object was removed). */
  topologyRemoved: boolean;
  /** ... and that removal is acknowledged. */
  deletionAllowed: boolean;
  /** The change's topology is new in this member cluster (its Cluster object was added). */
  topologyAdded: boolean;
  /** An InstanceSet of this name exists (in this env and namespace) on the base / head side, in any member cluster. */
  existsInBase: boolean;
  existsInHead: boolean;
}

/** InstanceSets by "<env>|<namespace>|<name>", across member clusters, of each side. */
export interface SideIndex {
  base: ReadonlySet<string>;
  head: ReadonlySet<string>;
}

/** An InstanceSet's entry in a side's index: environment, namespace, name. */
export function instanceSetKey(env: string, namespace: string | undefined, name: string): string {
  return `${env}|${namespace ?? ''}|${name}`;
}

export function instanceSetIndex(objects: ReadonlyArray<{ env: string; object: Pick<KubeObject, 'kind' | 'metadata'> }>): Set<string> {
  const out = new Set<string>();
  for (const o of objects) if (o.object.kind === 'InstanceSet') out.add(instanceSetKey(o.env, o.object.metadata.namespace, o.object.metadata.name));
  return out;
}

type Decision = { class: ChangeClass; reason: string } | undefined;

export interface FieldRule {
  id: string;
  /** Kinds the rule applies to; '*' for every kind. */
  kinds: ReadonlyArray<string> | '*';
  /** Glob over pointer segments: '*' one segment, '**' any number (also none). */
  path: string;
  decide(field: FieldChange, ctx: RuleContext): Decision;
}

export interface ObjectRule {
  id: string;
  kinds: ReadonlyArray<string> | '*';
  types: ReadonlyArray<'added' | 'removed'>;
  decide(ctx: RuleContext): Decision;
}

const is = (c: ChangeClass, reason: string) => (): Decision => ({ class: c, reason });

/** Up is scale-out, down is scale-in. */
function byCount(what: string) {
  return (f: FieldChange): Decision => {
    const a = typeof f.old === 'number' ? f.old : 0;
    const b = typeof f.new === 'number' ? f.new : 0;
    return b > a
      ? { class: 'scale-out', reason: `${what} ${a} → ${b}` }
      : { class: 'scale-in', reason: `${what} ${a} → ${b}: the removed members' data is at risk` };
  };
}

function migration(what: string, then: ChangeClass) {
  return (f: FieldChange, ctx: RuleContext): Decision => migrationOf(`${what} ${show(f.old)} → ${show(f.new)}`, then, ctx);
}

function migrationOf(change: string, then: ChangeClass, ctx: RuleContext): Decision {
  return ctx.migrationAllowed
    ? { class: then, reason: `${change} (migration acknowledged)` }
    : {
        class: 'forbidden',
        reason: `${change} needs a data migration; acknowledge it with --allow-migration, the annotation ${ANNOTATIONS.allowMigration} or acknowledgements.yaml`,
      };
}

/**
 * Servers with a primary that replicate: updating their pods moves the primary. A shard spread
 * over member clusters may have one pod here, which can still be the primary, so replication
 * counts as much as the local replica count.
 */
export function hasSwitchover(o: KubeObject | undefined): boolean {
  if (!o || o.kind !== 'InstanceSet' || !isRecord(o['spec'])) return false;
  const spec = o['spec'];
  const roles = Array.isArray(spec['roles']) ? spec['roles'] : [];
  const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
  const replicated = isRecord(spec['engine']) && spec['engine']['replication'] !== undefined;
  return (replicas > 1 || replicated) && roles.some((r) => isRecord(r) && r['name'] === 'primary');
}

/** Ordinals an InstanceSet's default template owns (ranges inclusive, start defaults to 0). */
export function ordinalsOf(o: KubeObject | undefined): Set<number> {
  const out = new Set<number>();
  const spec = o && isRecord(o['spec']) ? o['spec'] : {};
  const ords = isRecord(spec['defaultTemplateOrdinals']) ? spec['defaultTemplateOrdinals'] : {};
  for (const r of Array.isArray(ords['ranges']) ? ords['ranges'] : []) {
    if (!isRecord(r)) continue;
    const start = typeof r['start'] === 'number' ? r['start'] : 0;
    const end = typeof r['end'] === 'number' ? r['end'] : start;
    for (let i = start; i <= end && i - start < 10_000; i++) out.add(i);
  }
  for (const d of Array.isArray(ords['discrete']) ? ords['discrete'] : []) if (typeof d === 'number') out.add(d);
  return out;
}

/** Moved ordinals are pods deleted (with their volumes' data) and others created. */
function ordinals(_f: FieldChange, ctx: RuleContext): Decision {
  const before = ordinalsOf(ctx.change.base);
  const after = ordinalsOf(ctx.change.head);
  const gone = [...before].filter((i) => !after.has(i));
  const pods = (xs: number[]) => xs.map((i) => `${ctx.change.name}-${i}`).join(', ');
  if (gone.length > 0) {
    return { class: 'scale-in', reason: `pods ${pods(gone)} are removed (ordinals move; a switchover first if one is the primary)` };
  }
  return { class: 'scale-out', reason: `pods ${pods([...after].filter((i) => !before.has(i)))} are added` };
}

function podTemplate(what: string) {
  return (_f: FieldChange, ctx: RuleContext): Decision =>
    hasSwitchover(ctx.change.head) || hasSwitchover(ctx.change.base)
      ? { class: 'role-affecting', reason: `${what} changes: secondaries are updated first, then a switchover, then the old primary` }
      : { class: 'rolling-restart', reason: `${what} changes: pods restart one by one` };
}

function configData(f: FieldChange, ctx: RuleContext): Decision {
  const key = f.segments[1] ?? '';
  const dialect = dialectOf(key);
  if (dialect === undefined) return { class: 'rolling-restart', reason: `${key} changes: the pods reading it restart` };
  const before = typeof f.old === 'string' ? f.old : '';
  const after = typeof f.new === 'string' ? f.new : '';
  const changed = changedParameters(dialect, before, after);
  const restart = changed.filter((p) => !appliesAtRuntime(dialect, p));
  if (restart.length > 0) {
    return { class: podRestartClass(ctx), reason: `${key}: ${restart.join(', ')} need${restart.length === 1 ? 's' : ''} a restart` };
  }
  return { class: 'safe', reason: `${key}: ${changed.join(', ') || 'comments'} can be applied at runtime` };
}

/** A ConfigMap is shared by a whole InstanceSet: a restart of servers with roles moves the primary. */
function podRestartClass(ctx: RuleContext): ChangeClass {
  const component = ctx.change.head?.metadata.labels?.[LABELS.component] ?? ctx.change.base?.metadata.labels?.[LABELS.component];
  return component === 'server' ? 'role-affecting' : 'rolling-restart';
}

function storageSize(f: FieldChange): Decision {
  const cmp = compareQuantities(f.new, f.old);
  if (cmp === undefined) return { class: 'forbidden', reason: `storage ${show(f.old)} → ${show(f.new)} is not a quantity change the plan can judge` };
  return cmp < 0
    ? { class: 'forbidden', reason: `storage shrinks ${show(f.old)} → ${show(f.new)}: volumes cannot shrink; migrate to a new topology instead` }
    : { class: 'safe', reason: `storage grows ${show(f.old)} → ${show(f.new)}: online volume expansion (the storage class must allow it)` };
}

function offline(f: FieldChange): Decision {
  const a = Array.isArray(f.old) ? f.old.length : 0;
  const b = Array.isArray(f.new) ? f.new.length : 0;
  return b > a ? { class: 'scale-in', reason: 'instances taken offline' } : { class: 'scale-out', reason: 'instances brought back online' };
}

const UPDATE_POLICY = /^(memberUpdateStrategy|podManagementPolicy|parallelPodManagementConcurrency|instanceUpdateStrategy|minReadySeconds|roleProbe|persistentVolumeClaimRetentionPolicy|paused)$/;

export const FIELD_RULES: ReadonlyArray<FieldRule> = [
  { id: 'switchover-request', kinds: ['InstanceSet', 'Cluster'], path: `/metadata/annotations/${escape(ANNOTATIONS.switchover)}`, decide: is('role-affecting', 'a switchover is requested') },
  { id: 'metadata', kinds: '*', path: '/metadata/**', decide: is('safe', 'labels and annotations apply in place') },
  { id: 'crd', kinds: ['CustomResourceDefinition'], path: '/**', decide: is('safe', 'CRD schema update, applied before the objects that use it') },
  { id: 'namespace', kinds: ['Namespace'], path: '/**', decide: is('safe', 'namespace settings apply in place') },
  { id: 'service', kinds: ['Service'], path: '/**', decide: is('safe', 'Service routing updates in place') },
  { id: 'disruption-and-network-policy', kinds: ['PodDisruptionBudget', 'NetworkPolicy'], path: '/**', decide: is('safe', 'policy objects update in place') },
  { id: 'secret', kinds: ['Secret'], path: '/**', decide: is('rolling-restart', 'pods read the Secret at start') },
  { id: 'config-parameters', kinds: ['ConfigMap'], path: '/data/*', decide: configData },
  { id: 'config-other', kinds: ['ConfigMap'], path: '/**', decide: is('rolling-restart', 'the pods reading the ConfigMap restart') },
  { id: 'cluster-engine', kinds: ['Cluster'], path: '/spec/engine', decide: migration('engine', 'role-affecting') },
  { id: 'cluster-mode', kinds: ['Cluster'], path: '/spec/mode', decide: migration('mode', 'role-affecting') },
  {
    id: 'cluster-shards',
    kinds: ['Cluster'],
    path: '/spec/shards',
    decide: (f, ctx) => {
      const up = (f.new as number) > (f.old as number);
      return migration('shard count', up ? 'scale-out' : 'scale-in')(f, ctx);
    },
  },
  { id: 'cluster-summary', kinds: ['Cluster'], path: '/spec/**', decide: is('safe', 'Cluster summary field; its InstanceSets carry the rollout') },
  { id: 'replicas', kinds: ['InstanceSet'], path: '/spec/replicas', decide: byCount('replicas') },
  { id: 'storage-size', kinds: ['InstanceSet'], path: '/spec/volumeClaimTemplates/*/spec/resources/requests/storage', decide: storageSize },
  { id: 'storage-other', kinds: ['InstanceSet'], path: '/spec/volumeClaimTemplates/**', decide: is('forbidden', 'volume claim templates are immutable apart from their size; migrate to a new topology instead') },
  { id: 'immutable-selector', kinds: ['InstanceSet'], path: '/spec/selector/**', decide: is('forbidden', 'the pod selector is immutable: it would orphan the running pods') },
  { id: 'immutable-service-name', kinds: ['InstanceSet'], path: '/spec/serviceName', decide: is('forbidden', 'the headless Service name is immutable: pod DNS names would change') },
  { id: 'engine-type', kinds: ['InstanceSet'], path: '/spec/engine/type', decide: migration('engine', 'role-affecting') },
  { id: 'replication', kinds: ['InstanceSet'], path: '/spec/engine/replication/**', decide: is('role-affecting', 'replication settings change: the primary and its replicas are rewired') },
  { id: 'spread', kinds: ['InstanceSet'], path: '/spec/spread/**', decide: is('role-affecting', 'who may choose the primary changes: a spread shard\'s primary is never promoted by one member cluster') },
  { id: 'roles', kinds: ['InstanceSet'], path: '/spec/roles/**', decide: is('role-affecting', 'role definitions change') },
  { id: 'sentinel-proxy-targets', kinds: ['InstanceSet'], path: '/spec/engine/monitors/**', decide: is('rolling-restart', 'Sentinel monitors change: sentinels restart one by one') },
  { id: 'proxy-backends', kinds: ['InstanceSet'], path: '/spec/engine/backends/**', decide: is('rolling-restart', 'proxy backends change: proxies restart one by one') },
  { id: 'offline-instances', kinds: ['InstanceSet'], path: '/spec/offlineInstances', decide: offline },
  {
    id: 'update-policy',
    kinds: ['InstanceSet'],
    path: '/spec/*/**',
    decide: (f) => (UPDATE_POLICY.test(f.segments[1] ?? '') ? { class: 'safe', reason: `${f.segments[1]} is read by the controller, pods stay` } : undefined),
  },
  // The compiler hashes the config files into the pod template, so every config edit rolls the pods,
  // even for parameters the engine could take at runtime (the ConfigMap's own verdict says which).
  { id: 'config-hash', kinds: ['InstanceSet'], path: '/spec/template/metadata/annotations/dbtopo.dev~1config-hash', decide: podTemplate('the config hash in the pod template') },
  { id: 'pod-template', kinds: ['InstanceSet'], path: '/spec/template/**', decide: podTemplate('the pod template') },
  { id: 'instances', kinds: ['InstanceSet'], path: '/spec/instances/**', decide: podTemplate('an instance template') },
  { id: 'engine-settings', kinds: ['InstanceSet'], path: '/spec/engine/**', decide: podTemplate('the engine spec') },
  { id: 'ordinals', kinds: ['InstanceSet'], path: '/spec/defaultTemplateOrdinals/**', decide: ordinals },
  // The Federation object only describes the spread shards to the federation manager; what moves
  // pods (ordinals, spread) is classified on the InstanceSets rendered beside it.
  { id: 'federation', kinds: ['Federation'], path: '/spec/**', decide: is('safe', 'the federation manager\'s view of the spread shards; their pods change with the InstanceSets') },
  { id: 'service-export', kinds: ['ServiceExport'], path: '/**', decide: is('safe', 'the headless Service\'s export to the clusterset applies in place') },
  // Unknown fields of our own kinds: assume pods restart (over-states, never hides, the risk).
  { id: 'unknown-dbtopo-field', kinds: ['InstanceSet', 'Cluster'], path: '/**', decide: podTemplate('a field the plan does not know') },
  { id: 'other', kinds: '*', path: '/**', decide: is('safe', 'applied in place') },
];

function deletion(what: string) {
  return (ctx: RuleContext): Decision =>
    ctx.deletionAllowed
      ? { class: 'scale-in', reason: `${what} is deleted with its topology (deletion acknowledged)` }
      : {
          class: 'forbidden',
          reason: `the topology ${ctx.change.topology ?? ''} disappears from ${ctx.change.env}/${ctx.change.memberCluster}: ${what} and its data would be deleted; list it under "delete" in acknowledgements.yaml or pass --allow-delete ${ctx.change.topology ?? ''}`,
        };
}

function isServerSet(o: KubeObject | undefined): boolean {
  if (!o) return false;
  const component = o.metadata.labels?.[LABELS.component];
  if (component !== undefined) return component === 'server';
  return isRecord(o['spec']) && Array.isArray(o['spec']['roles']);
}

export const OBJECT_RULES: ReadonlyArray<ObjectRule> = [
  // The Federation CRD leaves rendered/<env>/_federation/ with the environment's last spread
  // topology, and with it the federation API server's Application: Argo CD deletes that
  // Application but keeps its resources (the ApplicationSet's preserveResourcesOnDeletion).
  {
    id: 'federation-crd-removed',
    kinds: ['CustomResourceDefinition'],
    types: ['removed'],
    decide: (ctx) => (ctx.change.memberCluster === FEDERATION_DIR ? { class: 'safe', reason: 'no spread topology is left: the federation API server\'s Application goes, Argo CD keeps the CRD' } : undefined),
  },
  { id: 'crd-removed', kinds: ['CustomResourceDefinition'], types: ['removed'], decide: is('forbidden', 'deleting a CRD deletes every object of its kind in the cluster') },
  { id: 'new-topology', kinds: '*', types: ['added'], decide: (ctx) => (ctx.topologyAdded ? { class: 'safe', reason: 'new topology' } : undefined) },
  // A shard's servers spread over member clusters: one member gaining or losing its part of a
  // shard that exists elsewhere is a replica change, not a new or removed shard.
  { id: 'shard-member-added', kinds: ['InstanceSet'], types: ['added'], decide: (ctx) => (ctx.existsInBase ? { class: 'scale-out', reason: 'servers of an existing shard join this member cluster' } : undefined) },
  {
    id: 'shard-member-removed',
    kinds: ['InstanceSet'],
    types: ['removed'],
    decide: (ctx) => (ctx.existsInHead && !ctx.topologyRemoved ? { class: 'scale-in', reason: "this member cluster's servers of the shard are removed; the shard keeps running elsewhere" } : undefined),
  },
  {
    id: 'shard-added',
    kinds: ['InstanceSet'],
    types: ['added'],
    decide: (ctx) => (isServerSet(ctx.change.head) ? migrationOf(`new shard ${ctx.change.name} (resharding)`, 'scale-out', ctx) : undefined),
  },
  { id: 'instance-set-added', kinds: ['InstanceSet'], types: ['added'], decide: is('scale-out', 'new component') },
  { id: 'topology-removed', kinds: ['Cluster', 'InstanceSet'], types: ['removed'], decide: (ctx) => (ctx.topologyRemoved ? deletion(`${ctx.change.kind} ${ctx.change.name}`)(ctx) : undefined) },
  {
    id: 'shard-removed',
    kinds: ['InstanceSet'],
    types: ['removed'],
    decide: (ctx) =>
      isServerSet(ctx.change.base)
        ? migrationOf(`shard ${ctx.change.name} removed (resharding; its data is lost)`, 'scale-in', ctx)
        : { class: 'scale-in', reason: 'component removed' },
  },
  { id: 'namespace-removed', kinds: ['Namespace'], types: ['removed'], decide: is('scale-in', 'deleting the namespace deletes everything in it') },
  { id: 'topology-object-removed', kinds: '*', types: ['removed'], decide: (ctx) => (ctx.topologyRemoved && !ctx.deletionAllowed ? deletion(`${ctx.change.kind} ${ctx.change.name}`)(ctx) : undefined) },
  { id: 'object-added', kinds: '*', types: ['added'], decide: is('safe', 'new object') },
  { id: 'object-removed', kinds: '*', types: ['removed'], decide: is('safe', 'object no longer rendered') },
];

export function classify(changes: ReadonlyArray<ObjectChange>, opts: ClassifyOptions, sides: SideIndex = { base: new Set(), head: new Set() }): ClassifiedChange[] {
  const clusters = (type: 'added' | 'removed') =>
    new Set(changes.filter((c) => c.kind === 'Cluster' && c.type === type).map((c) => topologyKey(c)));
  const removed = clusters('removed');
  const added = clusters('added');
  return changes.map((change) => {
    const acked = (list: string[]) => change.topology !== undefined && (list.includes(change.topology) || list.includes(`${change.env}/${change.topology}`));
    const ctx: RuleContext = {
      change,
      migrationAllowed: opts.allowMigration || acked(opts.acknowledgements.migrate) || migrationAnnotated(change.head),
      topologyRemoved: change.topology !== undefined && removed.has(topologyKey(change)),
      deletionAllowed: acked(opts.acknowledgements.delete),
      topologyAdded: change.topology !== undefined && added.has(topologyKey(change)),
      existsInBase: sides.base.has(instanceSetKey(change.env, change.namespace, change.name)) && change.type === 'added',
      existsInHead: sides.head.has(instanceSetKey(change.env, change.namespace, change.name)) && change.type === 'removed',
    };
    return classifyOne(ctx);
  });
}

function classifyOne(ctx: RuleContext): ClassifiedChange {
  const { change } = ctx;
  if (change.type !== 'changed') {
    const verdict = firstObjectVerdict(ctx);
    return { ...change, class: verdict.class, verdict, fields: [] };
  }
  const fields: ClassifiedField[] = change.fields.map((f) => ({ ...f, ...firstFieldVerdict(f, ctx) }));
  const cls = maxClass(fields.map((f) => f.class));
  const worst = fields.find((f) => f.class === cls) as ClassifiedField;
  return { ...change, class: cls, verdict: { class: cls, rule: worst.rule, reason: worst.reason }, fields };
}

function firstFieldVerdict(f: FieldChange, ctx: RuleContext): Verdict {
  for (const rule of FIELD_RULES) {
    if (!kindMatches(rule.kinds, ctx.change.kind) || !globMatch(rule.path, f.segments)) continue;
    const d = rule.decide(f, ctx);
    if (d) return { ...d, rule: rule.id };
  }
  return { class: 'safe', rule: 'none', reason: 'no rule matched' };
}

function firstObjectVerdict(ctx: RuleContext): Verdict {
  const type = ctx.change.type as 'added' | 'removed';
  for (const rule of OBJECT_RULES) {
    if (!kindMatches(rule.kinds, ctx.change.kind) || !rule.types.includes(type)) continue;
    const d = rule.decide(ctx);
    if (d) return { ...d, rule: rule.id };
  }
  return { class: 'safe', rule: 'none', reason: 'no rule matched' };
}

function migrationAnnotated(o: KubeObject | undefined): boolean {
  const v = o?.metadata.annotations?.[ANNOTATIONS.allowMigration];
  return v !== undefined && v !== 'false';
}

export function topologyKey(c: { env: string; memberCluster: string; topology?: string }): string {
  return `${c.env}/${c.memberCluster}/${c.topology ?? ''}`;
}

function kindMatches(kinds: ReadonlyArray<string> | '*', kind: string): boolean {
  return kinds === '*' || kinds.includes(kind);
}

/** Matches pointer segments (escaped like the pointer) against a '/'-separated glob. */
export function globMatch(pattern: string, segments: ReadonlyArray<string>): boolean {
  const pat = pattern.split('/').slice(1);
  const seg = segments.map(escape);
  const go = (i: number, j: number): boolean => {
    if (i === pat.length) return j === seg.length;
    const p = pat[i];
    if (p === '**') return go(i + 1, j) || (j < seg.length && go(i, j + 1));
    return j < seg.length && (p === '*' || p === seg[j]) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

function escape(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function show(v: unknown): string {
  return v === undefined ? '∅' : typeof v === 'string' ? v : JSON.stringify(v);
}

/** Highest class among changes, for exit codes and badges. */
export function worstClass(changes: ReadonlyArray<{ class: ChangeClass }>): ChangeClass {
  return maxClass(changes.map((c) => c.class));
}

export { riskOf };
