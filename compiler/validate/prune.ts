// A schema-invalid document with its offending fields cut out, so presence-based semantic rules
// can still report in the same run ("many errors at once"). Lists are cut whole: removing one
// item would shift the indexes that positions are looked up by.
import type { ErrorObject } from 'ajv';
import { pointerToPath } from './paths.js';

export function pruneInvalid(value: unknown, errors: ReadonlyArray<ErrorObject>): unknown {
  const copy = structuredClone(value);
  for (const e of errors) {
    const path = pointerToPath(e.instancePath, copy);
    if (e.keyword === 'additionalProperties') path.push(String((e.params as { additionalProperty: string }).additionalProperty));
    if (e.keyword === 'required' || e.keyword === 'if') continue;
    const firstIndex = path.findIndex((s) => typeof s === 'number');
    const cut = firstIndex >= 0 ? path.slice(0, firstIndex) : path;
    remove(copy, cut);
  }
  return copy;
}

function remove(root: unknown, path: ReadonlyArray<string | number>): void {
  if (path.length === 0) return;
  let node: unknown = root;
  for (const seg of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string | number, unknown>)[seg];
  }
  if (node !== null && typeof node === 'object' && !Array.isArray(node)) delete (node as Record<string, unknown>)[String(path[path.length - 1])];
}
