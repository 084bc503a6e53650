// dbtopo's Argo CD health checks (ci/argocd/health/**) evaluated by Argo CD itself: the
// dbtopo-argocd-health tool is built from the pinned Argo CD module (test/gitops/build-argocd.sh)
// and calls the code the application controller calls — the argocd-cm keys parsed by Argo CD's
// SettingsManager, gitops-engine's health.GetResourceHealth over lua.ResourceHealthOverrides,
// gopher-lua without the open libraries (no string, math, io…) unless useOpenLibs is set, and
// Argo CD's 1 s deadline. The ConfigMap under test is ci/argocd/argocd-cm-health.yaml, the file
// users merge into their argocd-cm (test/argocd/health.test.ts keeps it in sync with the .lua files).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { argocdVersion } from './argocd-bin.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HEALTH = join(ROOT, 'ci/argocd/health');
const CM = join(ROOT, 'ci/argocd/argocd-cm-health.yaml');

interface Result {
  group: string;
  kind: string;
  inputPath: string;
  overrideKey: string;
  hasScript: boolean;
  useOpenLibs: boolean;
  expectedStatus: string;
  expectedMessage: string;
  status: string;
  message: string;
  error?: string;
  millis: number;
}
interface Report {
  argocdVersion: string;
  overrides: string[] | null;
  results: Result[];
}

function evaluate(cm: string, cases: string): Report {
  const tool = join(inject('argocdBinDir'), 'dbtopo-argocd-health');
  const r = spawnSync(tool, ['--argocd-cm', cm, '--cases', cases], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${tool} exited ${String(r.status)}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

const tmp = mkdtempSync(join(tmpdir(), 'dbtopo-argocd-lua-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ci/argocd health checks under Argo CD', () => {
  const report = evaluate(CM, HEALTH);
  const cases = readdirSync(HEALTH).flatMap((group) =>
    readdirSync(join(HEALTH, group)).flatMap((kind) => {
      const spec = parse(readFileSync(join(HEALTH, group, kind, 'health_test.yaml'), 'utf8')) as { tests: Array<{ inputPath: string }> };
      return spec.tests.map((t) => `${group}/${kind}/${t.inputPath}`);
    }),
  );

  it(`runs under the pinned Argo CD (${argocdVersion()}) with a health override for Cluster, Federation and InstanceSet`, () => {
    // "+unknown": the module proxy gives no commit hash to stamp into the build
    expect(report.argocdVersion).toMatch(new RegExp(`^${argocdVersion().replaceAll(".", "\\.")}(\\+unknown)?$`));
    expect(report.overrides).toEqual(['dbtopo.dev/Cluster', 'dbtopo.dev/Federation', 'dbtopo.dev/InstanceSet']);
  });

  it('evaluates every health_test.yaml case', () => {
    expect(report.results.map((r) => `${r.group}/${r.kind}/${r.inputPath}`).sort()).toEqual(cases.sort());
    expect(cases.length).toBeGreaterThanOrEqual(31);
  });

  for (const r of report.results) {
    it(`${r.group}/${r.kind} ${r.inputPath} → ${r.expectedStatus}`, () => {
      // the argocd-cm key reaches this object's group/kind, and runs without the open libraries
      expect({ key: r.overrideKey, hasScript: r.hasScript, useOpenLibs: r.useOpenLibs }).toEqual({ key: `${r.group}/${r.kind}`, hasScript: true, useOpenLibs: false });
      expect(r.error).toBeUndefined();
      expect({ status: r.status, message: r.message }).toEqual({ status: r.expectedStatus, message: r.expectedMessage });
      expect(r.millis).toBeLessThan(1000);
    });
  }
});

describe("Argo CD's Lua sandbox, as this tool runs it", () => {
  // One throwaway argocd-cm with a check per kind: what a dbtopo check may and may not rely on.
  const checks: Record<string, { lua: string; openLibs?: boolean }> = {
    StringLib: { lua: 'local hs = {}\nhs.status = "Healthy"\nhs.message = string.upper("x")\nreturn hs\n' },
    StringMethod: { lua: 'local hs = {}\nhs.status = "Healthy"\nhs.message = ("x"):upper()\nreturn hs\n' },
    StringOpenLibs: { lua: 'local hs = {}\nhs.status = "Healthy"\nhs.message = string.upper(obj.spec.word)\nreturn hs\n', openLibs: true },
    Forever: { lua: 'local n = 0\nwhile true do n = n + 1 end\n' },
    BadStatus: { lua: 'return { status = "Fine", message = "not an Argo CD status" }\n' },
    Allowed: { lua: 'local t = {}\ntable.insert(t, tostring(#obj.spec.word))\nlocal os = require("os")\nreturn { status = "Degraded", message = table.concat(t, ",") .. " " .. type(os.time()) }\n' },
    // v3.2.11's OpenSafeOs registers its module under the table library's name, so a script sees
    // no global `os`: only require("os") (the preloaded safe module: time and date) works.
    GlobalOs: { lua: 'return { status = "Healthy", message = type(os) }\n' },
  };
  const data: Record<string, string> = {};
  for (const [kind, c] of Object.entries(checks)) {
    data[`resource.customizations.health.sandbox.test_${kind}`] = c.lua;
    if (c.openLibs) data[`resource.customizations.useOpenLibs.sandbox.test_${kind}`] = 'true';
    const dir = join(tmp, 'cases', 'sandbox.test', kind);
    mkdirSync(join(dir, 'testdata'), { recursive: true });
    writeFileSync(join(dir, 'testdata', 'obj.yaml'), stringify({ apiVersion: 'sandbox.test/v1', kind, metadata: { name: 'x', namespace: 'ns' }, spec: { word: 'abc' } }));
    writeFileSync(join(dir, 'health_test.yaml'), stringify({ tests: [{ healthStatus: { status: 'Healthy', message: '' }, inputPath: 'testdata/obj.yaml' }] }));
  }
  const cmFile = join(tmp, 'argocd-cm.yaml');
  writeFileSync(cmFile, stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: 'argocd' }, data }));
  const t0 = performance.now();
  const byKind = new Map(evaluate(cmFile, join(tmp, 'cases')).results.map((r) => [r.kind, r]));
  const wallMs = performance.now() - t0;
  const get = (kind: string): Result => {
    const r = byKind.get(kind);
    if (r === undefined) throw new Error(`no result for ${kind}`);
    return r;
  };

  it('has no string library without useOpenLibs, neither string.x nor ("s"):x()', () => {
    expect(get('StringLib')).toMatchObject({ status: 'Unknown', useOpenLibs: false });
    expect(get('StringLib').error).toMatch(/string/);
    expect(get('StringMethod')).toMatchObject({ status: 'Unknown' });
    expect(get('StringMethod').error).toMatch(/upper/);
  });

  it('has it with resource.customizations.useOpenLibs.<group>_<kind>: true', () => {
    expect(get('StringOpenLibs')).toMatchObject({ status: 'Healthy', message: 'ABC', useOpenLibs: true });
    expect(get('StringOpenLibs').error).toBeUndefined();
  });

  it('stops a script after 1 s', () => {
    const r = get('Forever');
    expect(r.status).toBe('Unknown');
    expect(r.error).toMatch(/context deadline exceeded|timeout/i);
    expect(r.millis).toBeGreaterThanOrEqual(990);
    expect(r.millis).toBeLessThan(3000);
    expect(wallMs).toBeLessThan(20_000);
  });

  it('turns a status Argo CD does not know into Unknown', () => {
    expect(get('BadStatus')).toMatchObject({ status: 'Unknown', message: 'Lua returned an invalid health status' });
  });

  it('keeps base, table and the safe os library (through require("os"); no global os)', () => {
    expect(get('Allowed')).toMatchObject({ status: 'Degraded', message: '3 number' });
    expect(get('Allowed').error).toBeUndefined();
    expect(get('GlobalOs')).toMatchObject({ status: 'Healthy', message: 'nil' });
  });
});
