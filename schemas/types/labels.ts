// Label and annotation keys shared by the compiler (which writes selectors) and the
// controller (which writes pods). One place, so a selector can never drift from a pod.

export const GROUP = 'dbtopo.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;

export const LABELS = {
  name: 'app.kubernetes.io/name', // engine: redis | mysql
  instance: 'app.kubernetes.io/instance', // topology name
  component: 'app.kubernetes.io/component', // server | sentinel | proxy
  managedBy: 'app.kubernetes.io/managed-by', // always "dbtopo"
  partOf: 'app.kubernetes.io/part-of', // always "dbtopo"
  cluster: 'dbtopo.dev/cluster', // Cluster object name
  shard: 'dbtopo.dev/shard', // shard name ("0".."n-1"), absent for shardless components
  instanceSet: 'dbtopo.dev/instance-set', // owning InstanceSet name
  role: 'dbtopo.dev/role', // primary | secondary, written by the controller only
  template: 'dbtopo.dev/instance-template', // instance template name, absent for the default template
  revision: 'dbtopo.dev/revision', // hash of the pod's template, written by the controller
} as const;

export const ANNOTATIONS = {
  switchover: 'dbtopo.dev/switchover', // request a switchover to the named pod (or "any")
  allowDelete: 'dbtopo.dev/allow-delete', // topology removal acknowledged
  allowMigration: 'dbtopo.dev/allow-migration', // engine / shard count change acknowledged
  source: 'dbtopo.dev/source', // topology file the object was compiled from
  // On a Redis pod: the replica-priority a switchover set to 0 and must put back. Written before the
  // change, removed after the restore, so a controller that died in between finishes the job.
  restoreReplicaPriority: 'dbtopo.dev/restore-replica-priority',
} as const;

export const MANAGED_BY = 'dbtopo';
export const FIELD_MANAGER_CONTROLLER = 'dbtopo-controller';
/**
 * The federation manager's field manager (controller --mode federation): its run-time decisions
 * (status.federation of server InstanceSets, EndpointSlices of remote primaries, Federation
 * status), which Argo CD's diff ignores (compiler/argocd/objects.ts).
 */
export const FIELD_MANAGER_FEDERATION = 'dbtopo-federation';

export type Role = 'primary' | 'secondary';
export const ROLES: readonly Role[] = ['primary', 'secondary'];
