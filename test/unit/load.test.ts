import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CODES } from '../../compiler/diagnostics/codes.js';
import { formatDiagnostic, type Diagnostic } from '../../compiler/diagnostics.js';
import { parseSources, readRepo, RepoNotFoundError, sourceKind } from '../../compiler/load/index.js';

const topo = (text: string, path = 'topologies/t.yaml') => parseSources([{ path, text }]);
const pick = (ds: Diagnostic[]) => ds.map((d) => ({ code: d.code, file: d.file, line: d.line, col: d.col }));

describe('load: bad YAML is a located diagnostic, never an exception', () => {
  it('malformed YAML (unclosed flow sequence)', () => {
    const r = topo('name: orders-db\nzones: [a, b\nreplicas: 3\n');
    expect(r.topologies).toHaveLength(0);
    expect(pick(r.diagnostics)).toContainEqual({ code: 'DBT1101', file: 'topologies/t.yaml', line: 3, col: 1 });
  });

  it('malformed YAML (tab indentation)', () => {
    const r = topo('name: x\nsentinel:\n\treplicas: 3\n');
    expect(pick(r.diagnostics)[0]).toEqual({ code: 'DBT1101', file: 'topologies/t.yaml', line: 3, col: 1 });
  });

  it('duplicate keys, nested too, each one reported', () => {
    const r = topo('name: a\nreplicas: 1\nsentinel:\n  quorum: 1\n  quorum: 2\nreplicas: 2\n');
    const dups = r.diagnostics.filter((d) => d.code === 'DBT1102');
    expect(dups.map((d) => [d.line, d.col])).toEqual([[5, 3], [6, 1]]);
    expect(dups[0]!.message).toContain('"quorum"');
    expect(r.topologies).toHaveLength(0);
  });

  it('billion laughs: anchors and aliases are rejected without expanding anything', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const t0 = performance.now();
    const r = topo(lines.join('\n') + '\n');
    const ms = performance.now() - t0;
    expect(r.topologies).toHaveLength(0);
    const anchors = r.diagnostics.filter((d) => d.code === 'DBT1103' && d.message.startsWith('anchor'));
    const aliases = r.diagnostics.filter((d) => d.code === 'DBT1103' && d.message.startsWith('alias'));
    expect(anchors).toHaveLength(10);
    // one per alias name, counting its uses
    expect(aliases).toHaveLength(9);
    expect(aliases[0]!.message).toBe('alias *a is not allowed (used 9 times)');
    expect(pick(anchors)[0]).toEqual({ code: 'DBT1103', file: 'topologies/t.yaml', line: 1, col: 4 });
    expect(pick(aliases)[0]).toEqual({ code: 'DBT1103', file: 'topologies/t.yaml', line: 2, col: 8 });
    // 9^10 strings would take minutes and gigabytes if anything expanded them.
    expect(ms).toBeLessThan(5_000);
  });

  it('merge keys ride on aliases and are rejected with them', () => {
    const r = topo('base: &b { replicas: 3 }\nname: x\nother:\n  <<: *b\n');
    expect(pick(r.diagnostics)).toEqual([
      { code: 'DBT1103', file: 'topologies/t.yaml', line: 1, col: 7 },
      { code: 'DBT1103', file: 'topologies/t.yaml', line: 4, col: 7 },
    ]);
  });

  it('__proto__, constructor and prototype keys, at any depth', () => {
    const r = topo('name: x\n__proto__:\n  polluted: true\nparameters:\n  constructor: 1\n  nested:\n    prototype: 2\n');
    expect(pick(r.diagnostics)).toEqual([
      { code: 'DBT1104', file: 'topologies/t.yaml', line: 2, col: 1 },
      { code: 'DBT1104', file: 'topologies/t.yaml', line: 5, col: 3 },
      { code: 'DBT1104', file: 'topologies/t.yaml', line: 7, col: 5 },
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('explicit tags such as !!js/function', () => {
    const r = topo('name: x\nversion: !!js/function "function () { return 1 }"\nreplicas: !custom 3\n');
    expect(pick(r.diagnostics)).toEqual([
      { code: 'DBT1107', file: 'topologies/t.yaml', line: 2, col: 10 },
      { code: 'DBT1107', file: 'topologies/t.yaml', line: 3, col: 11 },
    ]);
  });

  it('several documents in one file', () => {
    const r = topo('name: a\n---\nname: b\n');
    expect(pick(r.diagnostics)).toEqual([{ code: 'DBT1105', file: 'topologies/t.yaml', line: 2, col: 1 }]);
  });

  it('a trailing document marker alone is not a second document', () => {
    const r = topo('name: a\n---\n');
    expect(r.diagnostics.filter((d) => d.code !== 'DBT1111')).toEqual([]);
    expect(r.topologies).toHaveLength(1);
  });

  it('a root that is a list or a scalar, and an empty file', () => {
    expect(pick(topo('# only\n- a\n- b\n').diagnostics)).toEqual([{ code: 'DBT1106', file: 'topologies/t.yaml', line: 2, col: 1 }]);
    expect(pick(topo('hello\n').diagnostics)).toEqual([{ code: 'DBT1106', file: 'topologies/t.yaml', line: 1, col: 1 }]);
    expect(pick(topo('# yaml-language-server: $schema=x\n').diagnostics)).toEqual([{ code: 'DBT1108', file: 'topologies/t.yaml', line: 1, col: 1 }]);
  });

  it('complex and null keys', () => {
    const r = topo('name: x\n? [a, b]\n: 1\n');
    expect(pick(r.diagnostics)).toEqual([{ code: 'DBT1110', file: 'topologies/t.yaml', line: 2, col: 3 }]);
  });

  it('pathologically deep nesting is a diagnostic, not a stack overflow', () => {
    const r = topo(`name: x\nparameters: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    // located on the nested line; the exact column is wherever the parser's stack ran out
    expect(r.diagnostics.length).toBeGreaterThan(0);
    for (const d of r.diagnostics) expect([d.code, d.file, d.line]).toEqual(['DBT1101', 'topologies/t.yaml', 2]);
    expect(r.diagnostics[0]!.message).toContain('nests too deeply');
    expect(r.topologies).toEqual([]);
  });

  it('large mappings load in linear time (duplicate-key checking is not quadratic)', () => {
    // The escape sends the file through `yaml` (load/simple-yaml.ts reads no escapes), whose
    // duplicate-key check this is about; load-simple-yaml.test.ts times the fast path.
    const mapping = (keys: number) => `name: x\nparameters:\n  escaped: "\\u0076"\n${Array.from({ length: keys }, (_, i) => `  k${i}: v\n`).join('')}`;
    const time = (text: string) => {
      const t0 = performance.now();
      const r = topo(text);
      expect(r.topologies).toHaveLength(1);
      return performance.now() - t0;
    };
    time(mapping(2000)); // warm up the JIT
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]!;
    const small = median([0, 1, 2].map(() => time(mapping(4000))));
    const large = median([0, 1, 2].map(() => time(mapping(16000))));
    // 4x the keys: about 4x the time when linear, 16x when quadratic (it took minutes per MiB)
    expect(large / small).toBeLessThan(9);
  });

  it('files over the size limit are refused before parsing', () => {
    const r = topo(`name: x\nparameters:\n${'  k: v\n'.repeat(200_000)}`);
    expect(pick(r.diagnostics)).toEqual([{ code: 'DBT1109', file: 'topologies/t.yaml', line: 1, col: 1 }]);
  });

  it('reports problems of several files at once and keeps the good ones', () => {
    const r = parseSources([
      { path: 'envs/dev.yaml', text: 'name: dev\n' },
      { path: 'topologies/a.yaml', text: 'a: 1\na: 2\n' },
      { path: 'topologies/b.yaml', text: 'x: *nope\n' },
      { path: 'topologies/c.yaml', text: 'name: c\n' },
      { path: 'README.md', text: '# not yaml' },
    ]);
    expect(r.environments.map((e) => e.file)).toEqual(['envs/dev.yaml']);
    expect(r.topologies.map((t) => t.file)).toEqual(['topologies/c.yaml']);
    expect(new Set(r.diagnostics.map((d) => d.file))).toEqual(new Set(['topologies/a.yaml', 'topologies/b.yaml']));
  });

  it('never throws on arbitrary text, and every diagnostic is located and catalogued', () => {
    const yamlish = fc.array(
      fc.constantFrom('a: 1', '- x', '  b: [1, 2', '&x y', '*x', '!!str q', '"open', '? k', ': v', '---', '{a: 1}', '\t', '__proto__: 1', 'c: |', '   text', '#c', 'd: *x'),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), yamlish.map((ls) => ls.join('\n'))), (text) => {
        const r = topo(text);
        for (const d of r.diagnostics) {
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.col).toBeGreaterThanOrEqual(1);
          expect(Object.keys(CODES)).toContain(d.code);
          expect(formatDiagnostic(d)).not.toMatch(/\n\s+at /); // no stack trace
        }
        expect(r.topologies.length + (r.diagnostics.some((d) => d.severity === 'error') ? 1 : 0)).toBe(1);
      }),
      { numRuns: 400 },
    );
  });
});

describe('load: locate', () => {
  const text = '# modeline\nname: orders-db\nsentinel:\n  replicas: 3\ninstances:\n  - name: big\n    zone: eu-1a\n';
  const [t] = topo(text).topologies;

  it('points at the key of a mapping entry and at the item of a list', () => {
    expect(t!.locate(['name'])).toEqual({ line: 2, col: 1 });
    expect(t!.locate(['sentinel', 'replicas'])).toEqual({ line: 4, col: 3 });
    expect(t!.locate(['instances', 0])).toEqual({ line: 6, col: 5 });
    expect(t!.locate(['instances', 0, 'zone'])).toEqual({ line: 7, col: 5 });
  });

  it('stops at the deepest existing node for missing paths', () => {
    expect(t!.locate(['sentinel', 'quorum'])).toEqual({ line: 3, col: 1 });
    expect(t!.locate(['instances', 5, 'zone'])).toEqual({ line: 5, col: 1 });
    expect(t!.locate([])).toEqual({ line: 2, col: 1 });
  });
});

describe('load: repository files', () => {
  it('classifies files by place', () => {
    expect(sourceKind('envs/prod.yaml')).toBe('environment');
    expect(sourceKind('envs/sub/prod.yaml')).toBeUndefined();
    expect(sourceKind('topologies/team/a.yml')).toBe('topology');
    expect(sourceKind('rendered/prod/x.yaml')).toBeUndefined();
  });

  it('readRepo refuses a repository directory that does not exist, with what to do', async () => {
    await expect(readRepo('/nonexistent/gitops')).rejects.toThrow(RepoNotFoundError);
    await expect(readRepo('/nonexistent/gitops')).rejects.toThrow('pass --repo <dir> holding envs/ and topologies/');
  });

  it('readRepo returns the example repo sorted, with relative paths', async () => {
    const files = await readRepo(new URL('../../environments', import.meta.url).pathname);
    const paths = files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toContain('envs/prod.yaml');
    expect(paths.filter((p) => p.startsWith('topologies/')).length).toBeGreaterThanOrEqual(6);
    expect(paths.some((p) => p.startsWith('rendered/'))).toBe(false);
  });
});
