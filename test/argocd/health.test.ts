// Every health_test.yaml case of ci/argocd/health/, run by the real Lua 5.1 interpreter (Argo CD
// runs gopher-lua, a Lua 5.1) through test/argocd/harness.lua, with the string library removed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { luaString, toLua } from './lua-table.js';
import { healthConfigMapYaml, readHealthScripts } from '../../compiler/argocd/health-cm.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HEALTH = join(ROOT, 'ci/argocd/health');
const HARNESS = join(ROOT, 'test/argocd/harness.lua');
const tmp = mkdtempSync(join(tmpdir(), 'dbtopo-lua-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface HealthTest {
  tests: Array<{ healthStatus: { status: string; message: string }; inputPath: string }>;
}

function runCheck(check: string, object: unknown): { status: string; message: string } {
  const objectFile = join(tmp, `obj-${Math.random().toString(36).slice(2)}.lua`);
  writeFileSync(objectFile, `return ${toLua(object)}\n`);
  const r = spawnSync('lua5.1', [HARNESS, objectFile, check], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`lua5.1 exited ${r.status}: ${r.stderr}`);
  const [status = '', message = ''] = r.stdout.split('\n');
  return { status, message };
}

const kinds = readdirSync(HEALTH).flatMap((group) => readdirSync(join(HEALTH, group)).map((kind) => ({ group, kind, dir: join(HEALTH, group, kind) })));

describe('Argo CD health checks under Lua 5.1', () => {
  it('covers Cluster and InstanceSet', () => {
    expect(kinds.map((k) => `${k.group}/${k.kind}`).sort()).toEqual(['dbtopo.dev/Cluster', 'dbtopo.dev/InstanceSet']);
  });

  for (const { group, kind, dir } of kinds) {
    const spec = parse(readFileSync(join(dir, 'health_test.yaml'), 'utf8')) as HealthTest;
    describe(`${group}/${kind}`, () => {
      for (const t of spec.tests) {
        it(`${t.inputPath} → ${t.healthStatus.status}`, () => {
          const object: unknown = parse(readFileSync(join(dir, t.inputPath), 'utf8'));
          expect(runCheck(join(dir, 'health.lua'), object)).toEqual(t.healthStatus);
        });
      }
      it('has a test case for every testdata file, and covers Healthy, Progressing and Degraded', () => {
        const files = readdirSync(join(dir, 'testdata')).map((f) => `testdata/${f}`).sort();
        expect(spec.tests.map((t) => t.inputPath).sort()).toEqual(files);
        const statuses = new Set(spec.tests.map((t) => t.healthStatus.status));
        for (const s of ['Healthy', 'Progressing', 'Degraded']) expect(statuses).toContain(s);
      });
    });
  }

  it('the harness really runs without the string library', () => {
    const check = join(tmp, 'uses-string.lua');
    writeFileSync(check, 'local hs = {}\nhs.status = string.upper("x")\nreturn hs\n');
    expect(() => runCheck(check, {})).toThrow(/string/);
    writeFileSync(check, 'local hs = {}\nhs.status = ("x"):upper()\nreturn hs\n');
    expect(() => runCheck(check, {})).toThrow(/lua5.1 exited 2/);
  });

  it('writes Lua strings byte-exactly', () => {
    const check = join(tmp, 'echo.lua');
    writeFileSync(check, 'return { status = obj.s, message = obj.list[2] .. tostring(obj.n) .. tostring(obj.none) }\n');
    expect(runCheck(check, { s: 'a"b\\c é', list: ['x', 'y'], n: 1.5, none: null })).toEqual({ status: 'a"b\\c é', message: 'y1.5nil' });
    expect(luaString('\n')).toBe('"\\10"');
  });
});

describe('ci/argocd/argocd-cm-health.yaml', () => {
  it('is in sync with the health.lua files (regenerate: node dist/compiler/argocd/write-health-cm.js)', () => {
    const file = join(ROOT, 'ci/argocd/argocd-cm-health.yaml');
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(healthConfigMapYaml(readHealthScripts(HEALTH)));
  });
});
