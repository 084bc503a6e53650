// Labels, selectors and metadata of every object of one topology. Selectors are built from the
// same functions as the pod labels, so a selector can only ever name labels the pods carry.

import { ANNOTATIONS, LABELS, MANAGED_BY } from '../../schemas/types/index.js';
import type { ObjectMeta } from '../../schemas/types/index.js';
import type { ResolvedTopology } from '../model.js';
import { fragment } from './fragment.js';

export type Component = 'server' | 'sentinel' | 'proxy';

/** Labels every object of the topology carries. */
export function topologyLabels(t: ResolvedTopology): Record<string, string> {
  return fragment(topologyLabelsOf, t.engine, t.name);
}

function topologyLabelsOf(engine: string, name: string): Record<string, string> {
  return {
    [LABELS.name]: engine,
    [LABELS.instance]: name,
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.partOf]: MANAGED_BY,
    [LABELS.cluster]: name,
  };
}

/** Selects all pods of one component of the topology (NetworkPolicy, proxy Service). */
export function componentSelector(t: ResolvedTopology, component: Component): Record<string, string> {
  return fragment(componentSelectorOf, t.name, component);
}

function componentSelectorOf(name: string, component: Component): Record<string, string> {
  return { [LABELS.instance]: name, [LABELS.component]: component, [LABELS.managedBy]: MANAGED_BY };
}

/** Selects the pods of one InstanceSet (its selector, headless Service, PDB). */
export function instanceSetSelector(t: ResolvedTopology, component: Component, instanceSet: string): Record<string, string> {
  return fragment(instanceSetSelectorOf, t.name, component, instanceSet);
}

function instanceSetSelectorOf(name: string, component: Component, instanceSet: string): Record<string, string> {
  return { ...componentSelectorOf(name, component), [LABELS.instanceSet]: instanceSet };
}

/** Labels of the pods (and of the InstanceSet itself). */
export function podLabels(
  t: ResolvedTopology,
  component: Component,
  instanceSet: string,
  shardLabel: string | undefined,
): Record<string, string> {
  return fragment(podLabelsOf, t.engine, t.name, component, instanceSet, shardLabel ?? null);
}

function podLabelsOf(engine: string, name: string, component: Component, instanceSet: string, shardLabel: string | null): Record<string, string> {
  return {
    ...topologyLabelsOf(engine, name),
    ...instanceSetSelectorOf(name, component, instanceSet),
    ...(shardLabel !== null ? { [LABELS.shard]: shardLabel } : {}),
  };
}

export function metadata(t: ResolvedTopology, name: string, labels: Record<string, string>): ObjectMeta {
  return { name, namespace: t.namespace, labels, annotations: fragment(sourceAnnotation, t.source) };
}

function sourceAnnotation(source: string): Record<string, string> {
  return { [ANNOTATIONS.source]: source };
}
