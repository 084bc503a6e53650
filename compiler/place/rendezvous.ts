// Weighted rendezvous (highest random weight) hashing: each topology picks the member cluster
// with the highest score -weight / ln(u), u a hash of (key, cluster) in (0,1). Adding or removing
// other topologies never moves a topology; adding a member cluster moves only the topologies
// that now score highest on it (about weight / total weight of them).

import { hash } from 'node:crypto';

export interface Candidate {
  name: string;
  weight?: number;
}

/** A deterministic number in (0,1) from a string. */
export function unitHash(s: string): number {
  const digest = hash('sha256', s, 'buffer');
  // 53 bits: the integer precision of a double.
  const hi = digest.readUInt32BE(0) >>> 11; // 21 bits
  const lo = digest.readUInt32BE(4); // 32 bits
  return (hi * 2 ** 32 + lo + 0.5) / 2 ** 53;
}

/** The chosen candidate's name, or undefined when there is none. Zero weights only win if all are zero. */
export function rendezvousPick(key: string, candidates: readonly Candidate[]): string | undefined {
  let best: { name: string; score: number } | undefined;
  const allZero = candidates.every((c) => (c.weight ?? 1) <= 0);
  for (const c of candidates) {
    const weight = allZero ? 1 : (c.weight ?? 1);
    if (weight <= 0) continue;
    const score = -weight / Math.log(unitHash(`${key}\u0000${c.name}`));
    if (best === undefined || score > best.score || (score === best.score && c.name < best.name)) {
      best = { name: c.name, score };
    }
  }
  return best?.name;
}
