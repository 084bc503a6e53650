// One YAML file → one plain value, or located diagnostics. YAML features that have no place in a
// topology (anchors, aliases, tags, several documents) are rejected rather than interpreted:
// aliases are the vehicle of "billion laughs" bombs, tags of object-constructing payloads.
import type { Document, Node, YAMLError } from 'yaml';
import { diagnostic, sortDiagnostics, type Diagnostic, type Position } from '../diagnostics.js';
import { locateIn } from './locate.js';
import { parseSimpleYaml, simpleLocator } from './simple-yaml.js';
import { yamlLib } from './yaml-lib.js';

export const MAX_FILE_BYTES = 1024 * 1024;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface ParsedYaml {
  value: unknown;
  locate(path: ReadonlyArray<string | number>): Position;
}

type Parsed = { parsed?: ParsedYaml; diagnostics: Diagnostic[] };

/** Never throws: whatever escapes the checks below still becomes a located diagnostic. */
export function parseYamlFile(file: string, text: string): Parsed {
  try {
    return parseChecked(file, text);
  } catch (e) {
    return { diagnostics: [diagnostic('DBT1101', file, { line: 1, col: 1 }, `cannot read the file: ${errorText(e)}`)] };
  }
}

function parseChecked(file: string, text: string): Parsed {
  if (text.length > MAX_FILE_BYTES) {
    return { diagnostics: [diagnostic('DBT1109', file, { line: 1, col: 1 }, `file has ${text.length} characters; the limit is ${MAX_FILE_BYTES}`)] };
  }
  // The common case without `yaml` (simple-yaml.ts): same value, no diagnostics possible; the
  // positions a diagnostic asks for come from reading the file again with positions kept, and
  // from `yaml` only where that cannot place a node.
  const simple = parseSimpleYaml(text);
  if (simple !== undefined) {
    let fast: ReturnType<typeof simpleLocator> | null = null;
    let slow: ParsedYaml['locate'] | undefined;
    const viaYaml = (path: ReadonlyArray<string | number>): Position => (slow ??= parseWithYaml(file, text).parsed?.locate ?? (() => ({ line: 1, col: 1 })))(path);
    const locate = (path: ReadonlyArray<string | number>): Position => {
      if (fast === null) fast = simpleLocator(text);
      return fast?.(path) ?? viaYaml(path);
    };
    return { parsed: { value: simple, locate }, diagnostics: [] };
  }
  return parseWithYaml(file, text);
}

/** The file through `yaml` alone (also what test/unit/load-simple-yaml.test.ts compares the fast path with). */
export function parseWithYaml(file: string, text: string): Parsed {
  const { isAlias, isCollection, isMap, isNode, isScalar, LineCounter, parseAllDocuments, visit } = yamlLib();
  const lc = new LineCounter();
  const at = (offset: number | undefined): Position => lc.linePos(offset ?? 0);
  const out: Diagnostic[] = [];
  let docs: Document.Parsed[];
  try {
    // uniqueKeys is off because the library checks each key against all earlier ones (quadratic:
    // minutes for a 1 MiB mapping); duplicates are found below with a Set per mapping instead.
    const all = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: false, strict: true, prettyErrors: true, merge: false });
    docs = Array.isArray(all) ? all : [];
  } catch (e) {
    return { diagnostics: [diagnostic('DBT1101', file, { line: 1, col: 1 }, `YAML parser failed: ${errorText(e)}`)] };
  }
  // A trailing "---" yields an empty document; only documents with content count.
  const withContent = docs.filter((d) => d.errors.length > 0 || !blank(text.slice(d.range[0], d.range[2])));
  if (withContent.length === 0) {
    return { diagnostics: [diagnostic('DBT1108', file, { line: 1, col: 1 }, 'file holds no YAML document')] };
  }
  for (const extra of withContent.slice(1)) {
    out.push(diagnostic('DBT1105', file, at(extra.range[0]), `found ${withContent.length} YAML documents; expected one`));
  }
  const doc = withContent[0]!;
  for (const e of doc.errors) out.push(fromYamlError(file, text, e, 'error'));
  for (const w of doc.warnings) {
    // Unresolved tags are only warnings to the yaml library; here every explicit tag is an error (below).
    if (w.code !== 'TAG_RESOLVE_FAILED') out.push(fromYamlError(file, text, w, 'warning'));
  }
  // One diagnostic per alias name (at its first use): a bomb has hundreds of identical uses.
  const aliasUses = new Map<string, { offset: number | undefined; count: number }>();
  visit(doc, {
    Alias(_, node) {
      const seen = aliasUses.get(node.source);
      if (seen) seen.count++;
      else aliasUses.set(node.source, { offset: node.range?.[0], count: 1 });
    },
    // Node, not Map: a Map visitor would take maps away from this one (anchors, tags on maps).
    Node(_, node) {
      if (!isNode(node) || isAlias(node)) return;
      if (isMap(node)) {
        const seen = new Set<string>();
        for (const pair of node.items) {
          if (!isScalar(pair.key) || pair.key.value === null || typeof pair.key.value === 'object') continue;
          const name = String(pair.key.value);
          if (seen.has(name)) out.push(diagnostic('DBT1102', file, at(pair.key.range?.[0]), `key "${name}" appears twice in the same mapping`));
          seen.add(name);
        }
      }
      if (node.anchor) out.push(diagnostic('DBT1103', file, at(tokenBefore(text, node, `&${node.anchor}`)), `anchor &${node.anchor} is not allowed`));
      if (node.tag) out.push(diagnostic('DBT1107', file, at(tokenBefore(text, node, '!')), `explicit tag ${shortTag(node.tag)} is not allowed`));
    },
    Pair(_, pair) {
      const key = pair.key;
      if (isScalar(key)) {
        if (key.value === null || typeof key.value === 'object') {
          out.push(diagnostic('DBT1110', file, at(key.range?.[0]), 'a key must not be empty or null'));
        } else if (FORBIDDEN_KEYS.has(String(key.value))) {
          out.push(diagnostic('DBT1104', file, at(key.range?.[0]), `key "${String(key.value)}" is not allowed`));
        }
      } else if (isCollection(key) || isAlias(key)) {
        out.push(diagnostic('DBT1110', file, at((key as Node).range?.[0]), 'a key must be a plain string, not a collection'));
      } else if (key === null) {
        out.push(diagnostic('DBT1110', file, at(isNode(pair.value) ? pair.value.range?.[0] : undefined), 'a key is missing'));
      }
    },
  });
  for (const [name, use] of aliasUses) {
    const times = use.count > 1 ? ` (used ${use.count} times)` : '';
    out.push(diagnostic('DBT1103', file, at(use.offset), `alias *${name} is not allowed${times}`));
  }
  if (out.some((d) => d.severity === 'error')) return { diagnostics: sortDiagnostics(out) };
  const root = (doc.contents as Node | null) ?? null;
  if (!isMap(root)) {
    const kind = root === null ? 'nothing' : isScalar(root) ? 'a single value' : 'a list';
    out.push(diagnostic('DBT1106', file, at(root?.range?.[0]), `the document is ${kind}, not a mapping`));
    return { diagnostics: out };
  }
  let value: unknown;
  try {
    // maxAliasCount is a second fence: aliases were rejected above, before any value is built.
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    out.push(diagnostic('DBT1101', file, at(root.range?.[0]), `cannot read the document: ${errorText(e)}`));
    return { diagnostics: out };
  }
  return { parsed: { value, locate: (path) => locateIn(root, lc, path) }, diagnostics: out };
}

function fromYamlError(file: string, text: string, e: YAMLError, severity: 'error' | 'warning'): Diagnostic {
  const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
  // prettyErrors appends " at line L, column C:" and a source excerpt; the position is ours to print.
  let message = friendly((e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, ''));
  let code: 'DBT1101' | 'DBT1102' | 'DBT1103' = e.code === 'BAD_ALIAS' ? 'DBT1103' : 'DBT1101';
  if (e.code === 'DUPLICATE_KEY') {
    code = 'DBT1102';
    const key = /^[^:\n]*/.exec(text.slice(e.pos[0]))?.[0]?.trim();
    message = key ? `key "${key}" appears twice in the same mapping` : 'a key appears twice in the same mapping';
  }
  const d = diagnostic(code, file, pos, message);
  return severity === 'warning' ? { ...d, severity } : d;
}

/** Only document markers, comments and whitespace. */
function blank(source: string): boolean {
  return source.split('\n').every((l) => /^\s*(---|\.\.\.)?\s*(#.*)?$/.test(l));
}

/** Anchors ("&a") and tags ("!!t") precede the node's range; find the token on the way back. */
function tokenBefore(text: string, node: Node, token: string): number {
  const start = node.range?.[0] ?? 0;
  let i = text.lastIndexOf(token, start);
  while (i > 0 && token === '!' && text[i - 1] === '!') i--;
  return i >= 0 && !text.slice(i, start).includes('\n\n') ? i : start;
}

function shortTag(tag: string): string {
  return tag.startsWith('tag:yaml.org,2002:') ? `!!${tag.slice('tag:yaml.org,2002:'.length)}` : tag;
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message.split('\n')[0] ?? e.message : String(e);
  return friendly(text);
}

/** The parser recurses per nesting level; its stack overflow means "too deep", so say that. */
function friendly(message: string): string {
  return /call stack/i.test(message) ? 'the document nests too deeply (thousands of levels)' : message;
}
