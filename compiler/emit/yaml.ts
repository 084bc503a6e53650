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
  // Most strings repeat (keys, label values, images): the cache answers them; unique simple
  // strings (names) take the regex fast path without filling the cache.
  let out = cache.get(s);
  if (out !== undefined) return out;
  if (SIMPLE.test(s) && (s.length > 5 || !RESERVED.has(s)) && !/^[eE][0-9_.:eExXoObB+\-a-fA-F]*$/.test(s)) {
    out = s;
  } else {
    out = plainSafe(s) ? s : JSON.stringify(s);
  }
  if (cache.size > 100_000) cache.clear();
  cache.set(s, out);
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
  if (typeof v === 'string') return v.includes('\n') && blockSafe(v) ? block(v, indent) : scalarString(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as YAML`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  throw new Error(`cannot write a ${typeof v} as YAML`);
}

function isEmpty(v: object): boolean {
  if (Array.isArray(v)) return v.length === 0;
  for (const _ in v) return false;
  return true;
}

const EMPTY = (v: object): string => (Array.isArray(v) ? '[]' : '{}');

// The writers append to one string (V8 concatenates in place) and share indent strings; this is
// the hot loop of a compile.
const INDENTS: string[] = [''];
function indentOf(level: number): string {
  let s = INDENTS[level];
  if (s === undefined) {
    s = '  '.repeat(level);
    INDENTS[level] = s;
  }
  return s;
}

/** `first`: prefix of the first line (a sequence item's "- "), level: indentation of the others. */
function writeMap(obj: Record<string, unknown>, first: string, level: number): string {
  // Default sort compares UTF-16 code units, the same order as `<` on strings.
  const keys = Object.keys(obj).sort();
  const indent = indentOf(level);
  let out = '';
  let prefix = first;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    const key = scalarString(k);
    if (v === null || typeof v !== 'object') out += `${prefix}${key}: ${scalar(v, indentOf(level + 1))}\n`;
    else if (isEmpty(v)) out += `${prefix}${key}: ${EMPTY(v)}\n`;
    else out += `${prefix}${key}:\n${writeNode(v, indentOf(level + 1), level + 1)}`;
    prefix = indent;
  }
  return out;
}

function writeSeq(arr: readonly unknown[], first: string, level: number): string {
  const indent = indentOf(level);
  let out = '';
  let prefix = first;
  for (const item of arr) {
    // The first line of a nested node goes on the dash line.
    if (item === null || typeof item !== 'object') out += `${prefix}- ${scalar(item, indentOf(level + 1))}\n`;
    else if (isEmpty(item)) out += `${prefix}- ${EMPTY(item)}\n`;
    else out += writeNode(item, `${prefix}- `, level + 1);
    prefix = indent;
  }
  return out;
}

function writeNode(v: object, first: string, level: number): string {
  return Array.isArray(v) ? writeSeq(v, first, level) : writeMap(v as Record<string, unknown>, first, level);
}

export function toYaml(value: unknown): string {
  if (isScalar(value)) return `${scalar(value, '  ')}\n`;
  if (isEmpty(value as object)) return `${EMPTY(value as object)}\n`;
  return writeNode(value as object, '', 0);
}
