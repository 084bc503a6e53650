// Instance paths: JSON Pointers from ajv ↔ segment arrays for locate() ↔ text for messages.
export type Path = ReadonlyArray<string | number>;

/** "/instances/0/zone" → ["instances", 0, "zone"], numbering only segments that index an array. */
export function pointerToPath(pointer: string, data: unknown): Array<string | number> {
  if (pointer === '') return [];
  const out: Array<string | number> = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(seg)) {
      out.push(Number(seg));
      node = node[Number(seg)];
    } else {
      out.push(seg);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

/** ["instances", 0, "zone"] → "instances[0].zone"; [] → "the file". */
export function showPath(path: Path): string {
  if (path.length === 0) return 'the file';
  return path
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][\w-]*$/.test(s) ? (i === 0 ? s : `.${s}`) : `["${s}"]`))
    .join('');
}
