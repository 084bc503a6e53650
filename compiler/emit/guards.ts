// The admission guard of a member cluster: ValidatingAdmissionPolicies (CEL evaluated inside the
// API server: no webhook to run or to fail open) and their bindings, rendered into _cluster/ with
// the CRDs. Who may change what is decided by the caller's identity (request.userInfo); what may
// change at all by object and oldObject. docs/guard.md has the rules, the identities and the
// matrix the tests check (test/cluster/guard-policies.test.ts). Pure.
//
// Every policy:
// - is bound only in namespaces labelled dbtopo.dev/guard=enforce (the compiler labels the
//   namespaces it renders), except the one that keeps that label on;
// - lets Kubernetes' own controllers through (garbage collector, namespace controller, pod GC,
//   taint eviction: KUBE_SYSTEM_EXEMPT), so deleting a namespace or an InstanceSet still works;
// - names the rule in its denial ("dbtopo guard [rule]") and says what to do instead;
// Break glass leaves a trail: dbtopo-break-glass records each such request as the audit annotation
// dbtopo-break-glass/who ("user: reason"), allowed or not.
// The controller's own checks come first in each expression: CEL's || is true as soon as one side
// is, so a surprising object can never turn into an error that blocks the controller.
import { instanceSetSchema } from '../../schemas/crds/instanceset.crd.js';
import type { KubeObject } from '../../schemas/types/index.js';
import {
  GUARD_ANNOTATIONS,
  GUARD_NAMESPACE_LABEL,
  GUARD_NAMESPACE_VALUE,
  GUARD_PARAMS_LABEL,
  KUBE_SYSTEM_EXEMPT,
} from '../../schemas/types/guard.js';
import { ANNOTATIONS, GROUP, LABELS, MANAGED_BY } from '../../schemas/types/labels.js';
import type { GuardIdentities } from '../resolve/guard.js';

const API = 'admissionregistration.k8s.io/v1';
const META_LABELS = { [LABELS.managedBy]: MANAGED_BY, [LABELS.partOf]: MANAGED_BY };
export const GUARD_PARAMS_VALUE = 'min-replicas';

/** A CEL string literal. */
const q = (s: string): string => JSON.stringify(s);
const list = (xs: readonly string[]): string => `[${xs.map(q).join(', ')}]`;

/** CEL: the value of annotation (or label) `key` of `obj`, "" when absent. */
const metaValue = (obj: string, field: 'annotations' | 'labels', key: string): string =>
  `(has(${obj}.metadata.${field}) && ${q(key)} in ${obj}.metadata.${field} ? ${obj}.metadata.${field}[${q(key)}] : "")`;

const v = (name: string, expression: string) => ({ name, expression });

/** Variables every policy uses: who asks, and whether it is break glass with a reason. */
function identityVariables(id: GuardIdentities) {
  return [
    v('user', 'request.userInfo.username'),
    // absent from the request when empty (the main resource), like namespace and name
    v('sub', 'has(request.subResource) ? request.subResource : ""'),
    v('gitops', `request.userInfo.username in ${list(id.gitopsUsers)}${id.gitopsGroups.length > 0 ? ` || request.userInfo.groups.exists(g, g in ${list(id.gitopsGroups)})` : ''}`),
    v('controller', `request.userInfo.username == ${q(id.controller)}`),
    // The object the request writes; for a deletion, the one it removes.
    v('subject', 'request.operation == "DELETE" ? oldObject : object'),
    v('reason', metaValue('variables.subject', 'annotations', GUARD_ANNOTATIONS.breakGlassReason)),
    v('breakGlass', `${q(id.breakGlassGroup)} in request.userInfo.groups && variables.reason != ""`),
  ];
}

const exemptKubeControllers = { name: 'not-kube-system-controllers', expression: `!(request.userInfo.username in ${list(KUBE_SYSTEM_EXEMPT)})` };
const target = 'request.resource.resource + " " + (has(request.namespace) ? request.namespace + "/" : "") + (has(request.name) ? request.name : "")';

function breakGlassHint(id: GuardIdentities): string {
  return `in an emergency, break glass: a member of group ${id.breakGlassGroup} with the annotation ${GUARD_ANNOTATIONS.breakGlassReason}=<why> on the object (docs/guard.md)`;
}

function policy(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: API, kind: 'ValidatingAdmissionPolicy', metadata: { name, labels: { ...META_LABELS } }, spec: { failurePolicy: 'Fail', ...spec } };
}

function binding(name: string, extra: Record<string, unknown> = {}, guardedNamespacesOnly = true): KubeObject {
  return {
    apiVersion: API,
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name, labels: { ...META_LABELS } },
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      ...(guardedNamespacesOnly ? { matchResources: { namespaceSelector: { matchLabels: { [GUARD_NAMESPACE_LABEL]: GUARD_NAMESPACE_VALUE } } } } : {}),
      ...extra,
    },
  };
}

const rule = (resources: string[], operations: string[], apiGroups = [GROUP]) => ({ apiGroups, apiVersions: ['*'], operations, resources, scope: 'Namespaced' });

/**
 * CEL: an InstanceSet status write that changes nothing but status.federation. The status fields
 * come from the CRD schema, so a field added there is covered here. A write to /status cannot
 * change spec or metadata (the API server keeps them, managedFields aside, before admission), so
 * the status is all there is to compare. `has` on each side: a set the controller has not
 * reported yet has no status, and the federation manager may still publish its decision on it.
 */
function onlyFederationStatus(): string {
  const fields = Object.keys(instanceSetSchema.properties.status.properties).filter((k) => k !== 'federation').sort();
  const present = (o: string, k: string) => `(has(${o}.status) && has(${o}.status.${k}))`;
  return fields.map((k) => `(${present('object', k)} ? ${present('oldObject', k)} && object.status.${k} == oldObject.status.${k} : !${present('oldObject', k)})`).join(' && ');
}

/**
 * Only GitOps (or break glass) writes Cluster and InstanceSet specs, /scale included; only the
 * controller writes status, but for status.federation of an InstanceSet, which the federation
 * manager writes (its decision of a spread shard's primary).
 */
function specWriters(id: GuardIdentities): KubeObject {
  const writers = [...id.gitopsUsers, ...id.gitopsGroups.map((g) => `group ${g}`)].join(', ');
  const verb = '(request.operation == "CREATE" ? "create" : request.operation == "DELETE" ? "delete" : variables.sub == "scale" ? "scale" : "change the spec of")';
  return policy('dbtopo-spec-writers', {
    matchConstraints: {
      resourceRules: [rule(['instancesets', 'clusters', 'instancesets/scale', 'instancesets/status', 'clusters/status'], ['CREATE', 'UPDATE', 'DELETE'])],
    },
    matchConditions: [exemptKubeControllers],
    variables: [
      ...identityVariables(id),
      v('federation', `request.userInfo.username == ${q(id.federation)} && variables.sub == "status" && request.resource.resource == "instancesets" && request.operation == "UPDATE" && ${onlyFederationStatus()}`),
    ],
    validations: [
      {
        expression: 'variables.sub == "status" || variables.gitops || variables.breakGlass || (request.operation == "UPDATE" && variables.sub == "" && object.spec == oldObject.spec)',
        messageExpression: `"dbtopo guard [spec-writers]: " + variables.user + " may not " + ${verb} + " " + ${target} + ": Cluster and InstanceSet specs come from Git, synced by ${writers}. Change the topology file and let the sync apply it; ${breakGlassHint(id)}."`,
        reason: 'Forbidden',
      },
      {
        expression: 'variables.sub != "status" || variables.controller || variables.breakGlass || variables.federation',
        messageExpression: `"dbtopo guard [status-writer]: only the dbtopo controller (${id.controller}) writes the status of " + ${target} + ", its report of what runs, and the federation manager (${id.federation}) only status.federation of an InstanceSet; " + variables.user + " may not write this. Change the topology in Git instead; ${breakGlassHint(id)}."`,
        reason: 'Forbidden',
      },
    ],
  });
}

/** CEL: maps `a` and `b` have the same keys and values, but key `except` is compared by `inner`. */
function sameMapExcept(a: string, b: string, k: string, except: string, inner: (x: string, y: string) => string): string {
  return `(${a}.all(${k}, ${k} in ${b}) && ${b}.all(${k}, ${k} in ${a} && (${k} == ${q(except)} ? ${inner(`${a}[${k}]`, `${b}[${k}]`)} : ${a}[${k}] == ${b}[${k}])))`;
}

/** The plan's forbidden class, refused for everyone: claim templates, engine, mode and shard count without acknowledgement. */
function forbiddenChanges(): KubeObject {
  const claims = (o: string) => `(has(${o}.spec.volumeClaimTemplates) ? ${o}.spec.volumeClaimTemplates : [])`;
  const storage = (c: string) => `(has(${c}.spec.resources) && has(${c}.spec.resources.requests) && has(${c}.spec.resources.requests.storage) ? string(${c}.spec.resources.requests.storage) : "0")`;
  // Equal but for the requested storage (which may grow: online volume expansion).
  const sameButStorage = sameMapExcept('t.spec', 'o.spec', 'k1', 'resources', (x, y) =>
    sameMapExcept(x, y, 'k2', 'requests', (x2, y2) => sameMapExcept(x2, y2, 'k3', 'storage', () => 'true')),
  );
  const ack = `${metaValue('object', 'annotations', ANNOTATIONS.allowMigration)} != "" && ${metaValue('object', 'annotations', ANNOTATIONS.allowMigration)} != "false"`;
  const isSet = 'request.kind.kind == "InstanceSet"';
  return policy('dbtopo-forbidden-changes', {
    matchConstraints: { resourceRules: [rule(['instancesets', 'clusters'], ['UPDATE'])] },
    variables: [
      v('user', 'request.userInfo.username'),
      v('newClaims', isSet + ` ? ${claims('object')} : []`),
      v('oldClaims', isSet + ` ? ${claims('oldObject')} : []`),
      v('acknowledged', ack),
    ],
    validations: [
      {
        expression: `variables.newClaims.size() == variables.oldClaims.size() && variables.newClaims.all(t, variables.oldClaims.exists(o, o.metadata == t.metadata && ${sameButStorage}))`,
        messageExpression: `"dbtopo guard [claim-templates]: the volume claim templates of " + ${target} + " may not change (only their storage may grow): existing claims would not follow. Migrate to a new topology instead."`,
        reason: 'Invalid',
      },
      {
        expression: `variables.newClaims.all(t, variables.oldClaims.all(o, o.metadata.name != t.metadata.name || quantity(${storage('t')}).compareTo(quantity(${storage('o')})) >= 0))`,
        messageExpression: `"dbtopo guard [storage-shrink]: the storage of " + ${target} + " may not shrink: volumes cannot shrink. Keep the size, or migrate to a new topology instead."`,
        reason: 'Invalid',
      },
      {
        expression: `!(${isSet}) || object.spec.engine.type == oldObject.spec.engine.type || variables.acknowledged`,
        messageExpression: `"dbtopo guard [engine-change]: changing the engine of " + ${target} + " from " + oldObject.spec.engine.type + " to " + object.spec.engine.type + " needs a data migration; acknowledge it with the annotation ${ANNOTATIONS.allowMigration}=true (dbtopo plan --allow-migration or acknowledgements.yaml)."`,
        reason: 'Invalid',
      },
      {
        expression: 'request.kind.kind != "Cluster" || (object.spec.engine == oldObject.spec.engine && object.spec.mode == oldObject.spec.mode && object.spec.shards == oldObject.spec.shards) || variables.acknowledged',
        messageExpression: `"dbtopo guard [engine-change]: changing the engine, mode or shard count of " + ${target} + " needs a data migration; acknowledge it with the annotation ${ANNOTATIONS.allowMigration}=true (dbtopo plan --allow-migration or acknowledgements.yaml)."`,
        reason: 'Invalid',
      },
    ],
  });
}

/** Replicas never below the environment's minimum, /scale (kubectl scale) included; the figures are params. */
function minReplicas(): KubeObject {
  const replicas = '(has(object.spec.replicas) ? object.spec.replicas : 0)';
  const name = 'object.metadata.name';
  return policy('dbtopo-min-replicas', {
    paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
    matchConstraints: { resourceRules: [rule(['instancesets', 'instancesets/scale'], ['CREATE', 'UPDATE'])] },
    validations: [
      {
        expression: `!has(params.data) || !(${name} in params.data) || ${replicas} >= int(params.data[${name}])`,
        messageExpression: `"dbtopo guard [min-replicas]: " + ${target} + " may not run " + string(${replicas}) + " replicas: the environment's policy asks for at least " + params.data[${name}] + ". Keep at least that many; to run fewer, lower the policy in the environment file instead."`,
        reason: 'Invalid',
      },
    ],
  });
}

/** Pods and claims of dbtopo: deleted only by the controller; the primary never by anyone else; role labels from the controller only. */
function podGuard(id: GuardIdentities): KubeObject {
  const dbtopoLabelled = (o: string) => `(${o} != null && has(${o}.metadata.labels) && ${o}.metadata.labels.exists(k, k.startsWith("dbtopo.dev/")))`;
  const role = LABELS.role;
  const marker = GUARD_ANNOTATIONS.preventDelete;
  const nullable = (o: string, e: string) => `(${o} == null ? "" : ${e})`;
  return policy('dbtopo-pods', {
    matchConstraints: { resourceRules: [rule(['pods', 'persistentvolumeclaims'], ['CREATE', 'UPDATE', 'DELETE'], [''])] },
    matchConditions: [
      { name: 'dbtopo-object', expression: `${dbtopoLabelled('object')} || ${dbtopoLabelled('oldObject')}` },
      exemptKubeControllers,
    ],
    variables: [
      ...identityVariables(id),
      v('marked', `request.operation != "CREATE" && ${metaValue('oldObject', 'annotations', marker)} == "true"`),
      // The kubelet's final delete of a pod that is already terminating (node-level deletion).
      v('kubelet', 'request.operation == "DELETE" && request.userInfo.username.startsWith("system:node:") && "system:nodes" in request.userInfo.groups && has(oldObject.metadata.deletionTimestamp)'),
      v('newRole', nullable('object', metaValue('object', 'labels', role))),
      v('oldRole', nullable('oldObject', metaValue('oldObject', 'labels', role))),
      v('newMarker', nullable('object', metaValue('object', 'annotations', marker))),
      v('oldMarker', nullable('oldObject', metaValue('oldObject', 'annotations', marker))),
    ],
    validations: [
      {
        expression: 'variables.controller || variables.kubelet || request.operation != "DELETE" || !variables.marked',
        messageExpression: `"dbtopo guard [primary-protected]: " + ${target} + " holds the primary (annotation ${marker}); only the dbtopo controller deletes it, once the primary has moved. Move it first: dbtopo switchover <instanceset> (annotation ${ANNOTATIONS.switchover}=any on the InstanceSet)."`,
        reason: 'Forbidden',
      },
      {
        expression: 'variables.controller || variables.kubelet || request.operation != "DELETE" || variables.marked || variables.breakGlass',
        messageExpression: `"dbtopo guard [controller-deletes]: only the dbtopo controller deletes the pods and claims of dbtopo; " + variables.user + " may not delete " + ${target} + ". Lower replicas or list the pod in offlineInstances in Git; ${breakGlassHint(id)}."`,
        reason: 'Forbidden',
      },
      {
        expression: 'variables.controller || request.operation == "DELETE" || variables.breakGlass || (variables.newRole == variables.oldRole && variables.newMarker == variables.oldMarker)',
        messageExpression: `"dbtopo guard [role-label]: only the dbtopo controller sets ${role} and ${marker} on " + ${target} + " (it writes what the engine reports); " + variables.user + " may not. To move the primary: dbtopo switchover <instanceset> [--to POD]."`,
        reason: 'Forbidden',
      },
    ],
  });
}

/** The namespace label that turns the guard on stays on, unless GitOps or break glass removes it. */
function namespaceLabel(id: GuardIdentities): KubeObject {
  const label = (o: string) => metaValue(o, 'labels', GUARD_NAMESPACE_LABEL);
  return policy('dbtopo-guarded-namespaces', {
    matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['namespaces'], scope: 'Cluster' }] },
    matchConditions: [{ name: 'guarded', expression: `${label('oldObject')} != ""` }],
    variables: identityVariables(id),
    validations: [
      {
        expression: `variables.gitops || variables.breakGlass || ${label('object')} == ${label('oldObject')}`,
        messageExpression: `"dbtopo guard [guarded-namespace]: " + variables.user + " may not change the label ${GUARD_NAMESPACE_LABEL} of namespace " + request.name + ": it turns the dbtopo guard on. Namespaces come from Git; ${breakGlassHint(id)}."`,
        reason: 'Forbidden',
      },
    ],
  });
}

/**
 * Records every break-glass request in the API server's audit log. An audit-only policy whose
 * match conditions are the break-glass test: an audit annotation must always be a string.
 */
function breakGlassTrail(id: GuardIdentities): KubeObject {
  const reason = metaValue('(request.operation == "DELETE" ? oldObject : object)', 'annotations', GUARD_ANNOTATIONS.breakGlassReason);
  return policy('dbtopo-break-glass', {
    matchConstraints: {
      resourceRules: [
        rule(['instancesets', 'clusters', 'instancesets/scale', 'instancesets/status', 'clusters/status'], ['CREATE', 'UPDATE', 'DELETE']),
        rule(['pods', 'persistentvolumeclaims'], ['CREATE', 'UPDATE', 'DELETE'], ['']),
        { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['namespaces'], scope: 'Cluster' },
      ],
    },
    matchConditions: [{ name: 'break-glass', expression: `${q(id.breakGlassGroup)} in request.userInfo.groups && ${reason} != ""` }],
    auditAnnotations: [{ key: 'who', valueExpression: `request.userInfo.username + ": " + ${reason}` }],
  });
}

/** The policies and bindings of one member cluster, in a stable order. */
export function guardObjects(id: GuardIdentities): KubeObject[] {
  const out: KubeObject[] = [];
  for (const p of [specWriters(id), forbiddenChanges(), minReplicas(), podGuard(id), namespaceLabel(id), breakGlassTrail(id)]) {
    out.push(p);
    const name = p.metadata.name;
    if (name === 'dbtopo-min-replicas') {
      out.push(binding(name, { paramRef: { selector: { matchLabels: { [GUARD_PARAMS_LABEL]: GUARD_PARAMS_VALUE } }, parameterNotFoundAction: 'Allow' } }));
    } else {
      out.push(binding(name, {}, name !== 'dbtopo-guarded-namespaces' && name !== 'dbtopo-break-glass'));
    }
  }
  return out;
}
