// Structural diff of two sets of rendered objects, object by object and field by field.
// Objects are keyed by (env, member cluster, apiVersion, kind, namespace, name: emit/paths.ts objectKey); lists whose items
// all carry a unique `name` are compared item by item by that name, so reordering containers or
// inserting an env var shows as the one change it is, not as a shifted list.
import { objectKey } from '../emit/paths.js';
import type { FieldChange, ObjectChange, PlanObject } from './model.js';

export function diffObjects(base: ReadonlyArray<PlanObject>, head: ReadonlyArray<PlanObject>): ObjectChange[] {
  const before = indexByKey(base);
  const after = indexByKey(head);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const out: ObjectChange[] = [];
  for (const key of keys) {
    const b = before.get(key);
    const h = after.get(key);
    const o = (h ?? b) as PlanObject;
    const common = {
      key,
      env: o.env,
      memberCluster: o.memberCluster,
      apiVersion: o.object.apiVersion,
      kind: o.object.kind,
      name: o.object.metadata.name,
      ...(o.object.metadata.namespace !== undefined ? { namespace: o.object.metadata.namespace } : {}),
      ...(o.topology !== undefined ? { topology: o.topology } : {}),
      ...(o.source !== undefined ? { source: o.source } : {}),
    };
    if (!b && h) out.push({ ...common, type: 'added', fields: [], head: h.object });
    else if (b && !h) out.push({ ...common, type: 'removed', fields: [], base: b.object });
    else if (b && h) {
      const fields = diffValues(b.object, h.object);
      if (fields.length > 0) out.push({ ...common, type: 'changed', fields, base: b.object, head: h.object });
    }
  }
  return out;
}

function indexByKey(objects: ReadonlyArray<PlanObject>): Map<string, PlanObject> {
  const m = new Map<string, PlanObject>();
  for (const o of objects) {
    const k = objectKey(o);
    // Two rendered objects with one key is a compiler bug; failing loudly beats a silent wrong plan.
    if (m.has(k)) throw new Error(`two rendered objects share the key ${k}; report this as a compiler bug`);
    m.set(k, o);
  }
  return m;
}

/** Field changes turning `a` into `b`, in document order of `b` (removed fields last). */
export function diffValues(a: unknown, b: unknown, segments: string[] = []): FieldChange[] {
  if (deepEqual(a, b)) return [];
  if (isRecord(a) && isRecord(b)) {
    const out: FieldChange[] = [];
    for (const k of Object.keys(b)) {
      if (!(k in a)) out.push(...addedOrRemoved('add', [...segments, k], b[k]));
      else out.push(...diffValues(a[k], b[k], [...segments, k]));
    }
    for (const k of Object.keys(a)) if (!(k in b)) out.push(...addedOrRemoved('remove', [...segments, k], a[k]));
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const ka = namedItems(a);
    const kb = namedItems(b);
    if (ka && kb) {
      const out: FieldChange[] = [];
      for (const [name, item] of kb) {
        const seg = `name=${name}`;
        const old = ka.get(name);
        if (old === undefined) out.push(change('add', [...segments, seg], undefined, item));
        else out.push(...diffValues(old, item, [...segments, seg]));
      }
      for (const [name, item] of ka) if (!kb.has(name)) out.push(change('remove', [...segments, `name=${name}`], item, undefined));
      return out;
    }
    // Lists of objects of equal length: item by item, so one changed field stays one change.
    if (a.length === b.length && a.every(isRecord) && b.every(isRecord)) {
      return a.flatMap((item, i) => diffValues(item, b[i], [...segments, String(i)]));
    }
  }
  return [change('replace', segments, a, b)];
}

/** A whole new (or gone) map is reported key by key, so each key meets its own rule. */
function addedOrRemoved(op: 'add' | 'remove', segments: string[], v: unknown): FieldChange[] {
  if (isRecord(v) && Object.keys(v).length > 0) {
    return Object.keys(v).flatMap((k) => addedOrRemoved(op, [...segments, k], v[k]));
  }
  return [op === 'add' ? change(op, segments, undefined, v) : change(op, segments, v, undefined)];
}

function change(op: FieldChange['op'], segments: string[], old: unknown, nu: unknown): FieldChange {
  return {
    path: toPointer(segments),
    segments,
    op,
    ...(op !== 'add' ? { old } : {}),
    ...(op !== 'remove' ? { new: nu } : {}),
  };
}

/** "/a/b~1c" per RFC 6901 escaping, except that name-keyed list items read "name=<value>". */
export function toPointer(segments: ReadonlyArray<string>): string {
  return segments.length === 0 ? '/' : segments.map((s) => '/' + s.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

function namedItems(list: unknown[]): Map<string, unknown> | undefined {
  if (list.length === 0) return new Map();
  const m = new Map<string, unknown>();
  for (const item of list) {
    if (!isRecord(item) || typeof item['name'] !== 'string' || m.has(item['name'])) return undefined;
    m.set(item['name'], item);
  }
  return m;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}
