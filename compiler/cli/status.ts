// `dbtopo status [--env E]`: which pod is primary in each shard, in every member cluster of an
// environment, and is anything switching over or updating: read live from each member cluster
// through a kubeconfig context (named like the member cluster unless --context says otherwise).
// The report itself is pure (status-report.ts); this file reads the environment files and the
// clusters. Exit codes: 0 every member cluster answered and every shard is healthy, 1 a member
// cluster could not be read or a shard has a problem, 2 usage, 3 internal.
import type { Command } from 'commander';
import { RepoNotFoundError, parseSources, readRepo } from '../load/index.js';
import type { InstanceSet } from '../../schemas/types/index.js';
import { EXIT } from './exit.js';
import { parseFormat } from './output.js';
import { repoDir } from './repo.js';
import { buildStatus, renderStatus, type MemberRead, type PodLike } from './status-report.js';

export interface StatusCliOptions {
  env?: string;
  namespace?: string;
  repo?: string;
  kubeconfig?: string;
  context: string[];
  format: string;
  timeout: string;
}

/** The member clusters of each environment file, read loosely: status must work on a repo with errors elsewhere. */
export function memberClusters(values: unknown[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const v of values) {
    const env = v as { name?: unknown; memberClusters?: Array<{ name?: unknown }> };
    if (typeof env.name !== 'string' || !Array.isArray(env.memberClusters)) continue;
    out.set(env.name, env.memberClusters.map((m) => m.name).filter((n): n is string => typeof n === 'string'));
  }
  return out;
}

/** `--context member=context` pairs; a bad one is a usage error. */
export function contextMap(pairs: string[]): Map<string, string> | string {
  const out = new Map<string, string>();
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0 || i === p.length - 1) return `--context ${p}: expected <member-cluster>=<kubeconfig-context>`;
    out.set(p.slice(0, i), p.slice(i + 1));
  }
  return out;
}

export async function runStatus(opts: StatusCliOptions, out: (text: string) => void, err: (line: string) => void): Promise<number> {
  const format = parseFormat(opts.format);
  const timeoutMs = Number(opts.timeout) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    err(`dbtopo status: --timeout must be a positive number of seconds, not "${opts.timeout}"`);
    return EXIT.usage;
  }
  const contexts = contextMap(opts.context);
  if (typeof contexts === 'string') {
    err(`dbtopo status: ${contexts}`);
    return EXIT.usage;
  }
  const repo = repoDir(opts.repo);
  let sources;
  try {
    sources = await readRepo(repo);
  } catch (e) {
    if (!(e instanceof RepoNotFoundError)) throw e;
    err(`dbtopo status: ${e.message}`);
    return EXIT.usage;
  }
  const envs = memberClusters(parseSources(sources).environments.map((e) => e.value));
  const names = [...envs.keys()].sort();
  const env = opts.env ?? (names.length === 1 ? names[0] : undefined);
  if (env === undefined || !envs.has(env)) {
    err(`dbtopo status: ${opts.env === undefined ? 'which environment? pass --env' : `no environment "${opts.env}"`} (environments in ${repo}: ${names.join(', ') || 'none'})`);
    return EXIT.usage;
  }
  // Loaded here: the Kubernetes client costs ~1 s to load, and every command imports this file.
  const k8s = await import('@kubernetes/client-node');
  const { KubeClient, resourcePath } = await import('../../controller/runtime/kube.js');
  const base = new k8s.KubeConfig();
  try {
    if (opts.kubeconfig !== undefined) base.loadFromFile(opts.kubeconfig);
    else base.loadFromDefault();
  } catch (e) {
    err(`dbtopo status: cannot read the kubeconfig ${opts.kubeconfig ?? '($KUBECONFIG or ~/.kube/config)'}: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT.usage;
  }
  const known = new Set(base.getContexts().map((c) => c.name));

  const read = async (member: string): Promise<MemberRead> => {
    const context = contexts.get(member) ?? member;
    if (!known.has(context)) {
      return { member, error: `no kubeconfig context "${context}" (pass --context ${member}=<context>; contexts: ${[...known].join(', ') || 'none'})`, sets: [], pods: [] };
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromString(base.exportConfig());
    kc.setCurrentContext(context);
    const client = new KubeClient(kc);
    try {
      const [sets, pods] = await Promise.all([
        client.request<{ items: InstanceSet[] }>('list', 'GET', resourcePath('InstanceSet', opts.namespace), { timeoutMs }),
        client.request<{ items: PodLike[] }>('list', 'GET', resourcePath('Pod', opts.namespace), { query: { labelSelector: 'dbtopo.dev/instance-set' }, timeoutMs }),
      ]);
      return { member, context, sets: sets.items, pods: pods.items };
    } catch (e) {
      return { member, context, error: e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e), sets: [], pods: [] };
    } finally {
      client.close();
    }
  };
  const report = buildStatus(env, await Promise.all((envs.get(env) ?? []).map(read)));
  out(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
  return report.ok ? EXIT.ok : EXIT.diagnostics;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('which pod is primary in each shard, in every member cluster, and what is switching over or updating (live)')
    .option('--env <name>', 'environment whose member clusters to read (default: the only one)')
    .option('--repo <dir>', 'GitOps repository with envs/ (default: the current directory if it has envs/, else the embedded example)')
    .option('-n, --namespace <ns>', 'only this namespace (default: every namespace)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <member=context>', 'kubeconfig context of a member cluster (default: the context named like it); repeatable', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--format <text|json>', 'output format', 'text')
    .option('--timeout <seconds>', 'how long to wait for each member cluster', '10')
    .addHelpText(
      'after',
      `
Examples:
  dbtopo status --env prod
  dbtopo status --env prod --context prod-eu-west=admin@eu-west --format json
  dbtopo status --env prod -n db-commerce   one namespace only
  kubectl dbtopo status --env staging        (as a kubectl plugin: kubectl-dbtopo on PATH)

Exit codes:
  0  every member cluster answered; every shard has one primary and all pods Ready
  1  a member cluster could not be read, or a shard has a problem (printed with "!")
  2  usage error (unknown environment, bad --context)
  3  internal error`,
    )
    .action(async (opts: StatusCliOptions) => {
      process.exitCode = await runStatus(opts, (t) => process.stdout.write(t), (l) => process.stderr.write(`${l}\n`));
    });
}
