// `dbtopo plan` between two refs of a generated 1,000-topology GitOps repo (3 environments,
// 6 member clusters) where the head commit changes 50 topologies (replicas, parameters, storage
// growth and one shrink, a removal). Target: < 5 s for the whole plan. Prints figures only.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPlan } from '../../compiler/plan/plan.js';
import { readSourcesAt } from '../../compiler/plan/git-sources.js';
import { renderMarkdown } from '../../compiler/plan/render/markdown.js';
import { compileSide, runPlan } from '../../compiler/plan/run.js';

const TOPOLOGIES = Number(process.env['DBTOPO_BENCH_TOPOLOGIES'] ?? 1000);
const CHANGED = 50;

function env(name: string, members: string[]): string {
  const clusters = members.map((m) => `  - name: ${m}\n    destination: { name: ${m} }\n    zones: [${m}-a, ${m}-b, ${m}-c]\n`).join('');
  return `name: ${name}\nmemberClusters:\n${clusters}namespace: db-{team}-${name}\ndefaults:\n  storageSize: 20Gi\nargocd:\n  repoURL: https://git.example.com/gitops.git\n`;
}

/** `change` 0..4 picks the edit: replicas up, a parameter, storage growth, storage shrink, replicas up. */
function topology(i: number, change?: number): string {
  const name = `db-${String(i).padStart(4, '0')}`;
  const team = `team-${i % 10}`;
  const variant = change ?? -1;
  const replicas = variant === 0 ? 4 : 3;
  const params = variant === 1 ? 'volatile-lru' : 'allkeys-lru';
  const storage = variant === 2 ? '30Gi' : variant === 3 ? '10Gi' : '20Gi';
  switch (i % 3) {
    case 0:
      return `name: ${name}\nteam: ${team}\nengine: redis\nmode: replication\nversion: 7.2.4\nreplicas: ${replicas}\nstorage: { size: ${storage} }\nsentinel: { replicas: 3, quorum: 2 }\nparameters: { maxmemory-policy: ${params} }\n`;
    case 1:
      return `name: ${name}\nteam: ${team}\nengine: redis\nmode: sharded\nversion: 7.2.4\nshards: 3\nreplicas: ${replicas - 1}\nstorage: { size: ${storage} }\nproxy: { replicas: 2 }\nparameters: { maxmemory-policy: ${params} }\n`;
    default:
      return `name: ${name}\nteam: ${team}\nengine: mysql\nmode: primary-replica\nversion: "10.11"\nreplicas: ${replicas}\nstorage: { size: ${storage} }\nproxy: { replicas: 2 }\ncredentials: { password: { name: ${name}-admin, key: password } }\n`;
  }
}

const ms = (t0: number): string => `${(performance.now() - t0).toFixed(0)} ms`;

export default async function bench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dbtopo-plan-bench-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@e', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@e' } });
  try {
    mkdirSync(join(dir, 'envs'));
    mkdirSync(join(dir, 'topologies'));
    writeFileSync(join(dir, 'envs/dev.yaml'), env('dev', ['dev-a']));
    writeFileSync(join(dir, 'envs/staging.yaml'), env('staging', ['staging-a', 'staging-b']));
    writeFileSync(join(dir, 'envs/prod.yaml'), env('prod', ['prod-a', 'prod-b', 'prod-c']));
    const file = (i: number) => join(dir, 'topologies', `db-${String(i).padStart(4, '0')}.yaml`);
    for (let i = 0; i < TOPOLOGIES; i++) writeFileSync(file(i), topology(i));
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    git('tag', 'base');
    const step = Math.floor(TOPOLOGIES / CHANGED);
    for (let k = 0; k < CHANGED; k++) writeFileSync(file(k * step), topology(k * step, k % 5));
    unlinkSync(file(TOPOLOGIES - 1));
    writeFileSync(join(dir, 'acknowledgements.yaml'), `delete: [db-${String(TOPOLOGIES - 1).padStart(4, '0')}]\n`);
    git('add', '-A');
    git('commit', '-q', '-m', 'head');
    git('tag', 'head');

    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const run = await runPlan({ repo: dir, base: 'base', head: 'head', allowMigration: false, allowDelete: [] });
    const total = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (!run.plan) throw new Error(`bench repo does not compile: ${run.head.diagnostics[0]?.message ?? run.base.diagnostics[0]?.message}`);

    // The same plan step by step, to show where the time goes.
    let t = performance.now();
    const [base, head] = await Promise.all([readSourcesAt(dir, 'base'), readSourcesAt(dir, 'head')]);
    const read = ms(t);
    t = performance.now();
    const b = compileSide(base.files);
    const compileBase = ms(t);
    t = performance.now();
    const h = compileSide(head.files);
    const compileHead = ms(t);
    t = performance.now();
    const plan = buildPlan(b.objects, h.objects, { allowMigration: false, acknowledgements: { delete: [], migrate: [] }, memberOrder: new Map() });
    const diff = ms(t);
    t = performance.now();
    const md = renderMarkdown({ ...run, plan: run.plan });
    const markdown = ms(t);

    console.log(`[plan] ${TOPOLOGIES} topologies, ${b.objects.length} → ${h.objects.length} rendered objects, ${CHANGED} topologies changed + 1 removed`);
    console.log(`[plan] ${run.plan.changes.length} object changes, ${run.plan.actions.length} actions in ${run.plan.waves.length} waves, forbidden ${run.plan.forbidden.length}, exit ${run.exitCode}`);
    console.log(`[plan] whole plan (read both refs from Git, compile both in memory, diff, classify, DAG): ${total.toFixed(0)} ms (target < 5000 ms)${total < 5000 ? '' : '  ** over target **'}; CPU ${cpuSeconds.toFixed(1)} s of this process (git runs in children); load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} CPUs`);
    console.log(`[plan]   read refs ${read}, compile base ${compileBase}, compile head ${compileHead}, diff+classify+DAG ${diff} (${plan.changes.length} changes)`);
    console.log(`[plan]   markdown comment ${markdown}: ${md.length} characters`);
  } finally {
    if (process.env['DBTOPO_BENCH_KEEP']) console.log(`[plan] kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
