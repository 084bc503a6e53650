// Fragments: parts of rendered objects that many renders build alike (the containers of one
// image and configuration, the labels of one component, the annotations of one wave). Built once
// per distinct input, deep-frozen (a render never edits what it shares: a write throws), and
// marked for the YAML writer, which writes each fragment's YAML once per indentation level and
// copies it after that (emit/yaml.ts keepYaml).
//
// Measured on the benchmark repository (1,000 topologies × 3 environments, 109 MiB of YAML):
// 71% of the bytes are copies of fragments; over the 3,000 renders in one thread of a fresh
// process the writer took 0.6 s of CPU instead of 1.2 s, the renders 0.1 s more. In a whole
// compile the gain is smaller (CPU median 2.88 → 2.66 s, 12 + 12 interleaved runs): each render
// thread builds and first writes its own fragments. What a fragment costs is its lookup, paid on
// every call, so: the last call's arguments are compared first (calls come in runs: the objects of
// one InstanceSet); else the arguments are looked up one by one in nested Maps (strings and
// numbers by value, with V8's cached string hashes; frozen objects, i.e. other fragments, by
// identity), not joined into one JSON key, which cost 0.6 µs per call.

import { keepYaml } from '../emit/yaml.js';

/** Fragments kept per builder; all of a builder's are dropped when it has this many. */
const LIMIT = 20_000;

interface Node {
  /** By the next argument; made when a call goes past this node (a leaf has none). */
  next?: Map<unknown, Node>;
  value?: object;
}

interface Builder {
  root: Node;
  count: number;
  /** The last call's arguments and fragment: calls come in runs (the objects of one InstanceSet). */
  lastArgs: unknown[];
  last?: object;
}

const builders = new Map<object, Builder>();
/** Set by tests: build every fragment again and throw when it differs from the one kept. */
const CHECK = process.env.DBTOPO_CHECK_FRAGMENTS === '1';

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** How an argument is looked up: a primitive as it is, a frozen object by identity, any other object by its JSON. */
function keyOf(a: unknown): unknown {
  return a !== null && typeof a === 'object' && !Object.isFrozen(a) ? JSON.stringify(a) : a;
}

/** The same arguments: primitives equal, objects the same frozen one (another may have changed since). */
function sameArgs(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x !== b[i] || (x !== null && typeof x === 'object' && !Object.isFrozen(x))) return false;
  }
  return true;
}

/**
 * `make(...args)`, the same frozen object for the same arguments. `make` must be a pure function
 * of its arguments: primitives, fragments, or JSON values (compared by their JSON).
 */
export function fragment<A extends unknown[], T extends object>(make: (...args: A) => T, ...args: A): T {
  let b = builders.get(make);
  if (b === undefined) {
    b = { root: {}, count: 0, lastArgs: [] };
    builders.set(make, b);
  }
  if (!CHECK && b.last !== undefined && sameArgs(b.lastArgs, args)) return b.last as T;
  if (b.count >= LIMIT) {
    b.root = {};
    b.count = 0;
  }
  let node = b.root;
  for (let i = 0; i < args.length; i++) {
    const k = keyOf(args[i]);
    node.next ??= new Map();
    let next = node.next.get(k);
    if (next === undefined) {
      next = {};
      node.next.set(k, next);
    }
    node = next;
  }
  let v = node.value as T | undefined;
  if (v === undefined) {
    v = make(...args);
    keepYaml(v);
    deepFreeze(v);
    node.value = v;
    b.count++;
  } else if (CHECK) {
    const again = JSON.stringify(make(...args));
    if (again !== JSON.stringify(v)) throw new Error(`fragment ${make.name}(${JSON.stringify(args)}) built ${again}, kept ${JSON.stringify(v)}`);
  }
  b.lastArgs = args;
  b.last = v;
  return v;
}

/** A constant: deep-frozen and marked once. */
export function constant<T extends object>(v: T): T {
  keepYaml(v);
  return deepFreeze(v);
}
