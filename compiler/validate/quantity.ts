// Kubernetes quantities as numbers, for comparisons against policy limits.
const BYTES: Record<string, number> = {
  '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** "500m" → 0.5, "2" → 2; undefined when not a CPU quantity. */
export function cpuCores(q: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m?)$/.exec(q);
  if (!m) return undefined;
  return m[2] ? Number(m[1]) / 1000 : Number(m[1]);
}

/** "4Gi" → 4294967296; undefined when not a byte quantity. */
export function bytes(q: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.exec(q);
  if (!m) return undefined;
  return Number(m[1]) * BYTES[m[2] ?? '']!;
}

/** Whole CPUs only ("2", "2000m"), as the static CPU manager requires for exclusive cores. */
export function isWholeCpu(q: string): boolean {
  const c = cpuCores(q);
  return c !== undefined && c >= 1 && Number.isInteger(c);
}
