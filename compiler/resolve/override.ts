// A topology as one environment sees it: topology.overrides.<env> applied to the base fields.
// Shared by validate (policy is checked on the result) and resolve (which compiles it).
import type { Placement, Topology, TopologyOverride } from '../../schemas/types/topology.js';

/**
 * A deep copy of parsed YAML data (objects, arrays, scalars): several times cheaper than
 * structuredClone, which serializes, and this runs for every topology in every environment.
 */
function clonePlain<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(clonePlain) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = clonePlain((v as Record<string, unknown>)[k]);
  return out as T;
}

/**
 * Scalars replace; resources, storage, sentinel, proxy, placement and parameters merge field by
 * field (one level, resources inside sentinel/proxy replace whole); instances replace the whole
 * list, because merging heterogeneous instances by position would surprise. The result carries
 * no `overrides`. Pure: the input is not modified.
 */
export function applyOverride(topology: Topology, env: string): Topology {
  const { overrides, ...base } = topology;
  const o: TopologyOverride | undefined = overrides && Object.hasOwn(overrides, env) ? overrides[env] : undefined;
  if (!o) return clonePlain(base);
  const out: Topology = clonePlain(base);
  if (o.version !== undefined) out.version = o.version;
  if (o.replicas !== undefined) out.replicas = o.replicas;
  if (o.shards !== undefined) out.shards = o.shards;
  if (o.resources) out.resources = { ...out.resources, ...o.resources };
  if (o.storage) out.storage = { ...out.storage, ...o.storage } as Topology['storage'];
  if (o.sentinel) out.sentinel = { ...out.sentinel, ...o.sentinel } as Topology['sentinel'];
  if (o.proxy) out.proxy = { ...out.proxy, ...o.proxy } as Topology['proxy'];
  if (o.placement) out.placement = { ...out.placement, ...o.placement } as Placement;
  if (o.parameters) out.parameters = { ...out.parameters, ...o.parameters };
  if (o.instances) out.instances = clonePlain(o.instances);
  return out;
}

/**
 * Where the effective value at `path` was written: under overrides.<env> when the override sets
 * it (or, for instances, replaces the list), else the base field. Diagnostics about an
 * environment's view of a topology point at the line a reviewer must change.
 */
export function overrideSource(topology: Topology, env: string, path: ReadonlyArray<string | number>): Array<string | number> {
  const o = topology.overrides && Object.hasOwn(topology.overrides, env) ? topology.overrides[env] : undefined;
  if (!o || path.length === 0) return [...path];
  const head = path[0] as string;
  if (head === 'instances') return o.instances ? ['overrides', env, ...path] : [...path];
  let node: unknown = o;
  for (const seg of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, seg)) return [...path];
    node = (node as Record<string | number, unknown>)[seg];
  }
  return ['overrides', env, ...path];
}
