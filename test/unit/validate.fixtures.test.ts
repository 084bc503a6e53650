// The bad-input fixture repository, end to end (readRepo → parseSources → validate → format):
// one file per class of mistake, all reported in one run, compared with a reviewed text file.
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../compiler/diagnostics.js';
import { parseSources, readRepo } from '../../compiler/load/index.js';
import { validate } from '../../compiler/validate/index.js';

const repo = new URL('../fixtures/bad/', import.meta.url);
const expectedFile = new URL('expected-diagnostics.txt', repo);

describe('validate: the bad fixture repository', () => {
  it('reports every mistake of every file at once, as reviewed', async () => {
    const files = await readRepo(repo.pathname);
    const r = validate(parseSources(files));
    const text = `${r.diagnostics.map(formatDiagnostic).join('\n')}\n`;
    if (process.env['DBTOPO_UPDATE_FIXTURES'] === '1') await writeFile(expectedFile, text);
    expect(text).toBe(await readFile(expectedFile, 'utf8'));

    // Every topology file is broken but the first of two with the same name; both environments are fine.
    expect(r.topologies.map((t) => t.file)).toEqual(['topologies/duplicate-name-a.yaml']);
    expect(r.environments.map((e) => e.value.name)).toEqual(['dev', 'prod']);
    const broken = new Set(r.diagnostics.map((d) => d.file));
    for (const f of files.filter((f) => f.path.startsWith('topologies/') && f.path !== 'topologies/duplicate-name-a.yaml')) {
      expect(broken, f.path).toContain(f.path);
    }
  });
});
