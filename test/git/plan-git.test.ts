// `dbtopo plan` on a real Git repository built here over several commits: each change gives the
// expected classes, action order and exit code, in process (runPlan) and through the built CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlan, type PlanRun } from '../../compiler/plan/run.js';
import type { ClassifiedChange } from '../../compiler/plan/model.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/compiler/cli/main.js');
let dir = '';
const commits: Record<string, string> = {};

const ENV = `name: test
memberClusters:
  - name: canary
    destination: { server: https://canary.example.com }
    zones: [a, b]
  - name: main
    destination: { server: https://main.example.com }
    zones: [a, b]
namespace: db-{team}
defaults:
  storageClass: standard
  storageSize: 1Gi
  resources: { cpu: 250m, memory: 256Mi }
  sentinelResources: { cpu: 100m, memory: 64Mi }
  proxyResources: { cpu: 100m, memory: 64Mi }
argocd:
  repoURL: https://git.example.com/db-gitops.git
`;

function cache(o: { replicas?: number; storage?: string; params?: string }): string {
  return `name: cache
team: web
engine: redis
mode: replication
version: 7.2.4
replicas: ${o.replicas ?? 2}
storage: { size: ${o.storage ?? '5Gi'} }
sentinel: { replicas: 3, quorum: 2 }
placement: { memberClusters: [canary, main], memberClusterLoss: pause-writes }
parameters:
${o.params ?? '  maxmemory-policy: allkeys-lru'}
`;
}

function shards(n: number): string {
  return `name: feed
team: web
engine: redis
mode: sharded
version: 7.2.4
shards: ${n}
replicas: 2
storage: { size: 5Gi }
proxy: { replicas: 2 }
placement: { memberClusters: [main] }
`;
}

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' },
  }).trim();
}

function commit(name: string, files: Record<string, string | null>, from?: string): void {
  if (from) git('checkout', '-q', '--detach', commits[from] as string);
  for (const [path, text] of Object.entries(files)) {
    const p = join(dir, 'gitops', path);
    if (text === null) unlinkSync(p);
    else {
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, text);
    }
  }
  git('add', '-A');
  git('commit', '-q', '-m', name);
  commits[name] = git('rev-parse', 'HEAD');
  git('tag', name);
}

const plan = (base: string, head: string, extra: Partial<Parameters<typeof runPlan>[0]> = {}): Promise<PlanRun> =>
  runPlan({ repo: join(dir, 'gitops'), base, head, allowMigration: false, allowDelete: [], ...extra });

const byKind = (run: PlanRun, kind: string, name?: string): ClassifiedChange[] =>
  run.plan?.changes.filter((c) => c.kind === kind && (name === undefined || c.name === name)) ?? [];

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'plan', '--repo', join(dir, 'gitops'), ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // The GitOps repo sits in a sub-directory of the Git repo, like environments/ in dbtopo itself.
  dir = mkdtempSync(join(tmpdir(), 'dbtopo-plan-git-'));
  git('init', '-q', '-b', 'main');
  commit('c0-initial', { 'envs/test.yaml': ENV, 'topologies/cache.yaml': cache({}), 'topologies/feed.yaml': shards(2) });
  commit('c1-replicas', { 'topologies/cache.yaml': cache({ replicas: 3 }) });
  commit('c2-shards', { 'topologies/feed.yaml': shards(3) }, 'c0-initial');
  commit('c3-config', { 'topologies/cache.yaml': cache({ params: '  maxmemory-policy: volatile-lru' }) }, 'c0-initial');
  commit('c3b-config-restart', { 'topologies/cache.yaml': cache({ params: '  maxmemory-policy: allkeys-lru\n  databases: 32' }) }, 'c0-initial');
  commit('c4-shrink', { 'topologies/cache.yaml': cache({ storage: '4Gi' }) }, 'c0-initial');
  commit('c5-remove', { 'topologies/feed.yaml': null }, 'c0-initial');
  commit('c6-remove-acked', { 'acknowledgements.yaml': 'delete: [feed]\n' }, 'c5-remove');
  commit('c7-broken', { 'topologies/cache.yaml': 'name: cache\nengine: redis\n' }, 'c0-initial');
  git('checkout', '-q', '--detach', commits['c0-initial'] as string);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Generous per-test limits: each case compiles two repos, the CLI cases spawn several processes.
describe('plan on a real Git repository', { timeout: 120_000 }, () => {
  it('a replica bump is a scale-out in the canary member cluster, which goes first', async () => {
    const r = await plan('c0-initial', 'c1-replicas');
    expect(r.exitCode).toBe(0);
    const sets = byKind(r, 'InstanceSet', 'cache-server');
    // 2 → 3 servers over two member clusters: canary gets ordinals {0,1}; the compiler's global
    // ordinals move main's pod from ordinal 1 to 2, which the plan reports as a pod removal.
    expect(sets.map((c) => `${c.memberCluster} ${c.class} ${c.verdict.reason}`).sort()).toEqual([
      'canary scale-out replicas 1 → 2',
      'main scale-in pods cache-server-1 are removed (ordinals move; a switchover first if one is the primary)',
    ]);
    const wave = (id: string) => r.plan!.actions.find((a) => a.id === id)?.wave ?? -1;
    expect(wave('test/canary/cache/scale-out')).toBeGreaterThanOrEqual(0);
    expect(wave('test/main/cache/scale-in')).toBeGreaterThan(wave('test/canary/cache/scale-out'));
  });

  it('a shard scale-out is forbidden without --allow-migration and a scale-out with it', async () => {
    const refused = await plan('c0-initial', 'c2-shards');
    expect(refused.exitCode).toBe(4);
    expect(byKind(refused, 'Cluster', 'feed')[0]?.class).toBe('forbidden');
    expect(byKind(refused, 'InstanceSet', 'feed-shard-2')[0]?.class).toBe('forbidden');
    const allowed = await plan('c0-initial', 'c2-shards', { allowMigration: true });
    expect(allowed.exitCode).toBe(0);
    expect(byKind(allowed, 'InstanceSet', 'feed-shard-2')[0]?.class).toBe('scale-out');
    // the proxy learns the new shard after it exists
    const ids = allowed.plan!.actions.map((a) => a.id);
    expect(ids.indexOf('test/main/feed/scale-out')).toBeLessThan(ids.indexOf('test/main/feed/rolling-update'));
  });

  it('a config change: the parameter applies at runtime, but the config hash rolls the servers role-aware', async () => {
    const r = await plan('c0-initial', 'c3-config');
    expect(r.exitCode).toBe(0);
    const cm = byKind(r, 'ConfigMap', 'cache-server-config');
    expect(cm.map((c) => c.class)).toEqual(['safe', 'safe']);
    expect(cm[0]!.verdict.reason).toMatch(/maxmemory-policy can be applied at runtime/);
    const set = byKind(r, 'InstanceSet', 'cache-server')[0]!;
    expect(set.class).toBe('role-affecting');
    expect(set.fields.map((f) => f.rule)).toEqual(['config-hash']);
    const types = r.plan!.actions.filter((a) => a.memberCluster === 'canary').map((a) => a.type);
    expect(types).toEqual(['apply', 'update-secondaries']);
    // The shard is spread over canary and main: one switchover for it, by the federation manager (compiler/rollout/spread-steps.ts).
    expect(r.plan!.actions.filter((a) => a.topology === 'cache' && /update-secondaries|switchover|update-primary/.test(a.type)).map((a) => `${a.type}@${a.memberCluster}`)).toEqual([
      'update-secondaries@canary',
      'update-secondaries@main',
      'switchover@_federation',
      'update-primary@_federation',
    ]);
    const restart = await plan('c0-initial', 'c3b-config-restart');
    expect(byKind(restart, 'ConfigMap', 'cache-server-config')[0]!.verdict.reason).toMatch(/databases needs a restart/);
  });

  it('a storage shrink is forbidden', async () => {
    const r = await plan('c0-initial', 'c4-shrink');
    expect(r.exitCode).toBe(4);
    expect(r.plan!.forbidden.map((c) => `${c.memberCluster} ${c.kind}/${c.name} ${c.verdict.rule}`).sort()).toEqual([
      'canary InstanceSet/cache-server storage-size',
      'main InstanceSet/cache-server storage-size',
    ]);
  });

  it('removing a topology is forbidden until acknowledgements.yaml (or --allow-delete) names it', async () => {
    const refused = await plan('c0-initial', 'c5-remove');
    expect(refused.exitCode).toBe(4);
    expect(byKind(refused, 'Cluster', 'feed')[0]?.verdict.rule).toBe('topology-removed');
    const acked = await plan('c0-initial', 'c6-remove-acked');
    expect(acked.exitCode).toBe(0);
    expect(byKind(acked, 'Cluster', 'feed')[0]?.class).toBe('scale-in');
    expect(acked.plan!.actions.some((a) => a.id === 'test/main/feed/delete')).toBe(true);
    expect((await plan('c0-initial', 'c5-remove', { allowDelete: ['feed'] })).exitCode).toBe(0);
  });

  it('compile errors on one side give exit code 1 and no plan', async () => {
    const r = await plan('c0-initial', 'c7-broken');
    expect(r.exitCode).toBe(1);
    expect(r.plan).toBeUndefined();
    expect(r.head.diagnostics.some((d) => d.severity === 'error' && d.file === 'topologies/cache.yaml')).toBe(true);
  });

  it('plans against the work tree when --head is not given', async () => {
    writeFileSync(join(dir, 'gitops/topologies/cache.yaml'), cache({ replicas: 1 }));
    try {
      const r = await runPlan({ repo: join(dir, 'gitops'), base: 'c0-initial', allowMigration: false, allowDelete: [] });
      expect(r.head.commit).toBeUndefined();
      expect(r.head.ref).toBe('(work tree)');
      // one server left: it stays in the canary (no longer spread: its annotation and spec.spread go, its
      // member cluster's Sentinels watch it again, which may fail it over, and its redis.conf loses the spread
      // shard's min-replicas-to-write: role-affecting); main keeps only the sentinels
      expect(byKind(r, 'InstanceSet', 'cache-server').map((c) => `${c.memberCluster} ${c.type} ${c.class} ${c.verdict.rule}`)).toEqual([
        'canary changed role-affecting config-hash',
        'main removed scale-in shard-member-removed',
      ]);
      expect(byKind(r, 'InstanceSet', 'cache-server')[0]!.fields.map((f) => f.path).sort()).toEqual([
        '/metadata/annotations/dbtopo.dev~1spans-member-clusters',
        '/spec/engine/replication/sentinel/instanceSet',
        '/spec/engine/replication/sentinel/masterName',
        '/spec/engine/replication/sentinel/quorum',
        '/spec/spread/memberClusters',
        '/spec/template/metadata/annotations/dbtopo.dev~1config-hash',
      ]);
      expect(r.exitCode).toBe(0);
    } finally {
      git('checkout', '-q', '--', '.');
    }
  });
});

describe.runIf(existsSync(CLI))('the built CLI: dbtopo plan exit codes', { timeout: 180_000 }, () => {
  it('exits 0 for a scale-out, 4 for a forbidden change, 1 for compile errors, 2 for an unknown ref', () => {
    expect(cli('--base', 'c0-initial', '--head', 'c1-replicas').status).toBe(0);
    const shrink = cli('--base', 'c0-initial', '--head', 'c4-shrink');
    expect(shrink.status).toBe(4);
    expect(shrink.stdout).toContain('FORBIDDEN');
    expect(cli('--base', 'c0-initial', '--head', 'c7-broken').status).toBe(1);
    const bad = cli('--base', 'no-such-ref', '--head', 'c1-replicas');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown Git ref "no-such-ref"/);
    expect(cli('--head', 'c1-replicas').status).toBe(2); // --base is required
  });

  it('ci/scripts/pr-plan.sh validates, compiles and writes the plan in three formats with the plan exit code', () => {
    git('checkout', '-q', '--detach', commits['c4-shrink'] as string);
    try {
      const out = join(dir, 'pr-plan-out');
      const r = spawnSync('bash', [join(ROOT, 'ci/scripts/pr-plan.sh'), 'c0-initial', out], {
        cwd: join(dir, 'gitops'),
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, NO_COLOR: '1', DBTOPO: `${process.execPath} ${CLI}` },
      });
      expect(r.status, r.stderr).toBe(4);
      expect(JSON.parse(readFileSync(join(out, 'plan.json'), 'utf8')).exitCode).toBe(4);
      expect(readFileSync(join(out, 'plan.md'), 'utf8').startsWith('<!-- dbtopo-plan -->')).toBe(true);
      expect(readFileSync(join(out, 'plan.txt'), 'utf8')).toContain('FORBIDDEN');
      expect(existsSync(join(out, 'rendered/test/canary'))).toBe(true);
    } finally {
      git('checkout', '-q', '--detach', commits['c0-initial'] as string);
    }
  });

  it('writes JSON and Markdown to --out', () => {
    const out = join(dir, 'plan.json');
    expect(cli('--base', 'c0-initial', '--head', 'c2-shards', '--allow-migration', '--format', 'json', '--out', out).status).toBe(0);
    const md = cli('--base', 'c0-initial', '--head', 'c5-remove', '--format', 'markdown');
    expect(md.status).toBe(4);
    expect(md.stdout.startsWith('<!-- dbtopo-plan -->')).toBe(true);
  });
});
