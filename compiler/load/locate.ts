// Maps an instance path (["sentinel", "quorum"], ["instances", 0, "zone"]) to a line and column.
import type { LineCounter, Node } from 'yaml';
import type { Position } from '../diagnostics.js';
import { yamlLib } from './yaml-lib.js';

/**
 * Position of the node at `path`: the key of a mapping entry (so "unknown field" and "wrong
 * value" both point at the field's line), the item itself in a sequence. Where the path leaves
 * the document (a missing field) it stops at the deepest node that exists.
 */
export function locateIn(root: Node | null, lc: LineCounter, path: ReadonlyArray<string | number>): Position {
  const { isMap, isPair, isScalar, isSeq } = yamlLib();
  let node: Node | null = root;
  let offset = root?.range?.[0] ?? 0;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair || !isScalar(pair.key)) break;
      offset = pair.key.range?.[0] ?? offset;
      node = (pair.value as Node | null) ?? null;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return lc.linePos(offset);
}
