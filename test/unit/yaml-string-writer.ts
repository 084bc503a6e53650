// The string-building YAML writer compiler/emit/yaml.ts used before it wrote bytes (commit
// 772ec4f), kept as the reference the byte writer must match character for character
// (test/unit/compile-yaml.test.ts).

const RESERVED = new Set(
  ['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null', '~', ''].flatMap((w) => [w, w.toUpperCase(), w.charAt(0).toUpperCase() + w.slice(1)]),
);
const PLAIN = /^([A-Za-z0-9_/]|[-.][-A-Za-z0-9_/])[\x20-\x7e]*$/;
const NUMBER_LIKE = /^[-+.]?[0-9eE.][0-9_.:eExXoObB+\-a-fA-F]*$/;
const SIMPLE = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;

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

function blockSafe(s: string): boolean {
  return s.includes('\n') && !s.startsWith(' ') && !s.startsWith('\n') && !s.endsWith('\n\n') && !/[^\x20-\x7e\n\t]/.test(s);
}

function scalarString(s: string): string {
  if (SIMPLE.test(s) && (s.length > 5 || !RESERVED.has(s)) && !/^[eE][0-9_.:eExXoObB+\-a-fA-F]*$/.test(s)) return s;
  return plainSafe(s) ? s : JSON.stringify(s);
}

function block(s: string, indent: string): string {
  const header = s.endsWith('\n') ? '|' : '|-';
  const body = (s.endsWith('\n') ? s.slice(0, -1) : s)
    .split('\n')
    .map((line) => (line === '' ? '' : `${indent}${line}`))
    .join('\n');
  return `${header}\n${body}`;
}

const isScalar = (v: unknown): boolean => v === null || typeof v !== 'object';

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
const indentOf = (level: number): string => '  '.repeat(level);

function writeMap(obj: Record<string, unknown>, first: string, level: number): string {
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

export function stringToYaml(value: unknown): string {
  if (isScalar(value)) return `${scalar(value, '  ')}\n`;
  if (isEmpty(value as object)) return `${EMPTY(value as object)}\n`;
  return writeNode(value as object, '', 0);
}
