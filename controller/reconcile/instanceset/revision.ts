// The revision of a pod: a short hash of its effective template (the InstanceSet's pod template
// with its instance template's overrides applied, before anything per-pod such as the name).
// Written as the label dbtopo.dev/revision; a pod whose label differs from its desired revision is
// out of date (UPDATES' rolling update replaces it).
import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so that equal templates hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** 10 hex characters of sha256 over the canonical JSON of an effective pod template. */
export function podRevision(effectiveTemplate: unknown): string {
  return createHash('sha256').update(canonicalJson(effectiveTemplate)).digest('hex').slice(0, 10);
}
