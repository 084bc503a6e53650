// What the federation manager's end-to-end tests share on top of the harness (harness.ts): the
// compiled Federation of a topology put on the federation API server, each member cluster's pods
// of a set, and the Federation's status of one shard.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import type { PlanObject } from '../../compiler/plan/model.js';
import { buildPlan } from '../../compiler/plan/plan.js';
import { federationCrd } from '../../schemas/crds/federation.crd.js';
import { LABELS, type Federation, type FederationShardStatus } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import type { FederationEnv } from './harness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The compiled Federation `rendered/<env>/_federation/<fromNamespace>/<topology>.yaml`, moved to
 * `env.namespace` (shards filtered by `keep`), created on the federation API server with its CRD
 * and namespace.
 */
export async function createRenderedFederation(env: FederationEnv, rel: string, fromNamespace: string, keep: (shard: string) => boolean = () => true): Promise<Federation> {
  const ns = env.namespace;
  const file = path.join(repoRoot, 'environments/rendered', `${rel}.yaml`);
  const text = fs.readFileSync(file, 'utf8').replaceAll(`namespace: ${fromNamespace}\n`, `namespace: ${ns}\n`).replaceAll(`.${fromNamespace}.svc`, `.${ns}.svc`);
  const fed = parseAllDocuments(text).map((d) => d.toJS() as Federation).find((o) => o?.kind === 'Federation');
  if (fed === undefined) throw new Error(`${file} has no Federation: run \`dbtopo compile\` on the example repo (environments/)`);
  fed.spec.shards = fed.spec.shards.filter((s) => keep(s.name));
  const objects = k8s.KubernetesObjectApi.makeApiClient(env.federation.kc);
  await objects.create(federationCrd as k8s.KubernetesObject).catch((err: unknown) => {
    if (!/already exists/i.test(String(err))) throw err;
  });
  await env.federation.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  const custom = env.federation.kc.makeApiClient(k8s.CustomObjectsApi);
  await eventually('the Federation CRD served', async () => await custom.listNamespacedCustomObject({ group: 'dbtopo.dev', version: 'v1alpha1', namespace: ns, plural: 'federations' }).then(() => true, () => undefined), { timeoutMs: 30_000, intervalMs: 250 });
  await objects.create(fed as unknown as k8s.KubernetesObject);
  return fed;
}

/** The Federation's status, as the manager last wrote it. */
export async function federationStatus(env: FederationEnv, federation: string): Promise<Federation['status']> {
  const custom = env.federation.kc.makeApiClient(k8s.CustomObjectsApi);
  return ((await custom.getNamespacedCustomObject({ group: 'dbtopo.dev', version: 'v1alpha1', namespace: env.namespace, plural: 'federations', name: federation })) as Federation).status;
}

/** The Federation's status of one shard. */
export async function shardStatus(env: FederationEnv, federation: string, shard: string): Promise<FederationShardStatus | undefined> {
  return (await federationStatus(env, federation))?.shards?.find((s) => s.name === shard);
}

/** Every member cluster's pods of `instanceSet` that answer within 2 s (a frozen API server's are left out). */
export async function podsEverywhere(env: FederationEnv, instanceSet: string): Promise<Array<{ member: string; pod: k8s.V1Pod }>> {
  const out: Array<{ member: string; pod: k8s.V1Pod }> = [];
  await Promise.all(
    Object.keys(env.members).map(async (m) => {
      const core = env.member(m).admin.makeApiClient(k8s.CoreV1Api);
      const list = await Promise.race([core.listNamespacedPod({ namespace: env.namespace, labelSelector: `${LABELS.instanceSet}=${instanceSet}` }), sleep(2_000).then(() => undefined)]).catch(() => undefined);
      for (const pod of list?.items ?? []) out.push({ member: m, pod });
    }),
  );
  return out;
}

/**
 * The federation manager as child processes (`node dist/controller/main.js --mode federation`, as
 * it runs in a pod), to SIGKILL at will: spawn() starts one, killAll() SIGKILLs every running one
 * and waits (bounded) for it to exit. Build first (ensureControllerBuilt).
 */
export function managerChildren(env: FederationEnv, namespace: string, periodMs = 500): { spawn(): ChildProcess; killAll(): Promise<void>; running(): number } {
  const main = path.join(repoRoot, 'dist/controller/main.js');
  const children = new Set<ChildProcess>();
  return {
    spawn(): ChildProcess {
      const c = spawn(process.execPath, [main, '--mode', 'federation', '--kubeconfig', env.federation.kubeconfigPath, '--cluster-secrets-namespace', env.federation.namespace, '--namespace', namespace, '--federation-period-ms', String(periodMs), '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'inherit'] });
      children.add(c);
      c.on('exit', () => children.delete(c));
      return c;
    },
    async killAll(): Promise<void> {
      for (const c of [...children]) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await Promise.race([gone, sleep(5_000)]);
      }
    },
    running: () => children.size,
  };
}

/** What a rolling update did, in the order it was seen: `replace <pod>` and `switchover <from> -> <to>`. */
export const timedOrder = (r: { order: string[]; at: number[] }, from: number): string => r.order.map((w, i) => `${w} (+${(((r.at[i] ?? from) - from) / 1000).toFixed(1)} s)`).join(' → ');

export interface RolloutRecord {
  order: string[];
  /** performance.now() of each entry of `order`. */
  at: number[];
  /** status.step values seen (`<id> <state>`). */
  steps: string[];
  /** The recorded primary at the end. */
  primary: string;
}

/**
 * Records a rolling update of `set` (a spread shard of Federation `federation`) while it runs:
 * every pod replacement (its uid changed or it is gone) and every change of the recorded primary,
 * polled every 150 ms. `replaced()` tells how many of the pods seen at the start were replaced,
 * `seen()` how many replacements and hand-overs were seen so far.
 */
export async function watchRollout(env: FederationEnv, federation: string, set: string): Promise<{ pods: string[]; memberOf: Map<string, string>; oldPrimary: string; replaced(): number; seen(): number; switched(): number; stop(): Promise<RolloutRecord> }> {
  const oldPrimary = (await shardStatus(env, federation, set))?.primary?.pod ?? '';
  const start = await podsEverywhere(env, set);
  const uids = new Map(start.map((x) => [x.pod.metadata?.name ?? '', x.pod.metadata?.uid ?? '']));
  const memberOf = new Map(start.map((x) => [x.pod.metadata?.name ?? '', x.member]));
  const order: string[] = [];
  const at: number[] = [];
  const replaced = new Set<string>();
  const steps = new Set<string>();
  let primary = oldPrimary;
  let on = true;
  const loop = (async () => {
    while (on) {
      for (const x of await podsEverywhere(env, set).catch(() => [])) {
        const name = x.pod.metadata?.name ?? '';
        if (uids.has(name) && !replaced.has(name) && x.pod.metadata?.uid !== uids.get(name)) {
          replaced.add(name);
          order.push(`replace ${name}`);
          at.push(performance.now());
        }
      }
      const fs_ = await federationStatus(env, federation).catch(() => undefined);
      if (fs_?.step !== undefined) steps.add(`${fs_.step.id} ${fs_.step.state}`);
      const p = fs_?.shards?.find((y) => y.name === set)?.primary?.pod;
      if (p !== undefined && p !== primary) {
        order.push(`switchover ${primary} -> ${p}`);
        at.push(performance.now());
        primary = p;
      }
      await sleep(150);
    }
  })();
  return {
    pods: [...uids.keys()].sort(),
    memberOf,
    oldPrimary,
    replaced: () => replaced.size,
    seen: () => order.length,
    switched: () => order.filter((w) => w.startsWith('switchover')).length,
    async stop(): Promise<RolloutRecord> {
      on = false;
      await loop;
      return { order, at, steps: [...steps], primary };
    },
  };
}

/**
 * The order rule of a rolling update of a spread shard (what `dbtopo plan` prints): every
 * secondary, in every member cluster, replaced before the primary is handed over; the hand-over;
 * the old primary replaced last, no longer primary. `exactlyOneSwitchover`: the record moved once
 * (a manager killed mid-hand-over may move it back and forth; then the last move before the old
 * primary's replacement must leave it). Returns what broke the rule, or undefined.
 */
export function rollingOrderProblem(order: string[], pods: string[], oldPrimary: string, opts: { exactlyOneSwitchover?: boolean } = {}): string | undefined {
  const said = order.join(', ');
  const secondaries = pods.filter((p) => p !== oldPrimary);
  const firstSwitch = order.findIndex((w) => w.startsWith('switchover'));
  const oldAt = order.indexOf(`replace ${oldPrimary}`);
  if (oldAt < 0) return `${oldPrimary} (the old primary) was not replaced: ${said}`;
  for (const s of secondaries) {
    const at = order.indexOf(`replace ${s}`);
    if (at < 0) return `${s} was not replaced: ${said}`;
    if (firstSwitch >= 0 && at > firstSwitch) return `${s} replaced after the primary was handed over: ${said}`;
    if (at > oldAt) return `${s} replaced after the old primary: ${said}`;
  }
  const switches = order.filter((w) => w.startsWith('switchover'));
  if (switches.length === 0 || firstSwitch > oldAt) return `the old primary was replaced before any hand-over: ${said}`;
  if (opts.exactlyOneSwitchover === true && switches.length !== 1) return `${switches.length} hand-overs, not one: ${said}`;
  const lastBefore = order.slice(0, oldAt).filter((w) => w.startsWith('switchover')).at(-1)!;
  if (lastBefore.endsWith(`-> ${oldPrimary}`)) return `the old primary was primary again when it was replaced: ${said}`;
  if (order.slice(oldAt + 1).some((w) => w.startsWith('switchover'))) return `the primary moved after the old primary's replacement: ${said}`;
  return undefined;
}

/** What nextKillInstant watches: steps seen, hand-overs seen, per shard rollout (watchRollout). */
export interface KillWatch {
  /** Steps seen so far, all shards (replacements and hand-overs). */
  seen(): number;
  /** Hand-overs seen so far (a shard's recorded primary moved), all shards. */
  switched(): number;
  /** A shard's secondaries are all replaced and its record has not moved: its hand-over is next. */
  handOverNext(): boolean;
  /** switched() when nextKillInstant last returned (its kill): a record that moved while that kill ran counts for the next one. */
  switchedAtKill?: number;
}

/** The watch over several shards' rollouts (one for a single shard). */
export function killWatch(rollouts: Array<{ pods: string[]; replaced(): number; seen(): number; switched(): number }>): KillWatch {
  return {
    seen: () => rollouts.reduce((n, r) => n + r.seen(), 0),
    switched: () => rollouts.reduce((n, r) => n + r.switched(), 0),
    handOverNext: () => rollouts.some((r) => r.switched() === 0 && r.replaced() >= r.pods.length - 1),
  };
}

/**
 * The instant of the next kill of a manager during a rolling update, and where it fell: right
 * after the update's next step is seen (`seen()` grows: a pod replaced, a record moved), plus
 * 0–600 ms, or after `minMs`–`maxMs` when no step comes. 'hand-over' when a record moved in the
 * wait (the manager writes the new primary before it asks the engines to switch over, so the
 * engines' switchover and the replicas' rewiring are under way or next).
 *
 * A record that moved while the previous kill ran counts too (`switchedAtKill`), so no hand-over
 * falls between two waits unseen.
 *
 * `handOver` 'if-next' (no kill fell in a hand-over yet): while a hand-over is next, the wait is
 * for the record to move (≤ `handOverBoundMs`), then 0–300 ms; 'wait' (the last kill, and still
 * none fell in one): that wait whatever comes next. On a fast machine the whole update takes a
 * few seconds and the 1–3 s rhythm alone can miss its one hand-over; on a loaded one a fresh
 * manager needs 6–12 s before the member gate lets the update move, so the first kills all fall
 * before the first replacement and only the last one's wait meets the hand-over.
 */
export async function nextKillInstant(w: KillWatch, handOver: 'no' | 'if-next' | 'wait', minMs = 1_000, maxMs = 3_000, handOverBoundMs = 90_000): Promise<'step' | 'hand-over' | 'timer'> {
  const before = w.seen();
  const switchedBefore = w.switchedAtKill ?? w.switched();
  const waitForHandOver = handOver === 'wait' || (handOver === 'if-next' && (w.handOverNext() || w.switched() > switchedBefore));
  const deadline = performance.now() + (waitForHandOver ? handOverBoundMs : minMs + Math.random() * (maxMs - minMs));
  const at = (why: 'step' | 'hand-over' | 'timer'): typeof why => {
    w.switchedAtKill = w.switched();
    return why;
  };
  while (performance.now() < deadline) {
    if (w.switched() > switchedBefore) {
      await sleep(Math.floor(Math.random() * 300));
      return at('hand-over');
    }
    if (!waitForHandOver && w.seen() > before) {
      await sleep(Math.floor(Math.random() * 600));
      return at(w.switched() > switchedBefore ? 'hand-over' : 'step');
    }
    await sleep(25);
  }
  return at('timer');
}

/** 1 when the Redis at `ip` acts as an established primary (a master with a connected replica), else 0 (also when it does not answer). */
export async function redisEstablishedPrimary(ip: string): Promise<number> {
  const c = new Redis({ host: ip, port: 6379, lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 500, commandTimeout: 500, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const info = String(await c.info('replication'));
    return /role:master/.test(info) && Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0) > 0 ? 1 : 0;
  } catch {
    return 0;
  } finally {
    c.disconnect();
  }
}

/** The most `sample()` gave at one instant, sampled every `periodMs` until stop() (which waits for the sample under way). */
export function watchMost(sample: () => Promise<number>, periodMs = 200): { stop(): Promise<number> } {
  let most = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      most = Math.max(most, await sample().catch(() => 0));
      await sleep(periodMs);
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return most;
    },
  };
}

/**
 * The order `dbtopo plan` gives (compiler/plan/: diff → classify → the DAG of spreadSteps) for
 * `change` applied to the rendered objects of a spread shard in each member cluster (`objects`, by
 * member cluster in the environment's order, the canary first) and its Federation: the spread
 * chain's actions that replace or hand over servers, as `<type>@<member cluster>`, in plan order.
 */
export function planOrder(topology: string, objects: ReadonlyMap<string, k8s.KubernetesObject[]>, federation: k8s.KubernetesObject, change: (o: k8s.KubernetesObject) => k8s.KubernetesObject): string[] {
  const side = (f: (o: k8s.KubernetesObject) => k8s.KubernetesObject): PlanObject[] => [
    ...[...objects].flatMap(([m, objs]) => objs.map((o) => ({ env: 'prod', memberCluster: m, topology, object: f(o) as unknown as PlanObject['object'] }))),
    { env: 'prod', memberCluster: '_federation', topology, object: federation as unknown as PlanObject['object'] },
  ];
  const plan = buildPlan(side((o) => o), side(change), { allowMigration: false, acknowledgements: { delete: [], migrate: [] }, memberOrder: new Map([['prod', [...objects.keys()]]]) });
  return plan.actions
    .filter((a) => a.topology === topology && (a.memberCluster !== '_federation' ? a.type !== 'apply' : ['switchover', 'update-primary', 'move-ordinal'].includes(a.type)))
    .map((a) => `${a.type}@${a.memberCluster}`);
}

/**
 * A rolling update as it ran, in the plan's words: each pod replacement is its member cluster's
 * `update-secondaries` (the old primary's: `update-primary@_federation`), each hand-over
 * `switchover@_federation`; consecutive entries of one step collapsed. And what the plan's order
 * becomes for that shard: less a member cluster's `update-secondaries` when it held no secondary
 * (the primary alone there: nothing to replace, nothing recorded).
 */
export function rolloutInPlanTerms(order: readonly string[], memberOf: ReadonlyMap<string, string>, oldPrimary: string, planned: readonly string[]): { recorded: string[]; expected: string[] } {
  const steps = order.map((w) => {
    if (w.startsWith('switchover')) return 'switchover@_federation';
    const pod = w.replace(/^replace /, '');
    return pod === oldPrimary ? 'update-primary@_federation' : `update-secondaries@${memberOf.get(pod) ?? '?'}`;
  });
  const secondariesIn = new Set([...memberOf].filter(([p]) => p !== oldPrimary).map(([, m]) => m));
  return {
    recorded: steps.filter((s, i) => i === 0 || steps[i - 1] !== s),
    expected: planned.filter((s) => !s.startsWith('update-secondaries@') || secondariesIn.has(s.split('@')[1]!)),
  };
}
