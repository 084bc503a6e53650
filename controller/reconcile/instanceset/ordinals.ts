// Ordinal sets (`ranges` + `discrete`, as in KubeBlocks' InstanceSet) and pod names `<set>-<ordinal>`.
import type { Ordinals } from '../../../schemas/types/index.js';

/** The ordinals an `Ordinals` value names, ascending, without duplicates. */
export function expandOrdinals(o: Ordinals | undefined): number[] {
  if (o === undefined) return [];
  const out = new Set<number>();
  for (const r of o.ranges ?? []) {
    // A reversed or huge range is a spec error; bound it so a typo cannot exhaust memory.
    for (let i = r.start; i <= r.end && i - r.start < 100_000; i++) out.add(i);
  }
  for (const d of o.discrete ?? []) out.add(d);
  return [...out].filter((n) => Number.isInteger(n) && n >= 0).sort((a, b) => a - b);
}

export function podName(instanceSet: string, ordinal: number): string {
  return `${instanceSet}-${ordinal}`;
}

/** The ordinal of `pod` if it is named `<instanceSet>-<n>`, else undefined. */
export function ordinalOf(instanceSet: string, pod: string): number | undefined {
  const prefix = `${instanceSet}-`;
  if (!pod.startsWith(prefix)) return undefined;
  const rest = pod.slice(prefix.length);
  return /^(0|[1-9][0-9]*)$/.test(rest) ? Number(rest) : undefined;
}
