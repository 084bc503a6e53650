// `dbtopo status`, the pure part: from the InstanceSets and pods each member cluster holds, one
// report per topology and shard (every member cluster's pods with role, readiness and revision,
// and any switchover or update in progress), the problems an on-call engineer acts on, and its
// text rendering. The I/O (kubeconfig contexts, API reads) is in status.ts.
import { ANNOTATIONS, LABELS, type InstanceSet, type SwitchoverStatus } from '../../schemas/types/index.js';

export interface PodLike {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

/** What one member cluster answered: its sets and their pods, or why it could not be read. */
export interface MemberRead {
  member: string;
  context?: string;
  error?: string;
  sets: InstanceSet[];
  pods: PodLike[];
}

export interface PodStatus {
  name: string;
  role?: string;
  ready: boolean;
  revision?: string;
  terminating: boolean;
}

export interface SetStatus {
  member: string;
  name: string;
  component?: string;
  replicas: number;
  ready: number;
  /** A server set: it has roles, so exactly one pod per shard is labelled primary. */
  server: boolean;
  primary?: string;
  /** Some pods are not on the set's update revision yet. */
  updating?: { updated: number; of: number; revision?: string };
  /** The switchover annotation's value while a switchover is requested. */
  switchover?: string;
  /** The controller's record of the last switchover (status.switchover) and the previous primary. */
  lastSwitchover?: SwitchoverStatus;
  lastPrimary?: string;
  paused: boolean;
  pods: PodStatus[];
}

export interface ShardStatus {
  namespace: string;
  topology: string;
  shard?: string;
  sets: SetStatus[];
  /** What is wrong with this shard across its member clusters; empty when healthy. */
  problems: string[];
}

export interface StatusReport {
  environment: string;
  members: Array<{ member: string; context?: string; error?: string; instanceSets: number }>;
  shards: ShardStatus[];
  ok: boolean;
}

const isReady = (p: PodLike): boolean => (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

function setStatus(member: string, is: InstanceSet, pods: PodLike[]): SetStatus {
  const mine = pods
    .filter((p) => p.metadata.namespace === is.metadata.namespace && p.metadata.labels?.[LABELS.instanceSet] === is.metadata.name)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name, 'en', { numeric: true }));
  const podStatus = mine.map((p): PodStatus => {
    const role = p.metadata.labels?.[LABELS.role];
    const revision = p.metadata.labels?.[LABELS.revision];
    return { name: p.metadata.name, ...(role !== undefined ? { role } : {}), ready: isReady(p), ...(revision !== undefined ? { revision } : {}), terminating: p.metadata.deletionTimestamp !== undefined };
  });
  const update = is.status?.updateRevision;
  const updated = update === undefined ? podStatus.length : podStatus.filter((p) => p.revision === update).length;
  const component = is.metadata.labels?.[LABELS.component];
  const switchover = is.metadata.annotations?.[ANNOTATIONS.switchover];
  const primary = podStatus.find((p) => p.role === 'primary')?.name ?? is.status?.primary;
  return {
    member,
    name: is.metadata.name,
    ...(component !== undefined ? { component } : {}),
    replicas: is.spec.replicas,
    ready: podStatus.filter((p) => p.ready && !p.terminating).length,
    server: (is.spec.roles?.length ?? 0) > 0,
    ...(primary !== undefined ? { primary } : {}),
    ...(updated < podStatus.length || podStatus.length < is.spec.replicas ? { updating: { updated, of: is.spec.replicas, ...(update !== undefined ? { revision: update } : {}) } } : {}),
    ...(switchover !== undefined ? { switchover } : {}),
    ...(is.status?.switchover !== undefined ? { lastSwitchover: is.status.switchover } : {}),
    ...(is.status?.lastPrimary !== undefined ? { lastPrimary: is.status.lastPrimary } : {}),
    paused: is.spec.paused === true,
    pods: podStatus,
  };
}

/** Pure: the report of environment `environment` from what each member cluster answered. */
export function buildStatus(environment: string, reads: MemberRead[]): StatusReport {
  const shards = new Map<string, ShardStatus>();
  for (const r of reads) {
    for (const is of r.sets) {
      const namespace = is.metadata.namespace ?? '';
      const topology = is.metadata.labels?.[LABELS.cluster] ?? is.metadata.labels?.[LABELS.instance] ?? is.metadata.name;
      const shard = is.metadata.labels?.[LABELS.shard];
      const key = `${namespace}\0${topology}\0${shard ?? ''}`;
      const s = shards.get(key) ?? { namespace, topology, ...(shard !== undefined ? { shard } : {}), sets: [], problems: [] };
      s.sets.push(setStatus(r.member, is, r.pods));
      shards.set(key, s);
    }
  }
  for (const s of shards.values()) {
    s.sets.sort((a, b) => (a.server === b.server ? a.name.localeCompare(b.name) || a.member.localeCompare(b.member) : a.server ? -1 : 1));
    const servers = s.sets.filter((x) => x.server);
    const primaries = servers.flatMap((x) => x.pods.filter((p) => p.role === 'primary' && !p.terminating).map((p) => `${x.member}/${p.name}`));
    if (servers.length > 0 && primaries.length === 0) s.problems.push('no pod is labelled primary');
    if (primaries.length > 1) s.problems.push(`${primaries.length} pods are labelled primary: ${primaries.join(', ')}`);
    for (const x of s.sets) {
      const notReady = x.pods.filter((p) => !p.ready && !p.terminating).map((p) => p.name);
      if (notReady.length > 0) s.problems.push(`${x.member}/${x.name}: not Ready: ${notReady.join(', ')}`);
      if (x.pods.length < x.replicas && !x.paused) s.problems.push(`${x.member}/${x.name}: ${x.pods.length} of ${x.replicas} pods exist`);
    }
  }
  const ordered = [...shards.values()].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.topology.localeCompare(b.topology) || (a.shard ?? '').localeCompare(b.shard ?? '', 'en', { numeric: true }));
  const members = reads.map((r) => ({ member: r.member, ...(r.context !== undefined ? { context: r.context } : {}), ...(r.error !== undefined ? { error: r.error } : {}), instanceSets: r.sets.length }));
  return { environment, members, shards: ordered, ok: reads.every((r) => r.error === undefined) && ordered.every((s) => s.problems.length === 0) };
}

/** The report as a person reads it in a terminal. */
export function renderStatus(r: StatusReport): string {
  const out: string[] = [`environment ${r.environment}`];
  for (const m of r.members) {
    out.push(`  member cluster ${m.member}${m.context !== undefined ? ` (context ${m.context})` : ''}: ${m.error !== undefined ? `UNREACHABLE: ${m.error}` : `${m.instanceSets} InstanceSets`}`);
  }
  for (const s of r.shards) {
    out.push('', `${s.namespace}/${s.topology}${s.shard !== undefined ? ` shard ${s.shard}` : ''}${s.problems.length === 0 ? '' : '  [!]'}`);
    for (const x of s.sets) {
      const notes = [
        x.server ? `primary ${x.primary ?? '(none)'}` : '',
        x.updating !== undefined ? `updating: ${x.updating.updated}/${x.updating.of} on revision ${x.updating.revision ?? '?'}` : '',
        x.switchover !== undefined ? `switchover requested (to ${x.switchover})` : '',
        x.lastSwitchover?.phase === 'Running' ? `switchover running: ${x.lastSwitchover.from} → ${x.lastSwitchover.to ?? 'best secondary'} since ${x.lastSwitchover.startedAt} (${x.lastSwitchover.reason})` : '',
        x.lastSwitchover?.phase === 'Failed' ? `last switchover FAILED at ${x.lastSwitchover.finishedAt ?? x.lastSwitchover.startedAt}: ${x.lastSwitchover.message ?? ''}` : '',
        x.lastSwitchover?.phase === 'Succeeded' ? `last switchover at ${x.lastSwitchover.finishedAt ?? x.lastSwitchover.startedAt}: ${x.lastSwitchover.message ?? `from ${x.lastSwitchover.from}`}` : '',
        x.paused ? 'paused' : '',
      ].filter((n) => n !== '');
      out.push(`  ${x.member}  ${x.name}${x.component !== undefined ? ` (${x.component})` : ''}  ${x.ready}/${x.replicas} ready${notes.length > 0 ? `  ${notes.join('; ')}` : ''}`);
      for (const p of x.pods) {
        out.push(`    ${p.name.padEnd(28)} ${(p.role ?? '-').padEnd(10)} ${(p.terminating ? 'Terminating' : p.ready ? 'Ready' : 'NotReady').padEnd(12)} ${p.revision ?? '-'}`);
      }
    }
    for (const p of s.problems) out.push(`  ! ${p}`);
  }
  if (r.shards.length === 0) out.push('', 'no dbtopo InstanceSets found');
  return `${out.join('\n')}\n`;
}
