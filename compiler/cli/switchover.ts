// `dbtopo switchover <instanceset> [--to POD]`: asks the controller for a planned switchover by
// setting the dbtopo.dev/switchover annotation on the InstanceSet, then waits (bounded) until
// status.primary names the new primary. The controller does the work (its role loop, controller/roles/); the
// CLI only files the request, so a request survives the CLI being interrupted.
// Exit codes: 0 switched over (or already there), 1 timed out or refused, 2 usage, 3 API error.
import type { Command } from 'commander';
import { ANNOTATIONS, API_VERSION, type ConditionType, type InstanceSet } from '../../schemas/types/index.js';

export const SWITCHOVER_EXIT = { ok: 0, notDone: 1, usage: 2, internal: 3 } as const;

export interface SwitchoverCliOptions {
  to?: string;
  namespace?: string;
  kubeconfig?: string;
  timeout: string;
}

export type Outcome = { state: 'done'; primary: string } | { state: 'pending'; why: string } | { state: 'refused'; why: string };

/**
 * Pure: where a requested switchover stands, from the InstanceSet as the API server has it now.
 * `recordBefore`: status.switchover.startedAt when the request was filed; a record that starts
 * differently is this request's (the controller files it Requested, its role loop writes it
 * Running before it touches an engine, then Succeeded or Failed: schemas/types/instanceset.ts
 * SwitchoverStatus).
 */
export function switchoverOutcome(is: InstanceSet, previousPrimary: string | undefined, wanted: string | undefined, recordBefore?: string): Outcome {
  const primary = is.status?.primary;
  const pending = is.metadata.annotations?.[ANNOTATIONS.switchover];
  const moved = primary !== undefined && primary !== previousPrimary;
  if (moved && (wanted === undefined || primary === wanted)) return { state: 'done', primary };
  if (moved && wanted !== undefined) return { state: 'refused', why: `the primary moved to ${primary}, not to ${wanted}` };
  const rec = is.status?.switchover;
  if (rec !== undefined && rec.startedAt !== recordBefore) {
    if (rec.phase === 'Failed') return { state: 'refused', why: rec.message ?? 'the controller recorded a failure without a reason' };
    if (rec.phase === 'Running') return { state: 'pending', why: `switching over from ${rec.from} since ${rec.startedAt}` };
    if (rec.phase === 'Requested') return { state: 'pending', why: `requested at ${rec.startedAt}; the role loop carries it out${rec.message !== undefined ? ` (last try: ${rec.message})` : ''}` };
  }
  const failedType: ConditionType = 'SwitchoverFailed';
  const failed = is.status?.conditions?.find((c) => c.type === failedType && c.status === 'True');
  if (pending === undefined && failed) return { state: 'refused', why: failed.message };
  return { state: 'pending', why: pending === undefined ? 'the request was withdrawn' : `primary is still ${primary ?? '(none)'}` };
}

/** Pure: checks the request before anything is written. */
export function validateRequest(is: InstanceSet, to: string | undefined): string | undefined {
  if (!is.spec.roles || is.spec.roles.length === 0) return `${is.metadata.name} has no roles (it is not a server InstanceSet); nothing to switch over`;
  if (to !== undefined && !to.startsWith(`${is.metadata.name}-`)) return `--to ${to} is not a pod of ${is.metadata.name} (pods are named ${is.metadata.name}-<ordinal>)`;
  if (is.spec.replicas < 2) return `${is.metadata.name} has ${is.spec.replicas} replica; a switchover needs a secondary`;
  return undefined;
}

export async function runSwitchover(name: string, opts: SwitchoverCliOptions, out: (line: string) => void): Promise<number> {
  const timeoutMs = Number(opts.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    out(`dbtopo switchover: --timeout must be a positive number of seconds, not "${opts.timeout}"`);
    return SWITCHOVER_EXIT.usage;
  }
  // Loaded here, not at the top: the client costs ~1 s of CPU to load, and every dbtopo command
  // (compile included) imports this file to register the subcommand.
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  const namespace = opts.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const ref = { apiVersion: API_VERSION, kind: 'InstanceSet', metadata: { name, namespace } };
  let is: InstanceSet;
  try {
    is = (await api.read(ref)) as unknown as InstanceSet;
  } catch (err) {
    out(`dbtopo switchover: cannot read InstanceSet ${namespace}/${name}: ${errorText(err)}; check the name, --namespace and --kubeconfig`);
    return SWITCHOVER_EXIT.usage;
  }
  const invalid = validateRequest(is, opts.to);
  if (invalid) {
    out(`dbtopo switchover: ${invalid}`);
    return SWITCHOVER_EXIT.usage;
  }
  const previous = is.status?.primary;
  const recordBefore = is.status?.switchover?.startedAt;
  if (opts.to !== undefined && previous === opts.to) {
    out(`${opts.to} is already the primary of ${namespace}/${name}`);
    return SWITCHOVER_EXIT.ok;
  }
  const started = Date.now();
  try {
    await api.patch(
      { ...ref, metadata: { ...ref.metadata, annotations: { [ANNOTATIONS.switchover]: opts.to ?? 'any' } } },
      undefined,
      undefined,
      'dbtopo-cli',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
  } catch (err) {
    out(`dbtopo switchover: cannot annotate ${namespace}/${name}: ${errorText(err)}`);
    return SWITCHOVER_EXIT.internal;
  }
  out(`requested switchover of ${namespace}/${name} from ${previous ?? '(no primary)'} to ${opts.to ?? 'the best secondary'}; waiting up to ${timeoutMs / 1000} s`);
  let last: Outcome = { state: 'pending', why: 'not read yet' };
  let withdrawn = 0;
  for (let i = 0; i < 100_000 && Date.now() - started < timeoutMs; i++) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      last = switchoverOutcome((await api.read(ref)) as unknown as InstanceSet, previous, opts.to, recordBefore);
    } catch (err) {
      last = { state: 'pending', why: `cannot read the InstanceSet: ${errorText(err)}` };
    }
    // The controller consumed the request but the primary did not move: give status a few
    // polls to catch up with the labels, then report the refusal (its reason is in the Events).
    withdrawn = last.state === 'pending' && last.why === 'the request was withdrawn' ? withdrawn + 1 : 0;
    if (withdrawn >= 6) {
      last = { state: 'refused', why: 'the controller handled the request but the primary did not move (see the SwitchoverFailed Event and status.switchover)' };
    }
    if (last.state === 'done') {
      out(`switched over: ${previous ?? '(none)'} → ${last.primary} in ${Date.now() - started} ms`);
      return SWITCHOVER_EXIT.ok;
    }
    if (last.state === 'refused') break;
  }
  out(
    `dbtopo switchover: not done after ${Math.round((Date.now() - started) / 1000)} s: ${last.why}. ` +
      `The request (annotation ${ANNOTATIONS.switchover}) stays until the controller handles it; see \`kubectl -n ${namespace} describe instanceset ${name}\` for its Events.`,
  );
  return SWITCHOVER_EXIT.notDone;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}

export function registerSwitchover(program: Command): void {
  program
    .command('switchover')
    .description('move the primary role of a server InstanceSet to another pod (planned, no acknowledged write lost)')
    .argument('<instanceset>', 'server InstanceSet name, e.g. orders-db-server (feed-shards-shard-0 for a shard)')
    .option('--to <pod>', 'pod to promote (default: the most advanced healthy secondary)')
    .option('-n, --namespace <ns>', 'namespace (default: the kubeconfig context namespace)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--timeout <seconds>', 'how long to wait for the new primary', '120')
    .addHelpText(
      'after',
      `
The request is the annotation ${ANNOTATIONS.switchover} on the InstanceSet; the controller's role
loop carries it out (also after this command is interrupted) and records it in status.switchover.

Examples:
  dbtopo switchover orders-db-server -n db-commerce
  dbtopo switchover orders-db-server -n db-commerce --to orders-db-server-1
  kubectl dbtopo switchover feed-shards-shard-0 -n db-feed --timeout 60

Exit codes:
  0  the new primary is in status.primary (or the requested pod was primary already)
  1  not done within --timeout, or refused (the reason is printed)
  2  usage error (bad --timeout, --to not a pod of the set, a set without roles)
  3  API error (the InstanceSet could not be read or annotated)`,
    )
    .action(async (name: string, opts: SwitchoverCliOptions) => {
      process.exitCode = await runSwitchover(name, opts, (l) => process.stdout.write(`${l}\n`));
    });
}
