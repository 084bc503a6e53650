// Deterministic YAML for rendered objects: map keys sorted (their order carries no meaning in
// Kubernetes objects), arrays kept in order, block style, one trailing newline.
//
// Why not yaml's stringify: at ~2 ms per object it made a 60,000-object compile take minutes.
// The objects are plain JSON data, so this writer only needs maps, arrays and scalars; strings
// are written plain only when both YAML 1.1 (Go readers: kubectl, Argo CD) and 1.2 read them
// back as the same string, as block literals when multi-line, and JSON-quoted (valid YAML
// double-quoted) otherwise. test/unit/compile-yaml.test.ts checks the round trip with `yaml`,
// and that the text is the one the string writer before this one gave.
//
// The writer puts UTF-8 bytes straight into one reused buffer, not strings: a compile writes
// 114 MB of YAML (1,000 topologies × 3 environments), and building it as strings cost a cons
// string per piece (garbage), flattening every file's string (joinDocuments) and encoding it to
// UTF-8 again in writeFileSync. A render worker hands yamlFile()'s bytes to writeFileSync as they
// are. Plain strings are checked while they are copied, so the common ones (names, label keys)
// take one pass. Measured over the objects of 1,000 jobs of the benchmark repository (a third of
// a compile), one thread, CPU best of 8-15 rounds at load 7-9: the string writer + join +
// encode 353-405 ms, this writer 254-262 ms (with the key orders of sortedKeys()).

const RESERVED = new Set(
  ['y', 'yes', 'n', 'no', 'true', 'false', 'on', 'off', 'null', '~', ''].flatMap((w) => [w, w.toUpperCase(), w.charAt(0).toUpperCase() + w.slice(1)]),
);
/** Printable ASCII, starting with a letter, digit, "_", "/", or "-" / "." before one of those. */
const PLAIN = /^([A-Za-z0-9_/]|[-.][-A-Za-z0-9_/])[\x20-\x7e]*$/;
/** Could be read as a number, date or sexagesimal in YAML 1.1 or 1.2. */
const NUMBER_LIKE = /^[-+.]?[0-9eE.][0-9_.:eExXoObB+\-a-fA-F]*$/;
/** A SIMPLE string NUMBER_LIKE would call number-like ("e5", "E1_0"): left to plainSafe(), which quotes it. */
const E_NUMBER_LIKE = /^[eE][0-9_.:eExXoObB+\-a-fA-F]*$/;

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

/** A one-line string scalar as written (plain or JSON-quoted). */
function scalarString(s: string): string {
  // Most strings that are not simple repeat (quantities, images, ports): the cache answers them.
  let out = cache.get(s);
  if (out !== undefined) return out;
  if (SIMPLE.test(s) && (s.length > 5 || !RESERVED.has(s)) && !E_NUMBER_LIKE.test(s)) {
    out = s;
  } else {
    out = plainSafe(s) ? s : JSON.stringify(s);
  }
  if (cache.size > 100_000) cache.clear();
  cache.set(s, out);
  return out;
}

// ---- the byte buffer ------------------------------------------------------------------------

let buf = Buffer.allocUnsafe(1 << 20);
let pos = 0;

/** Room for `n` more bytes. */
function room(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const bigger = Buffer.allocUnsafe(size);
  buf.copy(bigger, 0, 0, pos);
  buf = bigger;
}

/** Characters that may follow the first one of a SIMPLE string: [A-Za-z0-9_./-]. */
const SIMPLE_TAIL = new Uint8Array(128);
/** Characters a SIMPLE string may start with: [A-Za-z_/]. */
const SIMPLE_HEAD = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  SIMPLE_HEAD[c] = /[A-Za-z_/]/.test(ch) ? 1 : 0;
  SIMPLE_TAIL[c] = /[A-Za-z0-9_./-]/.test(ch) ? 1 : 0;
}

/** Any string as UTF-8 (lone surrogates as U+FFFD, as Buffer writes them). */
function putString(s: string): void {
  const n = s.length;
  room(n * 3);
  if (n > 64) {
    pos += buf.write(s, pos, 'utf8');
    return;
  }
  const b = buf;
  let p = pos;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) b[p++] = c;
    else if (c < 0x800) {
      b[p++] = 0xc0 | (c >> 6);
      b[p++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        b[p++] = 0xf0 | (cp >> 18);
        b[p++] = 0x80 | ((cp >> 12) & 63);
        b[p++] = 0x80 | ((cp >> 6) & 63);
        b[p++] = 0x80 | (cp & 63);
        i++;
      } else {
        b[p++] = 0xef;
        b[p++] = 0xbf;
        b[p++] = 0xbd;
      }
    } else {
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 63);
      b[p++] = 0x80 | (c & 63);
    }
  }
  pos = p;
}

/** A string of this file's own ASCII punctuation (": ", "- ", "[]"…). */
function putAscii(s: string): void {
  const n = s.length;
  room(n);
  const b = buf;
  const p = pos;
  for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
  pos = p + n;
}

/** A whole number 0 ≤ v < 100,000 in decimal, as String(v). */
function putSmallInt(v: number): void {
  room(5);
  const b = buf;
  if (v >= 10000) b[pos++] = 0x30 + ((v / 10000) | 0);
  if (v >= 1000) b[pos++] = 0x30 + (((v / 1000) | 0) % 10);
  if (v >= 100) b[pos++] = 0x30 + (((v / 100) | 0) % 10);
  if (v >= 10) b[pos++] = 0x30 + (((v / 10) | 0) % 10);
  b[pos++] = 0x30 + (v % 10);
}

function putIndent(level: number): void {
  const n = level * 2;
  room(n);
  const b = buf;
  let p = pos;
  const end = p + n;
  while (p < end) b[p++] = 0x20;
  pos = p;
}

/**
 * A one-line string as scalarString() writes it. The SIMPLE strings (most of them) are copied
 * while they are checked; only the others go through scalarString().
 */
function putScalarString(s: string): void {
  const n = s.length;
  const start = pos;
  if (n > 0 && n <= 256) {
    room(n);
    const b = buf;
    let c = s.charCodeAt(0);
    if (c < 128 && SIMPLE_HEAD[c] === 1) {
      b[pos] = c;
      let i = 1;
      for (; i < n; i++) {
        c = s.charCodeAt(i);
        if (c >= 128 || SIMPLE_TAIL[c] !== 1) break;
        b[pos + i] = c;
      }
      if (i === n && (n > 5 || !RESERVED.has(s)) && !((s.charCodeAt(0) | 0x20) === 0x65 && E_NUMBER_LIKE.test(s))) {
        pos = start + n;
        return;
      }
    }
  }
  pos = start;
  putString(scalarString(s));
}

/** A multi-line string blockSafe() accepts, as a literal block whose lines are at `level`. */
function putBlock(s: string, level: number): void {
  const keep = s.endsWith('\n');
  putAscii(keep ? '|' : '|-');
  const end = keep ? s.length - 1 : s.length;
  let i = 0;
  for (;;) {
    let j = s.indexOf('\n', i);
    if (j < 0 || j > end) j = end;
    room(1);
    buf[pos++] = 0x0a;
    if (j > i) {
      putIndent(level);
      putString(s.slice(i, j));
    }
    if (j >= end) return;
    i = j + 1;
  }
}

function isScalar(v: unknown): boolean {
  return v === null || typeof v !== 'object';
}

/** A scalar; a multi-line string's block lines at `level`. */
function putScalar(v: unknown, level: number): void {
  if (typeof v === 'string') {
    if (v.includes('\n') && blockSafe(v)) putBlock(v, level);
    else putScalarString(v);
    return;
  }
  if (v === null || v === undefined) return putAscii('null');
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as YAML`);
    if (v >= 0 && v < 100000 && (v | 0) === v) return putSmallInt(v);
    return putAscii(String(v));
  }
  if (typeof v === 'boolean') return putAscii(v ? 'true' : 'false');
  throw new Error(`cannot write a ${typeof v} as YAML`);
}

function isEmpty(v: object): boolean {
  if (Array.isArray(v)) return v.length === 0;
  for (const _ in v) return false;
  return true;
}

const EMPTY = (v: object): string => (Array.isArray(v) ? '[]' : '{}');

// The writers below continue a line whose prefix (indentation, "- ", "key:\n" + indentation) was
// already written from `first` on: a node that writes nothing (a map whose values are all
// undefined) takes its prefix back, as the string writer dropped it.

/** Objects of one shape: their keys in Object.keys order, and sorted. */
interface Shape {
  keys: string[];
  sorted: string[];
}

/**
 * The shapes seen, by first and second key (a list each: `env` items start with `name` and go on
 * with `value` or `valueFrom`, ports with `name` and `port`…). Objects of one shape come again
 * and again; sorting their keys each time was about a sixth of the writer's time. Comparing the
 * keys with a known shape's (mostly the same strings) is cheaper, but only if it finds one: a
 * cache of the last shape per first key missed 97,000 times per 1,000 jobs (the `name` shapes
 * took each other's place); by two keys it misses about 100 times in a compile. Measured, one
 * thread, 1,000 jobs, CPU best of 10 at load ~8: 387 ms by one key, 294 ms by two.
 */
const shapes = new Map<string, Map<string, Shape[]>>();
let shapeCount = 0;

function sortedKeys(obj: object): string[] {
  const keys = Object.keys(obj);
  const n = keys.length;
  const first = n > 0 ? (keys[0] as string) : '';
  const second = n > 1 ? (keys[1] as string) : '';
  let bySecond = shapes.get(first);
  if (bySecond === undefined) {
    bySecond = new Map();
    shapes.set(first, bySecond);
  }
  let known = bySecond.get(second);
  if (known !== undefined) {
    for (const shape of known) {
      const k = shape.keys;
      if (k.length !== n) continue;
      let i = 2;
      while (i < n && k[i] === keys[i]) i++;
      if (i >= n) return shape.sorted;
    }
  } else {
    known = [];
    bySecond.set(second, known);
  }
  // Default sort compares UTF-16 code units, the same order as `<` on strings.
  const sorted = n > 1 ? [...keys].sort() : keys;
  known.push({ keys, sorted });
  if (++shapeCount > 10_000) {
    // Keys from the input (labels, parameters) make shapes without end; start again.
    shapes.clear();
    shapeCount = 0;
  }
  return sorted;
}

function writeMap(obj: Record<string, unknown>, first: number, level: number): void {
  const keys = sortedKeys(obj);
  let wrote = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const v = obj[k];
    if (v === undefined) continue;
    if (wrote) putIndent(level);
    wrote = true;
    putScalarString(k);
    if (v === null || typeof v !== 'object') {
      room(2);
      buf[pos++] = 0x3a; // ": "
      buf[pos++] = 0x20;
      putScalar(v, level + 1);
      room(1);
      buf[pos++] = 0x0a;
    } else if (isEmpty(v)) {
      putAscii(Array.isArray(v) ? ': []\n' : ': {}\n');
    } else {
      room(2);
      buf[pos++] = 0x3a; // ":\n"
      buf[pos++] = 0x0a;
      const at = pos;
      putIndent(level + 1);
      writeNode(v, at, level + 1);
    }
  }
  if (!wrote) pos = first;
}

function writeSeq(arr: readonly unknown[], first: number, level: number): void {
  let at = first;
  let wrote = false;
  for (const item of arr) {
    if (wrote) {
      at = pos;
      putIndent(level);
    }
    wrote = true;
    // The first line of a nested node goes on the dash line.
    if (item === null || typeof item !== 'object') {
      room(2);
      buf[pos++] = 0x2d; // "- "
      buf[pos++] = 0x20;
      putScalar(item, level + 1);
      room(1);
      buf[pos++] = 0x0a;
    } else if (isEmpty(item)) {
      putAscii(Array.isArray(item) ? '- []\n' : '- {}\n');
    } else {
      room(2);
      buf[pos++] = 0x2d;
      buf[pos++] = 0x20;
      // A node that writes nothing takes the dash and what came before it back; the next item
      // starts its line at the indentation, as the string writer's did.
      writeNode(item, at, level + 1);
    }
  }
}

/**
 * Objects many renders share (compiler/expand/fragment.ts: deep-frozen, so their YAML at one
 * level never changes): their YAML per level is kept once written, and copied on every later
 * write. Per fragment and level three entries: the chunk that holds the bytes, start, end. The
 * bytes live in chunks of one MiB, not a typed array each (30,000 small ArrayBuffers per thread
 * made every scavenge slower) nor one doubling arena (its copies touched twice the memory). A
 * chunk lives as long as a fragment whose YAML it holds (fragment.ts drops its fragments in the
 * end, so a long-running process keeps a bounded amount).
 */
const KEPT = Symbol('dbtopo.yaml');
const CHUNK = 1 << 20;
let chunk = Buffer.allocUnsafe(0);
let chunkEnd = 0;

/**
 * Marks an object whose YAML the writer keeps (see above), before it is frozen: the list of
 * where its YAML is goes on the object itself, under a symbol no enumeration, spread or JSON sees
 * (a WeakMap from fragment to list cost 1.3 µs per fragment and longer scavenges).
 */
export function keepYaml(obj: object): void {
  if (!Object.isFrozen(obj) && !Object.hasOwn(obj, KEPT)) Object.defineProperty(obj, KEPT, { value: [] });
}

function writeNode(v: object, first: number, level: number): void {
  const at = (v as { [KEPT]?: Array<Buffer | number> })[KEPT];
  if (at === undefined) {
    if (Array.isArray(v)) writeSeq(v, first, level);
    else writeMap(v as Record<string, unknown>, first, level);
    return;
  }
  const i = 3 * level;
  const c = at[i] as Buffer | undefined;
  if (c !== undefined) {
    const from = at[i + 1] as number;
    const to = at[i + 2] as number;
    room(to - from);
    c.copy(buf, pos, from, to);
    pos += to - from;
    return;
  }
  const start = pos;
  if (Array.isArray(v)) writeSeq(v, first, level);
  else writeMap(v as Record<string, unknown>, first, level);
  // A node that wrote nothing took its prefix back (pos ≤ start): nothing to keep. Larger than
  // a chunk (a long config file): written each time.
  const n = pos - start;
  if (n <= 0 || n > CHUNK) return;
  if (chunkEnd + n > chunk.length) {
    chunk = Buffer.allocUnsafe(CHUNK);
    chunkEnd = 0;
  }
  buf.copy(chunk, chunkEnd, start, pos);
  at[i] = chunk;
  at[i + 1] = chunkEnd;
  at[i + 2] = chunkEnd + n;
  chunkEnd += n;
}

/** Appends one document (a value's YAML) at the end of the buffer. */
function putDocument(value: unknown): void {
  if (isScalar(value)) {
    putScalar(value, 1);
    putAscii('\n');
  } else if (isEmpty(value as object)) putAscii(`${EMPTY(value as object)}\n`);
  else writeNode(value as object, pos, 0);
}

export function toYaml(value: unknown): string {
  pos = 0;
  putDocument(value);
  return buf.toString('utf8', 0, pos);
}

/**
 * A file of several documents as UTF-8 (emit/documents.ts joinDocuments of their toYaml: each
 * after a `---` line but the first). The bytes are a view of this module's buffer, valid until
 * its next call: write them out before.
 */
export function yamlFile(values: readonly unknown[]): Uint8Array {
  pos = 0;
  values.forEach((v, i) => {
    if (i > 0) putAscii('---\n');
    putDocument(v);
  });
  return buf.subarray(0, pos);
}
