// schemas/modes.ts is the one table of modes, and schemas/ is the leaf of the project: the JSON
// Schema, the Cluster CRD, the semantic rules and the generated reference all follow the table,
// and nothing under schemas/ imports the compiler or the controller.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { ALL_MODES, MODES, MYSQL_MODES, REDIS_MODES } from '../../schemas/modes.js';
import { topologySchema } from '../../schemas/topology.schema.js';
import { PROXY, SENTINEL } from '../../compiler/validate/topology-rules.js';

const ROOT = resolve(import.meta.dirname, '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('the mode table', () => {
  it('gives the topology schema its modes, per engine', () => {
    expect(topologySchema.properties.mode.enum).toEqual([...REDIS_MODES, ...MYSQL_MODES]);
    expect([...REDIS_MODES, ...MYSQL_MODES].sort()).toEqual([...ALL_MODES].sort());
    for (const m of REDIS_MODES) expect(MODES[m].engine).toBe('redis');
    for (const m of MYSQL_MODES) expect(MODES[m].engine).toBe('mysql');
  });

  it('gives the Cluster CRD and the semantic rules the same modes', () => {
    const spec = clusterCrd.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec as { properties: { mode: { enum: string[] } } };
    expect(spec.properties.mode.enum).toEqual(ALL_MODES);
    for (const m of ALL_MODES) {
      expect(SENTINEL[m]).toBe(MODES[m].sentinel);
      expect(PROXY[m]).toBe(MODES[m].proxy);
    }
  });

  it('is listed, mode by mode with its description, in docs/topology-language.md', () => {
    const doc = readFileSync(join(ROOT, 'docs/topology-language.md'), 'utf8');
    for (const m of ALL_MODES) expect(doc).toContain(`| \`${m}\` | ${MODES[m].doc} |`);
  });

  it('schemas/ imports nothing from the compiler or the controller', () => {
    const offenders = tsFiles(join(ROOT, 'schemas')).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1] ?? '').filter((spec) => /(^|\/)(compiler|controller)\//.test(spec)).map((spec) => `${f.slice(ROOT.length + 1)}: ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});
