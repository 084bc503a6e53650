// The admission guard's vocabulary, shared by the compiler (which renders the
// ValidatingAdmissionPolicies, compiler/emit/guards.ts), the controller (which sets the primary's
// prevent-delete marker) and the install manifests (whose ServiceAccount the guard trusts).
// docs/guard.md explains the rules.

/** The dbtopo controller's ServiceAccount name (controller/install/install.yaml; its namespace is the install's). */
export const CONTROLLER_SERVICE_ACCOUNT = 'dbtopo-controller';
export const DEFAULT_CONTROLLER_NAMESPACE = 'dbtopo-system';
/**
 * The federation manager's ServiceAccount in each member cluster (controller/install/federation.yaml):
 * the identity its cluster Secret's token carries there, the only one besides the controller that
 * writes InstanceSet status, and only status.federation.
 */
export const FEDERATION_SERVICE_ACCOUNT = 'dbtopo-federation';

/** Argo CD's application controller: the identity that syncs when no sync impersonation is set up. */
export const ARGOCD_APPLICATION_CONTROLLER = 'argocd-application-controller';
/** The ServiceAccount `argocd cluster add` creates in a member cluster: Argo CD syncs a remote cluster as it. */
export const ARGOCD_MANAGER = 'kube-system/argocd-manager';
/** Argo CD components that never write to a member cluster: naming one as the GitOps identity is a mistake. */
export const ARGOCD_NON_SYNCING = ['argocd-server', 'argocd-repo-server', 'argocd-applicationset-controller', 'argocd-dex-server', 'argocd-redis', 'argocd-notifications-controller'] as const;

export const DEFAULT_BREAK_GLASS_GROUP = 'dbtopo:break-glass';

export const GUARD_ANNOTATIONS = {
  /** On the pod the engine reports as primary; set and removed by the controller only (moco's prevent-delete). */
  preventDelete: 'dbtopo.dev/prevent-delete',
  /** Why a break-glass change was made; required on the object a break-glass identity writes (or deletes). */
  breakGlassReason: 'dbtopo.dev/break-glass-reason',
} as const;

/** Namespaces carrying this label (value `enforce`) are guarded; the compiler puts it on every namespace it renders. */
export const GUARD_NAMESPACE_LABEL = 'dbtopo.dev/guard';
export const GUARD_NAMESPACE_VALUE = 'enforce';
/** Label of the per-topology ConfigMap holding the guard's figures (InstanceSet name → minimum replicas). */
export const GUARD_PARAMS_LABEL = 'dbtopo.dev/guard-params';

/**
 * Kubernetes' own controllers that must keep working on guarded objects: the garbage collector
 * (pods of a deleted InstanceSet), the namespace controller (deleting a namespace), pod GC (pods of
 * a deleted node) and taint eviction (NoExecute). Their identities when kube-controller-manager runs
 * with --use-service-account-credentials, as every conformant cluster does.
 */
export const KUBE_SYSTEM_EXEMPT = [
  'system:serviceaccount:kube-system:generic-garbage-collector',
  'system:serviceaccount:kube-system:namespace-controller',
  'system:serviceaccount:kube-system:pod-garbage-collector',
  'system:serviceaccount:kube-system:taint-eviction-controller',
] as const;

/** Groups every caller (or every ServiceAccount) has: as a guard identity they would let anyone through. */
export const UNIVERSAL_GROUPS = ['system:authenticated', 'system:unauthenticated', 'system:serviceaccounts'] as const;

export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}
