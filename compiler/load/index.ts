// compiler/load: source files → parsed YAML values that remember where each field was written.
import { diagnostic, type Diagnostic, type Position } from '../diagnostics.js';
import { parseYamlFile } from './yaml-file.js';

import type { SourceFile } from './read-repo.js';

export { readRepo, RepoNotFoundError, type SourceFile } from './read-repo.js';

export interface Located<T> {
  value: T;
  file: string;
  /** Line and column of the field at `path` (the key for mapping entries); see locateIn. */
  locate(path: ReadonlyArray<string | number>): Position;
}

export interface LoadResult {
  topologies: Located<unknown>[];
  environments: Located<unknown>[];
  diagnostics: Diagnostic[];
}

export type SourceKind = 'environment' | 'topology';

/** Which kind of file a repo path holds, by where it sits; undefined for files the compiler ignores. */
export function sourceKind(path: string): SourceKind | undefined {
  if (!/\.ya?ml$/.test(path)) return undefined;
  if (/^envs\/[^/]+$/.test(path)) return 'environment';
  if (path.startsWith('topologies/')) return 'topology';
  return undefined;
}

/** Pure: never throws, every problem becomes a located diagnostic. */
export function parseSources(files: SourceFile[]): LoadResult {
  const result: LoadResult = { topologies: [], environments: [], diagnostics: [] };
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const kind = sourceKind(f.path);
    if (!kind) continue;
    const { parsed, diagnostics } = parseYamlFile(f.path, f.text);
    result.diagnostics.push(...diagnostics);
    if (!parsed) continue;
    const located: Located<unknown> = { value: parsed.value, file: f.path, locate: parsed.locate };
    (kind === 'environment' ? result.environments : result.topologies).push(located);
  }
  if (result.environments.length === 0 && result.topologies.length > 0) {
    result.diagnostics.push(diagnostic('DBT1111', 'envs/', { line: 1, col: 1 }, 'the repository has topologies but no environment files'));
  }
  return result;
}
