// acknowledgements.yaml at the GitOps repo root: the reviewed way to let a plan through that it
// would otherwise refuse. Read from the head side only, so the pull request that deletes or
// migrates a topology is the one that carries (and shows reviewers) the acknowledgement:
//
//   delete:  [orders-db, staging/feed-shards]   # topology, or <env>/<topology>
//   migrate: [catalog-cache]                    # engine, mode or shard count may change
import type { Diagnostic } from '../diagnostics.js';
import type { SourceFile } from '../load/index.js';
import { yamlLib } from '../load/yaml-lib.js';
import type { Acknowledgements } from './classify.js';

export const ACKNOWLEDGEMENTS_FILE = 'acknowledgements.yaml';
/** CLI-range code: the acknowledgements file is plan input, not compiler input. */
export const ACK_CODE = 'DBT9101';

export function parseAcknowledgements(files: ReadonlyArray<SourceFile>): { acks: Acknowledgements; diagnostics: Diagnostic[] } {
  const acks: Acknowledgements = { delete: [], migrate: [] };
  const file = files.find((f) => f.path === ACKNOWLEDGEMENTS_FILE);
  if (!file) return { acks, diagnostics: [] };
  const diag = (line: number, col: number, message: string): Diagnostic => ({
    file: ACKNOWLEDGEMENTS_FILE,
    line,
    col,
    code: ACK_CODE,
    severity: 'error',
    message,
    hint: 'write "delete: [<topology> | <env>/<topology>, ...]" and/or "migrate: [...]"',
  });
  const doc = yamlLib().parseDocument(file.text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return { acks, diagnostics: doc.errors.map((e) => diag(e.linePos?.[0]?.line ?? 1, e.linePos?.[0]?.col ?? 1, e.message)) };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 0 });
  if (value === null || value === undefined) return { acks, diagnostics: [] };
  if (typeof value !== 'object' || Array.isArray(value)) return { acks, diagnostics: [diag(1, 1, 'acknowledgements.yaml is not a mapping')] };
  const diagnostics: Diagnostic[] = [];
  for (const [key, list] of Object.entries(value as Record<string, unknown>)) {
    if (key !== 'delete' && key !== 'migrate') {
      diagnostics.push(diag(1, 1, `unknown key "${key}"`));
      continue;
    }
    if (!Array.isArray(list) || !list.every((x): x is string => typeof x === 'string' && /^([a-z0-9-]+\/)?[a-z0-9-]+$/.test(x))) {
      diagnostics.push(diag(1, 1, `"${key}" must be a list of topology names or <env>/<topology>`));
      continue;
    }
    acks[key].push(...list);
  }
  return { acks, diagnostics };
}
