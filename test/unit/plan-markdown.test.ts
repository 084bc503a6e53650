import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../compiler/plan/plan.js';
import type { PlanObject } from '../../compiler/plan/model.js';
import type { PlanRun } from '../../compiler/plan/run.js';
import { COMMENT_MARKER, GITHUB_COMMENT_LIMIT, renderMarkdown } from '../../compiler/plan/render/markdown.js';
import { renderJson } from '../../compiler/plan/render/json.js';
import { renderText, useColor } from '../../compiler/plan/render/text.js';
import { noAcks, topology } from './plan-fixtures.js';

function run(base: PlanObject[], head: PlanObject[], opts = noAcks): PlanRun & { plan: ReturnType<typeof buildPlan> } {
  const plan = buildPlan(base, head, opts);
  return {
    base: { ref: 'main', commit: 'a'.repeat(40), diagnostics: [] },
    head: { ref: 'feature', commit: 'b'.repeat(40), diagnostics: [] },
    plan,
    exitCode: plan.forbidden.length > 0 ? 4 : 0,
  };
}

/**
 * Structure check per CommonMark: fenced code blocks open with ≥3 backticks and close only with a
 * fence at least as long; <details>/<summary> outside code blocks must nest and close.
 */
function checkBalanced(md: string): { fences: number; details: number } {
  let fence: string | undefined;
  let fences = 0;
  let details = 0;
  const stack: string[] = [];
  for (const line of md.split('\n')) {
    const m = /^ {0,3}(`{3,})(.*)$/.exec(line);
    if (fence !== undefined) {
      if (m && m[1]!.length >= fence.length && m[2]!.trim() === '') fence = undefined;
      continue;
    }
    if (m) {
      fence = m[1];
      fences++;
      continue;
    }
    for (const tag of line.matchAll(/<(\/?)(details|summary)>/g)) {
      if (tag[1] === '') {
        stack.push(tag[2]!);
        if (tag[2] === 'details') details++;
      } else expect(stack.pop(), `closing </${tag[2]}> matches its opening tag`).toBe(tag[2]);
    }
  }
  expect(fence, 'every code fence is closed').toBeUndefined();
  expect(stack, 'every <details>/<summary> is closed').toEqual([]);
  return { fences, details };
}

describe('plan markdown comment', () => {
  it('starts with the marker, has a summary table, badges and one collapsible diff per topology', () => {
    const md = renderMarkdown(
      run(
        [...topology({ name: 'a', replicas: 2 }), ...topology({ name: 'b', storage: '10Gi' })],
        [...topology({ name: 'a', replicas: 3 }), ...topology({ name: 'b', storage: '5Gi' })],
      ),
    );
    expect(md.startsWith(COMMENT_MARKER)).toBe(true);
    expect(md).toContain('| `prod/member-a` |');
    expect(md).toContain('⛔ forbidden');
    expect(md).toMatch(/<summary>⛔ forbidden <b>prod\/b<\/b>/);
    expect(md).toContain('- /spec/replicas: 2\n+ /spec/replicas: 3');
    // riskiest section first
    expect(md.indexOf('<b>prod/b</b>')).toBeLessThan(md.indexOf('<b>prod/a</b>'));
    expect(checkBalanced(md)).toEqual({ fences: 2, details: 3 });
  });

  it('uses a longer fence when a value contains backticks', () => {
    const md = renderMarkdown(run(topology({ name: 'a', config: 'maxmemory 1gb\n' }), topology({ name: 'a', config: 'maxmemory 1gb\n# ```` not a fence\n' })));
    expect(md).toContain('`````diff');
    checkBalanced(md);
  });

  it('a change touching 300 topologies stays under 65,536 characters with every block well-formed', () => {
    const names = Array.from({ length: 300 }, (_, i) => `topology-with-a-long-name-${String(i).padStart(3, '0')}`);
    const base = names.flatMap((name) => topology({ name, image: 'redis:7.2.4', config: 'maxmemory 1gb\n' + 'x'.repeat(100) + '\n' }));
    const head = names.flatMap((name, i) =>
      topology({ name, image: i % 3 === 0 ? 'redis:7.2.5' : 'redis:7.2.4', replicas: i % 5 === 0 ? 4 : 3, config: 'maxmemory 2gb\n' + 'y'.repeat(100) + '\n' }),
    );
    const r = run(base, head);
    expect(r.plan.changes.length).toBeGreaterThan(300);
    const md = renderMarkdown(r, { artifact: 'https://ci.example/plan.json' });
    expect(md.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    const { details } = checkBalanced(md);
    const shown = details - 1; // the waves section is a <details> too
    const dropped = Number(/(\d+) topology sections were left out/.exec(md)?.[1]);
    expect(shown + dropped).toBe(300);
    expect(dropped).toBeGreaterThan(0);
    expect(md).toContain('https://ci.example/plan.json');
    // lowest risk dropped first: every shown section is at least as risky as every dropped one
    expect(md).toMatch(/left out .*\(\d+ (safe|rolling-restart|role-affecting)/);
    const shownRoleAffecting = (md.match(/<summary>🟠 role-affecting/g) ?? []).length;
    expect(shownRoleAffecting).toBeGreaterThan(0);
  });

  it('keeps any limit it is given, down to a summary-only comment', () => {
    const names = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const r = run(names.flatMap((name) => topology({ name })), names.flatMap((name) => topology({ name, replicas: 5 })));
    for (const limit of [4_000, 8_000, 20_000]) {
      const md = renderMarkdown(r, { limit });
      expect(md.length).toBeLessThanOrEqual(limit);
      checkBalanced(md);
    }
  });
});

describe('plan text and JSON', () => {
  const r = run(topology({ name: 'a', replicas: 2, storage: '10Gi' }), topology({ name: 'a', replicas: 3, storage: '1Gi' }));

  it('prints the summary first and no colour when asked for none', () => {
    const text = renderText(r, { color: false });
    expect(text.split('\n')[1]).toMatch(/^2 object changes \(0 added, 2 changed, 0 removed\)/);
    expect(text).toContain('FORBIDDEN (1)');
    expect(text).not.toContain('\u001b[');
    expect(renderText(r, { color: true })).toContain('\u001b[');
  });

  it('honours NO_COLOR and non-TTY streams', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
  });

  it('emits the documented JSON schema', () => {
    const j = JSON.parse(renderJson(r)) as Record<string, unknown> & { summary: { byClass: Record<string, number>; highestClass: string }; changes: Array<{ fields: unknown[] }> };
    expect(Object.keys(j)).toEqual(['schemaVersion', 'base', 'head', 'exitCode', 'summary', 'clusters', 'changes', 'actions', 'waves', 'diagnostics']);
    expect(j['schemaVersion']).toBe('dbtopo.dev/plan/v1');
    expect(j['exitCode']).toBe(4);
    expect(j.summary.highestClass).toBe('forbidden');
    expect(j.summary.byClass).toEqual({ safe: 1, 'scale-out': 0, 'rolling-restart': 0, 'role-affecting': 0, 'scale-in': 0, forbidden: 1 });
  });
});
