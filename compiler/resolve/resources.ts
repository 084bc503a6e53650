// Requests and limits from a (partial) Resources: memory is always limited (an engine over its
// memory is better restarted than starving its node); CPU is only limited for exclusive CPUs,
// where requests = limits with an integer CPU count gives Guaranteed QoS and pinned cores.

import type { Resources } from '../../schemas/types/index.js';
import type { ResolvedResources } from '../model.js';

/** CPU quantity in cores: "500m" → 0.5, "2" → 2. NaN when unparsable. */
export function cpuCores(quantity: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(quantity.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'm' ? n / 1000 : n;
}

export function mergeResources(...layers: Array<Resources | undefined>): Required<Resources> {
  const out: Resources = {};
  for (const layer of layers) {
    if (layer?.cpu !== undefined) out.cpu = layer.cpu;
    if (layer?.memory !== undefined) out.memory = layer.memory;
  }
  return { cpu: out.cpu ?? '100m', memory: out.memory ?? '128Mi' };
}

export function toRequirements(r: Required<Resources>, exclusiveCpu: boolean): ResolvedResources {
  if (exclusiveCpu) {
    const cores = cpuCores(r.cpu);
    const cpu = Number.isFinite(cores) ? String(Math.max(1, Math.ceil(cores))) : r.cpu;
    return { requests: { cpu, memory: r.memory }, limits: { cpu, memory: r.memory } };
  }
  return { requests: { cpu: r.cpu, memory: r.memory }, limits: { memory: r.memory } };
}
