// The shape of ci/argocd/health/: a health_test.yaml case for every testdata file, Healthy,
// Progressing and Degraded covered, and the generated argocd-cm in sync with the .lua files. The
// cases themselves run under Argo CD's own Lua code (gopher-lua, util/lua, the 1 s deadline) in
// test/gitops/health-lua.test.ts, built from the pinned Argo CD module; they used to run under C
// lua5.1 here, which has libraries (math, io, the string metatable…) a custom check never gets.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import { healthConfigMapYaml, readHealthScripts } from '../../compiler/argocd/health-cm.js';
import { federationCrd } from '../../schemas/crds/federation.crd.js';
import { toJsonSchema } from '../support/crd-json-schema.js';

const ROOT = resolve(import.meta.dirname, '../..');
const HEALTH = join(ROOT, 'ci/argocd/health');

interface HealthTest {
  tests: Array<{ healthStatus: { status: string; message: string }; inputPath: string }>;
}

const kinds = readdirSync(HEALTH).flatMap((group) => readdirSync(join(HEALTH, group)).map((kind) => ({ group, kind, dir: join(HEALTH, group, kind) })));

describe('ci/argocd/health', () => {
  it('covers Cluster, Federation and InstanceSet', () => {
    expect(kinds.map((k) => `${k.group}/${k.kind}`).sort()).toEqual(['dbtopo.dev/Cluster', 'dbtopo.dev/Federation', 'dbtopo.dev/InstanceSet']);
  });

  it('dbtopo.dev/Federation: every testdata object is one the CRD accepts (the shape the federation manager writes)', () => {
    const schema = toJsonSchema(federationCrd.spec.versions[0]!.schema.openAPIV3Schema) as { properties: Record<string, unknown> };
    schema.properties.metadata = { type: 'object' };
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(schema);
    const dir = join(HEALTH, 'dbtopo.dev/Federation/testdata');
    for (const f of readdirSync(dir)) {
      const ok = validate(parse(readFileSync(join(dir, f), 'utf8')));
      expect(ok ? [] : validate.errors, f).toEqual([]);
    }
  });

  for (const { group, kind, dir } of kinds) {
    it(`${group}/${kind}: a test case for every testdata file, and Healthy, Progressing and Degraded covered`, () => {
      const spec = parse(readFileSync(join(dir, 'health_test.yaml'), 'utf8')) as HealthTest;
      const files = readdirSync(join(dir, 'testdata')).map((f) => `testdata/${f}`).sort();
      expect(spec.tests.map((t) => t.inputPath).sort()).toEqual(files);
      const statuses = new Set(spec.tests.map((t) => t.healthStatus.status));
      for (const s of ['Healthy', 'Progressing', 'Degraded']) expect(statuses).toContain(s);
      expect(existsSync(join(dir, 'health.lua'))).toBe(true);
    });
  }
});

describe('ci/argocd/argocd-cm-health.yaml', () => {
  it('is in sync with the health.lua files (regenerate: node dist/compiler/argocd/write-health-cm.js)', () => {
    const file = join(ROOT, 'ci/argocd/argocd-cm-health.yaml');
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(healthConfigMapYaml(readHealthScripts(HEALTH)));
  });
});
