// The GitHub workflow runs validate, compile and plan, and updates one comment by its marker.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMENT_MARKER } from '../../compiler/plan/render/markdown.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Workflow {
  on: { pull_request: unknown; push: { branches: string[] } };
  jobs: Record<string, { if: string; steps: Array<{ name?: string; run?: string; with?: { script?: string } }> }>;
}

describe('ci/github/dbtopo-pr.yaml', () => {
  const wf = parse(readFileSync(join(ROOT, 'ci/github/dbtopo-pr.yaml'), 'utf8')) as Workflow;

  it('plans pull requests and posts or updates one comment found by the marker', () => {
    const steps = wf.jobs['plan']!.steps;
    const runs = steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/dbtopo validate/);
    expect(runs).toMatch(/dbtopo compile/);
    expect(runs).toMatch(/dbtopo plan .*--format markdown/);
    const script = steps.find((s) => s.with?.script)?.with?.script ?? '';
    expect(script).toContain(COMMENT_MARKER);
    expect(script).toMatch(/updateComment/);
    expect(script).toMatch(/createComment/);
    expect(wf.jobs['plan']!.if).toContain('pull_request');
  });

  it('renders and commits manifests on pushes to main', () => {
    expect(wf.on.push.branches).toEqual(['main']);
    const runs = wf.jobs['render']!.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/dbtopo compile/);
    expect(runs).toMatch(/git commit/);
    expect(runs).toMatch(/git push/);
  });
});
