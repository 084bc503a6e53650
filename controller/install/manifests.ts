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

/** The pieces every dbtopo install file shares, for the component (ServiceAccount) `name`. */
export function installParts(name: string, namespace: string) {
  const labels = { [LABELS.name]: name, [LABELS.managedBy]: MANAGED_BY, [LABELS.partOf]: MANAGED_BY };
  const meta = (n: string, namespaced = true): KubeObject['metadata'] => ({ name: n, ...(namespaced ? { namespace } : {}), labels });
  const rbac = 'rbac.authorization.k8s.io/v1';
  const subjects = [{ kind: 'ServiceAccount', name, namespace }];
  return {
    labels,
    meta,
    /**
     * The install namespace, Pod Security `restricted` enforced; `shared`: without the component's
     * name label, for a file applied into a namespace another install may have created.
     */
    namespace: (shared = false): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: namespace,
        labels: { ...(shared ? { [LABELS.managedBy]: MANAGED_BY, [LABELS.partOf]: MANAGED_BY } : labels), 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
      },
    }),
    serviceAccount: (): KubeObject => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name), automountServiceAccountToken: true }),
    /** A ClusterRole `roleName` with `rules` and its binding to the ServiceAccount. */
    clusterRole: (roleName: string, rules: unknown[]): KubeObject[] => [
      { apiVersion: rbac, kind: 'ClusterRole', metadata: meta(roleName, false), rules },
      { apiVersion: rbac, kind: 'ClusterRoleBinding', metadata: meta(roleName, false), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName }, subjects },
    ],
    /** A Role `roleName` in the install namespace with `rules` and its binding to the ServiceAccount. */
    role: (roleName: string, rules: unknown[]): KubeObject[] => [
      { apiVersion: rbac, kind: 'Role', metadata: meta(roleName), rules },
      { apiVersion: rbac, kind: 'RoleBinding', metadata: meta(roleName), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName }, subjects },
    ],
    /**
     * A Deployment of the controller binary as the ServiceAccount (non-root, read-only, no
     * capabilities), with `args`; `http`: the metrics and health ports, probed.
     */
    deployment: (replicas: number, c: { name: string; image: string; args: string[]; http?: { metrics: number; health: number } }): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name),
      spec: {
        replicas,
        selector: { matchLabels: { [LABELS.name]: name } },
        template: {
          metadata: { labels: { ...labels } },
          spec: {
            serviceAccountName: name,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: c.name,
                image: c.image,
                command: ['node', 'dist/controller/main.js'],
                args: c.args,
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                ],
                ...(c.http !== undefined ? {
                  ports: [
                    { name: 'metrics', containerPort: c.http.metrics },
                    { name: 'health', containerPort: c.http.health },
                  ],
                  livenessProbe: { httpGet: { path: '/healthz', port: 'health' }, periodSeconds: 10 },
                  readinessProbe: { httpGet: { path: '/readyz', port: 'health' }, periodSeconds: 5 },
                } : {}),
                resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } },
              },
            ],
          },
        },
      },
    }),
  };
}

export function installManifests(o: InstallOptions = DEFAULT_INSTALL): KubeObject[] {
  const p = installParts(NAME, o.namespace);
  const { meta } = p;
  const selector = { [LABELS.name]: NAME };
  return [
    instanceSetCrd as unknown as KubeObject,
    clusterCrd as unknown as KubeObject,
    p.namespace(),
    p.serviceAccount(),
    ...p.clusterRole(NAME, CLUSTER_RULES),
    ...p.role(`${NAME}-leader-election`, LEASE_RULES),
    p.deployment(o.replicas, { name: 'controller', image: o.image, args: ['--leader-elect', '--metrics-port=8080', '--health-port=8081'], http: { metrics: 8080, health: 8081 } }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(`${NAME}-metrics`),
      spec: { selector, ports: [{ name: 'metrics', port: 8080, targetPort: 'metrics' }] },
    },
  ];
}
