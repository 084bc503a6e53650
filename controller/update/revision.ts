// Pod revisions: a stable hash of the pod template a pod is built from. The reconciler writes it
// on every pod as the `dbtopo.dev/revision` label; a pod whose label differs from the
// InstanceSet's update revision is outdated and the update plan (plan.ts) decides when to
// replace it.
import { createHash } from 'node:crypto';
import type { InstanceSet, InstanceTemplate, PodTemplateSpec } from '../../schemas/types/index.js';

const ZONE_LABEL = 'topology.kubernetes.io/zone';

/**
 * The pod template of `templateName` (undefined or '' = the default template): the default
 * template with the instance template's overrides applied. Overrides go to the first container,
 * which the compiler always makes the engine container.
 */
export function effectiveTemplate(set: InstanceSet, templateName?: string): PodTemplateSpec {
  const base = structuredClone(set.spec.template);
  if (!templateName) return base;
  const inst = set.spec.instances?.find((i) => i.name === templateName);
  if (!inst) {
    throw new Error(
      `InstanceSet ${set.metadata.name} has no instance template "${templateName}"; ` +
        `use one of: ${(set.spec.instances ?? []).map((i) => i.name).join(', ') || '(none)'}`,
    );
  }
  return applyInstanceTemplate(base, inst);
}

function applyInstanceTemplate(t: PodTemplateSpec, inst: InstanceTemplate): PodTemplateSpec {
  const metadata = { ...(t.metadata ?? {}) };
  if (inst.labels) metadata.labels = { ...(metadata.labels ?? {}), ...inst.labels };
  if (inst.annotations) metadata.annotations = { ...(metadata.annotations ?? {}), ...inst.annotations };
  const spec = { ...t.spec };
  const nodeSelector: Record<string, string> = {
    ...((spec.nodeSelector as Record<string, string> | undefined) ?? {}),
    ...(inst.nodeSelector ?? {}),
  };
  if (inst.zone) nodeSelector[ZONE_LABEL] = inst.zone;
  if (Object.keys(nodeSelector).length > 0) spec.nodeSelector = nodeSelector;
  const [first, ...rest] = spec.containers;
  if (first && (inst.resources || inst.env)) {
    const c: typeof first = { ...first };
    if (inst.resources) c.resources = inst.resources;
    if (inst.env) {
      // Same-named variables are replaced in place; new ones are appended, so order is stable.
      const env = [...((c.env as Array<{ name: string; value?: string }> | undefined) ?? [])];
      for (const e of inst.env) {
        const at = env.findIndex((x) => x.name === e.name);
        if (at >= 0) env[at] = e;
        else env.push(e);
      }
      c.env = env;
    }
    spec.containers = [c, ...rest];
  }
  return Object.keys(metadata).length > 0 ? { metadata, spec } : { spec };
}

/** JSON with object keys sorted at every level, so key order never changes a hash. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x === undefined ? null : x)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** 10 hex characters: short enough for a label value, long enough that collisions do not happen in practice. */
export function hashTemplate(t: PodTemplateSpec): string {
  return createHash('sha256').update(canonicalJson(t)).digest('hex').slice(0, 10);
}

/** The revision a pod of `templateName` must carry to be up to date. */
export function podRevision(set: InstanceSet, templateName?: string): string {
  return hashTemplate(effectiveTemplate(set, templateName));
}

/**
 * The InstanceSet's update revision (status.updateRevision): one hash over every template, so
 * it changes whenever any pod must change.
 */
export function updateRevision(set: InstanceSet): string {
  const names = (set.spec.instances ?? []).map((i) => i.name).sort();
  const all = [hashTemplate(effectiveTemplate(set)), ...names.map((n) => `${n}=${podRevision(set, n)}`)];
  return createHash('sha256').update(all.join('\n')).digest('hex').slice(0, 10);
}
