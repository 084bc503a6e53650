// desiredPods(instanceSet): the pods (and their PVCs) an InstanceSet asks for, as full manifests.
// Pure: the same InstanceSet always gives the same objects, so a controller killed at any moment
// and restarted computes exactly the names it was creating before (never a duplicate pod).
import {
  LABELS,
  MANAGED_BY,
  type InstanceSet,
  type InstanceTemplate,
  type KubeObject,
  type OwnerReference,
} from '../../../schemas/types/index.js';
import { expandOrdinals, podName } from './ordinals.js';
import { effectiveTemplate, hashTemplate, updateRevision } from '../../update/revision.js';

export interface DesiredPod {
  name: string;
  ordinal: number;
  /** Instance template name; undefined for the default template. */
  template?: string;
  revision: string;
  pod: KubeObject;
  pvcs: KubeObject[];
}

/** Which ordinals each template (and the default template, key '') gets. */
export function assignOrdinals(is: InstanceSet): Map<string, number[]> {
  const spec = is.spec;
  const name = is.metadata.name;
  const offline = new Set(spec.offlineInstances ?? []);
  const used = new Set<number>();
  const out = new Map<string, number[]>();
  const usable = (n: number): boolean => !used.has(n) && !offline.has(podName(name, n));
  const take = (key: string, candidates: number[], count: number): void => {
    const got: number[] = [];
    for (const n of candidates) {
      if (got.length >= count) break;
      if (usable(n)) {
        got.push(n);
        used.add(n);
      }
    }
    out.set(key, got);
  };
  const lowestFree = (count: number): number[] => {
    const got: number[] = [];
    // Bounded: at most `count` hits among used/offline + count candidates.
    for (let n = 0; got.length < count && n < count + used.size + offline.size + 1; n++) if (usable(n)) got.push(n);
    return got;
  };
  const templates = spec.instances ?? [];
  const templated = templates.reduce((sum, t) => sum + Math.max(0, t.replicas), 0);
  const defaultCount = Math.max(0, spec.replicas - templated);
  // Explicit ordinals first, so implicit allocation never takes an ordinal someone named.
  for (const t of templates) if (t.ordinals !== undefined) take(t.name, expandOrdinals(t.ordinals), t.replicas);
  if (spec.defaultTemplateOrdinals !== undefined) take('', expandOrdinals(spec.defaultTemplateOrdinals), defaultCount);
  // Then templates without ordinals (before the default, so scaling the default moves no template pod).
  for (const t of templates) if (t.ordinals === undefined) take(t.name, lowestFree(t.replicas), t.replicas);
  if (spec.defaultTemplateOrdinals === undefined) take('', lowestFree(defaultCount), defaultCount);
  return out;
}

const clone = <T>(v: T): T => structuredClone(v);

export function ownerReference(is: InstanceSet): OwnerReference {
  return {
    apiVersion: is.apiVersion,
    kind: 'InstanceSet',
    name: is.metadata.name,
    uid: is.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function pvcName(vct: string, pod: string): string {
  return `${vct}-${pod}`;
}

/** Labels every object the controller creates for an InstanceSet carries. */
export function ownedLabels(is: InstanceSet): Record<string, string> {
  const labels: Record<string, string> = { [LABELS.instanceSet]: is.metadata.name, [LABELS.managedBy]: MANAGED_BY };
  for (const key of [LABELS.cluster, LABELS.shard, LABELS.component, LABELS.instance, LABELS.name]) {
    const v = is.metadata.labels?.[key];
    if (v !== undefined) labels[key] = v;
  }
  return labels;
}

function desiredPvcs(is: InstanceSet, pod: string): KubeObject[] {
  const deleteWithSet = is.spec.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete';
  return (is.spec.volumeClaimTemplates ?? []).map((vct) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: pvcName(vct.metadata.name, pod),
      namespace: is.metadata.namespace,
      labels: { ...vct.metadata.labels, ...ownedLabels(is) },
      ...(vct.metadata.annotations !== undefined ? { annotations: { ...vct.metadata.annotations } } : {}),
      // whenDeleted: Delete ⇒ the garbage collector removes the claim with the InstanceSet.
      ...(deleteWithSet ? { ownerReferences: [ownerReference(is)] } : {}),
    },
    spec: clone(vct.spec),
  }));
}

function buildPod(is: InstanceSet, name: string, t: InstanceTemplate | undefined): DesiredPod['pod'] & { revision: string } {
  // One revision function for the reconciler and the rolling update (UPDATES' controller/update/revision.ts).
  const tpl = effectiveTemplate(is, t?.name);
  const revision = hashTemplate(tpl);
  const labels: Record<string, string> = {
    ...tpl.metadata?.labels,
    ...is.spec.selector.matchLabels,
    ...ownedLabels(is),
    [LABELS.revision]: revision,
  };
  if (t !== undefined) labels[LABELS.template] = t.name;
  const volumes = Array.isArray(tpl.spec['volumes']) ? [...(tpl.spec['volumes'] as Array<{ name: string }>)] : [];
  for (const vct of is.spec.volumeClaimTemplates ?? []) {
    if (!volumes.some((v) => v.name === vct.metadata.name)) {
      volumes.push({ name: vct.metadata.name, persistentVolumeClaim: { claimName: pvcName(vct.metadata.name, name) } } as { name: string });
    }
  }
  const spec: Record<string, unknown> = { ...tpl.spec, hostname: name, subdomain: is.spec.serviceName };
  if (volumes.length > 0) spec['volumes'] = volumes;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: is.metadata.namespace,
      labels,
      ...(tpl.metadata?.annotations !== undefined ? { annotations: { ...tpl.metadata.annotations } } : {}),
      ownerReferences: [ownerReference(is)],
    },
    spec,
    revision,
  };
}

/** Every pod the InstanceSet asks for, ascending by ordinal. */
export function desiredPods(is: InstanceSet): DesiredPod[] {
  const byName = new Map((is.spec.instances ?? []).map((t) => [t.name, t]));
  const out: DesiredPod[] = [];
  for (const [key, ordinals] of assignOrdinals(is)) {
    const t = key === '' ? undefined : byName.get(key);
    for (const ordinal of ordinals) {
      const name = podName(is.metadata.name, ordinal);
      const { revision, ...pod } = buildPod(is, name, t);
      out.push({ name, ordinal, ...(t !== undefined ? { template: t.name } : {}), revision, pod, pvcs: desiredPvcs(is, name) });
    }
  }
  return out.sort((a, b) => a.ordinal - b.ordinal);
}

/** status.updateRevision: one hash over every template of the set. */
export function defaultRevision(is: InstanceSet): string {
  return updateRevision(is);
}
