// Deterministic YAML for rendered objects: map keys sorted (their order carries no meaning in
// Kubernetes objects), arrays kept in order, block style, one trailing newline.
//
// Why not yaml's stringify: at ~2 ms per object it made a 60,000-object compile take minutes.
// The objects are plain JSON data, so this writer only needs maps, arrays and scalars; strings
// are written plain only when both YAML 1.1 (Go readers: kubectl, Argo CD) and 1.2 read them
// back as the same string, as block literals when multi-line, and JSON-quoted (valid YAML
// double-quoted) otherwise. test/unit/compile-yaml.test.ts checks the round trip with `yaml`.

const RESERVED = new Set(
  ['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null', '~', ''].flatMap((w) => [w, w.toUpperCase(), w.charAt(0).toUpperCase() + w.slice(1)]),
);
/** Printable ASCII, starting with a letter, digit, "_", "/", or "-" / "." before one of those. */
const PLAIN = /^([A-Za-z0-9_/]|[-.][-A-Za-z0-9_/])[\x20-\x7e]*$/;
/** Could be read as a number, date or sexagesimal in YAML 1.1 or 1.2. */
const NUMBER_LIKE = /^[-+.]?[0-9eE.][0-9_.:eExXoObB+\-a-fA-F]*$/;

function plainSafe(s: string): boolean {
  return (
    PLAIN.test(s) &&
    !RESERVED.has(s) &&
    !/^[-+]?\.(inf|nan)$/i.test(s) &&
    !NUMBER_LIKE.test(s) &&
    !s.startsWith('---') &&
    !s.startsWith('...') &&
    !s.includes(': ') &&
    !s.includes(' #') &&
    !s.endsWith(':') &&
    !s.endsWith(' ')
  );
}

/** Multi-line text a literal block keeps exactly: printable lines, at most one final newline. */
function blockSafe(s: string): boolean {
  return s.includes('\n') && !s.startsWith(' ') && !s.startsWith('\n') && !s.endsWith('\n\n') && !/[^\x20-\x7e\n\t]/.test(s);
}

const cache = new Map<string, string>();

/** Identifiers, names, paths and label keys: plain in every YAML version unless reserved. */
const SIMPLE = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;

function scalarString(s: string): string {
  // Fast path for the bulk of strings; the cache serves the rest (quoted, multi-word, numeric-looking).
  if (SIMPLE.test(s) && (s.length > 5 || !RESERVED.has(s)) && !/^[eE][0-9_.:eExXoObB+\-a-fA-F]*$/.test(s)) return s;
  let out = cache.get(s);
  if (out === undefined) {
    out = plainSafe(s) ? s : JSON.stringify(s);
    if (cache.size > 100_000) cache.clear();
    cache.set(s, out);
  }
  return out;
}

function block(s: string, indent: string): string {
  const header = s.endsWith('\n') ? '|' : '|-';
  const body = (s.endsWith('\n') ? s.slice(0, -1) : s)
    .split('\n')
    .map((line) => (line === '' ? '' : `${indent}${line}`))
    .join('\n');
  return `${header}\n${body}`;
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

function scalar(v: unknown, indent: string): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return blockSafe(v) ? block(v, indent) : scalarString(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as YAML`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  throw new Error(`cannot write a ${typeof v} as YAML`);
}

function byKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isEmpty(v: object): boolean {
  return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
}

/** `first`: prefix of the first line (a sequence item's "- "), `indent` of the following ones. */
function writeMap(obj: Record<string, unknown>, first: string, indent: string, out: string[]): void {
  const keys = Object.keys(obj).sort(byKey);
  let prefix = first;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    const key = scalarString(k);
    if (isScalar(v)) out.push(`${prefix}${key}: ${scalar(v, `${indent}  `)}`);
    else if (isEmpty(v as object)) out.push(`${prefix}${key}: ${Array.isArray(v) ? '[]' : '{}'}`);
    else {
      out.push(`${prefix}${key}:`);
      writeNode(v as object, `${indent}  `, `${indent}  `, out);
    }
    prefix = indent;
  }
}

function writeSeq(arr: readonly unknown[], first: string, indent: string, out: string[]): void {
  let prefix = first;
  for (const item of arr) {
    // The first line of a nested node goes on the dash line.
    if (isScalar(item)) out.push(`${prefix}- ${scalar(item, `${indent}  `)}`);
    else if (isEmpty(item as object)) out.push(`${prefix}- ${Array.isArray(item) ? '[]' : '{}'}`);
    else writeNode(item as object, `${prefix}- `, `${indent}  `, out);
    prefix = indent;
  }
}

function writeNode(v: object, first: string, indent: string, out: string[]): void {
  if (Array.isArray(v)) writeSeq(v, first, indent, out);
  else writeMap(v as Record<string, unknown>, first, indent, out);
}

export function toYaml(value: unknown): string {
  if (isScalar(value)) return `${scalar(value, '  ')}\n`;
  if (Array.isArray(value) ? value.length === 0 : Object.keys(value as object).length === 0) return Array.isArray(value) ? '[]\n' : '{}\n';
  const out: string[] = [];
  writeNode(value as object, '', '', out);
  return `${out.join('\n')}\n`;
}
