// The pull-request path: the GitHub workflow in ci/github/ checked by actionlint (built from its Go
// module, test/gitops/ensure-actionlint.sh), its "Install dbtopo" step run for real on a copy of
// this checkout (npm ci, build, npm install --global into a throwaway prefix), and
// ci/scripts/pr-plan.sh run with that installed dbtopo on a real Git repository with a base
// branch and change branches, asserting the comment it writes.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './argocd-bin.js';

const ROOT = repoRoot();
const WORKFLOW = path.join(ROOT, 'ci/github/dbtopo-pr.yaml');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbtopo-prpath-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
}
const workflow = parse(fs.readFileSync(WORKFLOW, 'utf8')) as { jobs: Record<string, { steps: Step[] }> };

describe('ci/github/dbtopo-pr.yaml', () => {
  it('passes actionlint', () => {
    const dir = execFileSync('bash', [path.join(ROOT, 'test/gitops/ensure-actionlint.sh')], { encoding: 'utf8', timeout: 600_000 }).trim().split('\n').pop() ?? '';
    const r = spawnSync(path.join(dir, 'actionlint'), ['-no-color', WORKFLOW], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    // and actionlint does fail on a broken workflow
    const broken = path.join(work, 'broken.yaml');
    fs.writeFileSync(broken, fs.readFileSync(WORKFLOW, 'utf8').replace('${{ github.base_ref }}', '${{ github.base_reff }}'));
    const b = spawnSync(path.join(dir, 'actionlint'), ['-no-color', broken], { encoding: 'utf8', timeout: 60_000 });
    expect(b.status).toBe(1);
    expect(b.stdout).toMatch(/base_reff/);
  });

  it('builds dbtopo from source in both jobs (no registry package)', () => {
    for (const [job, { steps }] of Object.entries(workflow.jobs)) {
      const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@') && s.with?.['path'] === '.dbtopo');
      expect(checkout, job).toBeDefined();
      const install = steps.find((s) => s.name === 'Install dbtopo');
      expect(install?.run, job).toMatch(/npm ci --prefix \.dbtopo/);
      expect(install?.run, job).not.toMatch(/dbtopo@/);
    }
  });
});

describe('the pull-request path with the dbtopo the workflow installs', () => {
  const prefix = path.join(work, 'npm-prefix');
  const bin = path.join(prefix, 'bin');
  const repo = path.join(work, 'gitops');
  const env = { ...process.env, NPM_CONFIG_PREFIX: prefix, PATH: `${bin}:${process.env['PATH'] ?? ''}` };
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=dbtopo-test', '-c', 'user.email=test@dbtopo.invalid', ...args], { cwd: repo, encoding: 'utf8', timeout: 60_000 }).trim();

  beforeAll(() => {
    // the workspace of the job: .dbtopo/ holds this checkout's files (what actions/checkout would)
    const ws = path.join(work, 'workspace');
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '' && fs.existsSync(path.join(ROOT, f)));
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(ws, '.dbtopo', f)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, f), path.join(ws, '.dbtopo', f));
    }
    const install = workflow.jobs['plan']?.steps.find((s) => s.name === 'Install dbtopo')?.run;
    if (install === undefined) throw new Error('no Install dbtopo step');
    const t0 = performance.now();
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', install], { cwd: ws, env, encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`the workflow's Install dbtopo step failed (${String(r.status)}):\n${r.stdout}\n${r.stderr}`);
    process.stderr.write(`[pr-path figure] the workflow's Install dbtopo step: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

    // a GitOps repository: the example on main
    fs.mkdirSync(repo);
    git('init', '-q', '-b', 'main');
    for (const d of ['envs', 'topologies']) fs.cpSync(path.join(ROOT, 'environments', d), path.join(repo, d), { recursive: true });
    git('add', '-A');
    git('commit', '-q', '-m', 'the example');
  }, 600_000);

  const prPlan = (out: string): { status: number | null; stdout: string; stderr: string; md: string; json: unknown } => {
    const r = spawnSync('bash', [path.join(ROOT, 'ci/scripts/pr-plan.sh'), 'main', out], { cwd: repo, env, encoding: 'utf8', timeout: 300_000 });
    const md = fs.existsSync(path.join(repo, out, 'plan.md')) ? fs.readFileSync(path.join(repo, out, 'plan.md'), 'utf8') : '';
    const json: unknown = fs.existsSync(path.join(repo, out, 'plan.json')) ? JSON.parse(fs.readFileSync(path.join(repo, out, 'plan.json'), 'utf8')) : undefined;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, md, json };
  };

  it('installs a working dbtopo command', () => {
    expect(fs.existsSync(path.join(bin, 'dbtopo'))).toBe(true);
    const v = spawnSync('dbtopo', ['--version'], { env, encoding: 'utf8' });
    expect(v.stdout.trim()).toBe('0.1.0');
  });

  it('pr-plan.sh comments a scale-out on a change branch (exit 0)', () => {
    git('checkout', '-q', '-b', 'scale-sessions');
    const f = path.join(repo, 'topologies/sessions-cache.yaml');
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace(/^replicas: 2$/m, 'replicas: 3'));
    git('commit', '-q', '-am', 'sessions-cache: 3 servers');
    const r = prPlan('plan-out');
    expect(r.status, r.stderr).toBe(0);
    expect(r.md.startsWith('<!-- dbtopo-plan -->')).toBe(true);
    expect(r.md).toMatch(/sessions-cache/);
    expect(r.md).toMatch(/scale-out/);
    expect(JSON.stringify(r.json)).toMatch(/"class":"scale-out"/);
    expect(JSON.stringify(r.json)).not.toMatch(/"class":"forbidden"/);
    expect(fs.existsSync(path.join(repo, 'plan-out/plan.txt'))).toBe(true);
    expect(fs.readdirSync(path.join(repo, 'plan-out/rendered')).sort()).toEqual(['dev', 'prod', 'staging']);
  });

  it('pr-plan.sh comments a forbidden deletion and exits 4; acknowledged, it is a scale-in (exit 0)', () => {
    git('checkout', '-q', 'main');
    git('checkout', '-q', '-b', 'drop-flags');
    git('rm', '-q', 'topologies/feature-flags-cache.yaml');
    git('commit', '-q', '-m', 'drop feature-flags-cache');
    const r = prPlan('plan-forbidden');
    expect(r.status, r.stderr).toBe(4);
    expect(r.md.startsWith('<!-- dbtopo-plan -->')).toBe(true);
    expect(r.md).toMatch(/forbidden/i);
    expect(r.md).toMatch(/feature-flags-cache/);
    expect(JSON.stringify(r.json)).toMatch(/"class":"forbidden"/);
    fs.writeFileSync(path.join(repo, 'acknowledgements.yaml'), 'delete: [feature-flags-cache]\n');
    git('add', 'acknowledgements.yaml');
    git('commit', '-q', '-m', 'acknowledge the deletion');
    const ok = prPlan('plan-acknowledged');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.md).toMatch(/scale-in/);
    expect(JSON.stringify(ok.json)).not.toMatch(/"class":"forbidden"/);
  });
});
