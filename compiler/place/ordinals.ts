// Global ordinals of one shard's servers, split over member clusters. Every pod keeps the same
// name `<instanceset>-<ordinal>` whichever member cluster it runs in, so names never collide when
// a shard spans clusters and a pod can move between them by changing only where its slot lives.

import type { OrdinalSlot } from '../model.js';

export interface TemplateSlots {
  name: string;
  replicas: number;
  zone?: string;
}

export interface MemberZones {
  name: string;
  zones: readonly string[];
}

export interface SplitResult {
  /** Slots per member cluster, in the order of `members`, each in ordinal order. */
  perMember: OrdinalSlot[][];
  /** Instance templates whose zone is in none of the member clusters. */
  unknownZones: string[];
}

/**
 * Ordinals 0..d-1 go to the default template (d = replicas minus the templates' replicas), then
 * each instance template takes the next ones in order. Zoned slots go to the member cluster
 * owning the zone; the rest fill the member clusters in order up to an even share, so ranges
 * stay contiguous.
 */
export function splitShard(replicas: number, templates: readonly TemplateSlots[], members: readonly MemberZones[]): SplitResult {
  const slots: Array<OrdinalSlot & { zone?: string }> = [];
  const templated = templates.reduce((n, t) => n + t.replicas, 0);
  const defaults = Math.max(0, replicas - templated);
  for (let i = 0; i < defaults; i++) slots.push({ ordinal: i });
  for (const t of templates) {
    for (let i = 0; i < t.replicas; i++) {
      slots.push({ ordinal: slots.length, template: t.name, ...(t.zone !== undefined ? { zone: t.zone } : {}) });
    }
  }
  const n = members.length;
  const perMember: OrdinalSlot[][] = members.map(() => []);
  const unknownZones = new Set<string>();
  const floating: OrdinalSlot[] = [];
  for (const s of slots) {
    const { zone, ...slot } = s;
    const owner = zone === undefined ? -1 : members.findIndex((m) => m.zones.includes(zone));
    if (zone !== undefined && owner < 0 && n > 0) unknownZones.add(slot.template ?? '');
    if (owner >= 0) perMember[owner]?.push(slot);
    else floating.push(slot);
  }
  const total = slots.length;
  const target = (i: number): number => Math.floor(total / n) + (i < total % n ? 1 : 0);
  for (const slot of floating) {
    let idx = perMember.findIndex((list, i) => list.length < target(i));
    if (idx < 0) {
      // Every member cluster is at its share (zoned slots overfilled some): take the emptiest.
      idx = 0;
      perMember.forEach((list, i) => {
        if (list.length < (perMember[idx]?.length ?? 0)) idx = i;
      });
    }
    perMember[idx]?.push(slot);
  }
  for (const list of perMember) list.sort((a, b) => a.ordinal - b.ordinal);
  return { perMember, unknownZones: [...unknownZones].sort() };
}

/** Ordinals compressed to KubeBlocks-style ranges: [0,1,2,5] → [{0,2},{5,5}]. */
export function toRanges(ordinals: readonly number[]): Array<{ start: number; end: number }> {
  const sorted = [...ordinals].sort((a, b) => a - b);
  const out: Array<{ start: number; end: number }> = [];
  for (const o of sorted) {
    const last = out[out.length - 1];
    if (last && o === last.end + 1) last.end = o;
    else out.push({ start: o, end: o });
  }
  return out;
}
