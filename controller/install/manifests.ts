// The install manifests of the controller: the CRDs (from schemas/crds), a ServiceAccount, a
// least-privilege ClusterRole (exactly the verbs the controller uses, see docs/controller.md), a
// namespaced Role for its leader Lease, the Deployment (2 replicas, leader election, Pod Security
// `restricted`) and the metrics Service. Pure: render.ts writes them as install.yaml.
import { clusterCrd } from '../../schemas/crds/cluster.crd.js';
import { instanceSetCrd } from '../../schemas/crds/instanceset.crd.js';
import { CONTROLLER_SERVICE_ACCOUNT, GROUP, LABELS, MANAGED_BY, type KubeObject } from '../../schemas/types/index.js';

export interface InstallOptions {
  namespace: string;
  image: string;
  replicas: number;
}

export const DEFAULT_INSTALL: InstallOptions = { namespace: 'dbtopo-system', image: 'ghcr.io/dbtopo/controller:0.1.0', replicas: 2 };

const NAME = CONTROLLER_SERVICE_ACCOUNT;

/** Every rule the controller needs, and nothing else. */
export const CLUSTER_RULES = [
  { apiGroups: [GROUP], resources: ['instancesets', 'clusters'], verbs: ['list', 'watch'] },
  // the switchover annotation is consumed (removed) once handled (controller/reconcile/instanceset/update.ts)
  { apiGroups: [GROUP], resources: ['instancesets'], verbs: ['patch'] },
  { apiGroups: [GROUP], resources: ['instancesets/status', 'clusters/status'], verbs: ['patch'] },
  // create from the plan, delete on scale-in, patch for role labels (server-side apply).
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch', 'create', 'delete', 'patch'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list', 'watch', 'create', 'delete'] },
  // engine credentials named in spec.engine.credentials
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create'] },
];

export const LEASE_RULES = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];

export function installManifests(o: InstallOptions = DEFAULT_INSTALL): KubeObject[] {
  const labels = { [LABELS.name]: NAME, [LABELS.managedBy]: MANAGED_BY, [LABELS.partOf]: MANAGED_BY };
  const selector = { [LABELS.name]: NAME };
  const meta = (name: string, namespaced = true): KubeObject['metadata'] => ({ name, ...(namespaced ? { namespace: o.namespace } : {}), labels });
  const containerSecurity = { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } };
  return [
    instanceSetCrd as unknown as KubeObject,
    clusterCrd as unknown as KubeObject,
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: o.namespace, labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(NAME), automountServiceAccountToken: true },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: meta(NAME, false), rules: CLUSTER_RULES },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: meta(NAME, false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: o.namespace }],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(`${NAME}-leader-election`), rules: LEASE_RULES },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(`${NAME}-leader-election`),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NAME}-leader-election` },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: o.namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(NAME),
      spec: {
        replicas: o.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: { ...labels } },
          spec: {
            serviceAccountName: NAME,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'controller',
                image: o.image,
                command: ['node', 'dist/controller/main.js'],
                args: ['--leader-elect', '--metrics-port=8080', '--health-port=8081'],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                ports: [
                  { name: 'metrics', containerPort: 8080 },
                  { name: 'health', containerPort: 8081 },
                ],
                livenessProbe: { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 10 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'health' }, periodSeconds: 5 },
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
                securityContext: containerSecurity,
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(`${NAME}-metrics`),
      spec: { selector, ports: [{ name: 'metrics', port: 8080, targetPort: 'metrics' }] },
    },
  ];
}
