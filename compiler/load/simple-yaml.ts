// A fast path for the YAML most topology and environment files are written in: block mappings
// and sequences, one-line flow collections, plain and quoted one-line scalars, comments. It
// returns the value `yaml`'s parseAllDocuments + toJS (YAML 1.2 core schema, the options of
// yaml-file.ts) gives for such a file, or undefined for anything else — anchors, aliases, tags,
// block or multi-line scalars, escapes, a duplicate or forbidden key, a scalar whose type is not
// certain, several documents — which then goes through `yaml` as before, with its diagnostics.
//
// Why: `yaml` builds a token stream, a CST and a document per file; for 1,000 small topology
// files that was ~0.3 s of the main thread of a fresh `dbtopo compile` (about a sixth of it),
// this parser ~0.02 s. test/unit/load-simple-yaml.test.ts compares both on generated documents.
//
// It also places what it read (simpleLocator): where `yaml` would put a diagnostic's position, so
// a diagnostic on a file this parser read needs no `yaml` either. The placement warnings of a
// large repository (DBT5007/DBT5009 on 250 of the 1,000 benchmark topologies) parsed each of
// those files again with `yaml` (and loaded it): ~0.5 s of the main thread of a 3 s compile, at
// load ~3. Parsing again here with positions kept costs about 20 µs a file.

import type { Position } from '../diagnostics.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/**
 * Keys KEY lets through that YAML 1.2 reads as null or a boolean, not as a string: left to `yaml`
 * (a null key is DBT1110 there). A property test found "- null:" read as the key "null".
 */
const NOT_STRING_KEYS = new Set(['null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE']);
/** Plain scalars whose core-schema type is not a string, or not certain here: left to `yaml`. */
const NUMBERISH = /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|0o[0-7]+|0x[0-9a-fA-F]+)$/;
const SAFE_INT = /^(?:0|-?[1-9][0-9]{0,14})$/;
const OTHER_SPECIAL = new Set(['~', 'Null', 'NULL', 'True', 'TRUE', 'False', 'FALSE']);
/** A plain scalar may not start with these (YAML indicators); "-" only before a space. */
const INDICATOR = /^[?:,[\]{}#&*!|>'"%@`]|^-(?: |$)/;

class Unsupported extends Error {}
const unsupported = (): never => {
  throw new Unsupported();
};

/** A plain scalar's value under the core schema, or Unsupported. */
function plain(s: string): unknown {
  if (s === '' || INDICATOR.test(s) || s.includes(': ') || s.includes(' #') || s.endsWith(':') || s.includes('\t')) unsupported();
  if (s === 'null') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (SAFE_INT.test(s)) return Number(s);
  if (NUMBERISH.test(s) || OTHER_SPECIAL.has(s)) unsupported();
  return s;
}

/** A quoted scalar without escapes or quotes inside, from `s[at]` on; its value and where it ends. */
function quoted(s: string, at: number): [string, number] {
  const q = s[at] as string;
  const end = s.indexOf(q, at + 1);
  if (end < 0) unsupported();
  const body = s.slice(at + 1, end);
  if (q === '"' && body.includes('\\')) unsupported();
  if (q === "'" && s[end + 1] === "'") unsupported(); // '' is an escaped quote
  return [body, end + 1];
}

/** Spaces, then a comment or the end of the line; anything else: Unsupported. */
function rest(s: string, at: number): void {
  let i = at;
  while (s[i] === ' ') i++;
  if (i < s.length && !(s[i] === '#' && i > at)) unsupported();
}

/**
 * Where the nodes of the document being read start, when positions are kept: per mapping its keys'
 * positions, per sequence its items' (undefined where not known: `yaml` is asked then).
 */
type Places = Map<string, Position> | Array<Position | undefined>;
let places: WeakMap<object, Places> | undefined;
/** Line (1-based) and column of character 0 of the text being read, when positions are kept. */
let lineNo = 0;
let column0 = 0;

function placed<T extends object>(node: T, where: Places | undefined): T {
  if (where !== undefined) places?.set(node, where);
  return node;
}

/** A flow collection or flow scalar starting at `s[at]`, on one line: its value and where it ends. */
function flow(s: string, at: number): [unknown, number] {
  let i = at;
  const here = (): Position => ({ line: lineNo, col: column0 + i + 1 });
  const skip = (): void => {
    while (s[i] === ' ') i++;
  };
  const scalar = (): unknown => {
    skip();
    const c = s[i];
    if (c === '{' || c === '[') {
      const [v, end] = flow(s, i);
      i = end;
      return v;
    }
    if (c === '"' || c === "'") {
      const [v, end] = quoted(s, i);
      i = end;
      return v;
    }
    const start = i;
    while (i < s.length && !',[]{}'.includes(s[i] as string) && !(s[i] === ':' && (s[i + 1] === ' ' || s[i + 1] === ',' || s[i + 1] === '}'))) i++;
    return plain(s.slice(start, i).trimEnd());
  };
  if (s[i] === '[') {
    i++;
    const out: unknown[] = [];
    const where: Array<Position | undefined> | undefined = places && [];
    skip();
    if (s[i] === ']') return [placed(out, where), i + 1];
    for (;;) {
      skip();
      where?.push(here());
      out.push(scalar());
      skip();
      if (s[i] === ',') {
        i++;
        skip();
        if (s[i] === ']') unsupported(); // a trailing comma
        continue;
      }
      if (s[i] === ']') return [placed(out, where), i + 1];
      return unsupported();
    }
  }
  if (s[i] === '{') {
    i++;
    const out: Record<string, unknown> = {};
    const where: Map<string, Position> | undefined = places && new Map();
    skip();
    if (s[i] === '}') return [placed(out, where), i + 1];
    for (;;) {
      skip();
      const start = i;
      const keyAt = where && here();
      while (i < s.length && s[i] !== ':' && s[i] !== ',' && s[i] !== '}') i++;
      const key = s.slice(start, i);
      if (s[i] !== ':' || s[i + 1] !== ' ') unsupported();
      setKey(out, key);
      if (where && keyAt) where.set(key, keyAt);
      i++;
      out[key] = scalar();
      skip();
      if (s[i] === ',') {
        i++;
        skip();
        if (s[i] === '}') unsupported();
        continue;
      }
      if (s[i] === '}') return [placed(out, where), i + 1];
      return unsupported();
    }
  }
  return [scalar(), i];
}

/** Checks a mapping key before it is set: plain, allowed and not there yet. */
function setKey(map: Record<string, unknown>, key: string): void {
  if (!KEY.test(key) || FORBIDDEN_KEYS.has(key) || NOT_STRING_KEYS.has(key) || Object.hasOwn(map, key)) unsupported();
}

/** The value written after "key: " or "- " (the rest of the line from `at`), on `line`. */
function inline(line: Line, at: number): unknown {
  const s = line.text;
  lineNo = line.line;
  column0 = line.indent;
  const c = s[at];
  if (c === '{' || c === '[' || c === '"' || c === "'") {
    const [v, end] = flow(s, at);
    rest(s, end);
    return v;
  }
  const hash = s.indexOf(' #', at);
  return plain((hash < 0 ? s.slice(at) : s.slice(at, hash)).trimEnd());
}

interface Line {
  indent: number;
  text: string;
  /** 1-based line number in the file. */
  line: number;
}

class Block {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  get done(): boolean {
    return this.i >= this.lines.length;
  }

  /** The block node whose first line is the next one, at its indentation. */
  node(): unknown {
    const first = this.lines[this.i] as Line;
    return first.text.startsWith('-') && (first.text.length === 1 || first.text[1] === ' ') ? this.seq(first.indent) : this.map(first.indent);
  }

  /** The value of an entry whose own line held nothing after the indicator: a more indented block, or null. */
  private nested(indent: number): unknown {
    const next = this.lines[this.i];
    if (next === undefined || next.indent < indent) return null;
    // A sequence at the key's own indentation is YAML too, and left to `yaml`.
    if (next.indent === indent) return next.text.startsWith('-') ? unsupported() : null;
    return this.node();
  }

  /** After a value on the entry's own line, the next line may not be more indented (a continuation). */
  private ended(indent: number): void {
    const next = this.lines[this.i];
    if (next !== undefined && next.indent > indent) unsupported();
  }

  private map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const where: Map<string, Position> | undefined = places && new Map();
    for (let line = this.lines[this.i]; line !== undefined && line.indent === indent; line = this.lines[this.i]) {
      const colon = line.text.indexOf(':');
      if (colon < 0 || (colon + 1 < line.text.length && line.text[colon + 1] !== ' ')) unsupported();
      const key = line.text.slice(0, colon);
      setKey(out, key);
      where?.set(key, { line: line.line, col: line.indent + 1 });
      this.i++;
      let at = colon + 1;
      while (line.text[at] === ' ') at++;
      if (at >= line.text.length || line.text[at] === '#') {
        out[key] = this.nested(indent);
      } else {
        out[key] = inline(line, at);
        this.ended(indent);
      }
    }
    this.dedented(indent);
    return placed(out, where);
  }

  private seq(indent: number): unknown[] {
    const out: unknown[] = [];
    const where: Array<Position | undefined> | undefined = places && [];
    for (let line = this.lines[this.i]; line !== undefined && line.indent === indent && line.text.startsWith('-'); line = this.lines[this.i]) {
      if (line.text.length > 1 && line.text[1] !== ' ') unsupported();
      let at = 1;
      while (line.text[at] === ' ') at++;
      if (at >= line.text.length || line.text[at] === '#') {
        this.i++;
        // The item is the block on the next lines (it starts there), or null (`yaml` places it).
        const next = this.lines[this.i];
        where?.push(next !== undefined && next.indent > indent ? { line: next.line, col: next.indent + 1 } : undefined);
        out.push(this.nested(indent + 1));
        continue;
      }
      where?.push({ line: line.line, col: line.indent + at + 1 });
      const c = line.text[at] as string;
      if (c !== '{' && c !== '[' && c !== '"' && c !== "'" && /^[^ ]*:(?: |$)/.test(line.text.slice(at))) {
        // "- key: value": a mapping whose first entry is on the dash's line, at its column.
        this.lines[this.i] = { indent: indent + at, text: line.text.slice(at), line: line.line };
        out.push(this.node());
        continue;
      }
      this.i++;
      out.push(inline(line, at));
      this.ended(indent);
    }
    this.dedented(indent);
    return placed(out, where);
  }

  /** A block ends at a line less indented than it; one between it and its parent is not YAML this parser reads. */
  private dedented(indent: number): void {
    const next = this.lines[this.i];
    if (next !== undefined && next.indent > indent) unsupported();
  }
}

/** The file's value when it is written in the subset above; undefined otherwise. */
export function parseSimpleYaml(text: string): Record<string, unknown> | undefined {
  if (/[\t\r\uFEFF]/.test(text)) return undefined;
  const lines: Line[] = [];
  let n = 0;
  for (const raw of text.split('\n')) {
    n++;
    const body = raw.trimStart();
    if (body === '' || body.startsWith('#')) continue;
    if (raw.startsWith('---') || raw.startsWith('...') || raw.startsWith('%')) return undefined;
    lines.push({ indent: raw.length - body.length, text: body.trimEnd(), line: n });
  }
  if (lines.length === 0 || lines[0]?.indent !== 0) return undefined;
  try {
    const block = new Block(lines);
    const value = block.node();
    if (!block.done || value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    return value as Record<string, unknown>;
  } catch {
    // Unsupported, or anything else (a stack overflow on deep nesting): `yaml` reads it and
    // words what is wrong with it.
    return undefined;
  }
}

/**
 * Where `yaml` (load/locate.ts locateIn) places the node at a path of a file this parser reads,
 * or undefined when the file is not one it reads; the locator answers undefined for a path
 * through a node it cannot place (a null sequence item), to be asked of `yaml`.
 */
export function simpleLocator(text: string): ((path: ReadonlyArray<string | number>) => Position | undefined) | undefined {
  const where = new WeakMap<object, Places>();
  places = where;
  let root: Record<string, unknown> | undefined;
  try {
    root = parseSimpleYaml(text);
  } finally {
    places = undefined;
  }
  if (root === undefined) return undefined;
  const start = where.get(root);
  const first = start instanceof Map ? start.values().next().value : undefined;
  if (first === undefined) return undefined;
  return (path) => {
    let node: unknown = root;
    let at: Position = first;
    for (const seg of path) {
      const known = node !== null && typeof node === 'object' ? where.get(node) : undefined;
      if (known instanceof Map) {
        const key = String(seg);
        const keyAt = known.get(key);
        if (keyAt === undefined) break;
        at = keyAt;
        node = (node as Record<string, unknown>)[key];
      } else if (Array.isArray(known) && typeof seg === 'number') {
        if (seg < 0 || seg >= known.length) break;
        const itemAt = known[seg];
        if (itemAt === undefined) return undefined;
        at = itemAt;
        node = (node as unknown[])[seg];
      } else {
        break;
      }
    }
    return at;
  };
}
