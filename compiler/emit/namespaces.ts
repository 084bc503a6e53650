// The Namespaces of a member cluster, enforcing the Pod Security "restricted" standard so a pod
// template that drifts from it is rejected at admission rather than discovered in an audit, and
// carrying the label that binds the admission guard's policies to them.

import { GUARD_NAMESPACE_LABEL, GUARD_NAMESPACE_VALUE, LABELS, MANAGED_BY } from '../../schemas/types/index.js';
import type { NamespaceLike } from '../expand/objects.js';

export function namespaceObject(name: string): NamespaceLike {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        [LABELS.managedBy]: MANAGED_BY,
        'kubernetes.io/metadata.name': name,
        // turns the admission guard on here (compiler/emit/guards.ts)
        [GUARD_NAMESPACE_LABEL]: GUARD_NAMESPACE_VALUE,
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/audit': 'restricted',
        'pod-security.kubernetes.io/warn': 'restricted',
      },
    },
  };
}
