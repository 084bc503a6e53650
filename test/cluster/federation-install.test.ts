// controller/install/federation-member.yaml on a real API server, with the rendered admission guard
// in force: the federation manager, authenticating as its cluster Secret makes it (the token of the
// ServiceAccount, from the Secret the file creates), may do in a member cluster what it does there
// (controller/federation/gather.ts, publish.ts) — read the server InstanceSet, its pods, the
// -primary Service and the engine credentials, server-side apply status.federation, write the
// <shard>-primary-federation EndpointSlice — and nothing more: RBAC refuses specs, pods and listing
// Secrets, the guard refuses any other status field.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { federationMemberManifests } from '../../controller/install/federation.js';
import type { KubeObject } from '../../schemas/types/index.js';
import { createTestNamespace, deleteTestNamespace, eventually, installGuard, kubeConfigFor, rawRequest, restrictedPod, statusMessage, type RawResponse } from './helpers.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const rendered = path.join(root, 'environments', 'rendered', 'dev', 'dev-main');
const kc = kubeConfigFor('member-a');
const ns = `fed-rbac-${Date.now().toString(36)}`;
const SET = 'orders-db-server';
const PLURALS: Record<string, string> = { Namespace: 'namespaces', ServiceAccount: 'serviceaccounts', ClusterRole: 'clusterroles', ClusterRoleBinding: 'clusterrolebindings', Secret: 'secrets' };
const manifests = federationMemberManifests();

const objectPath = (o: KubeObject): string => {
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  return `${group === '' ? `/api/${version}` : `/apis/${group}/${version}`}${o.metadata.namespace !== undefined ? `/namespaces/${o.metadata.namespace}` : ''}/${PLURALS[o.kind] ?? ''}/${o.metadata.name}`;
};
async function admin(method: string, urlPath: string, body?: unknown, contentType = 'application/json'): Promise<RawResponse> {
  const r = await rawRequest(kc, method, urlPath, body === undefined ? undefined : JSON.stringify(body), contentType);
  if (r.status >= 300) throw new Error(`admin ${method} ${urlPath}: ${r.status} ${statusMessage(r.body)}`);
  return r;
}
const apply = (urlPath: string, o: unknown): Promise<RawResponse> => admin('PATCH', `${urlPath}?fieldManager=fed-install-test&force=true`, o, 'application/apply-patch+yaml');

let manager: k8s.KubeConfig;
let removeGuard: (() => Promise<void>) | undefined;
let createdInstallNs = false;
const as = (method: string, urlPath: string, body?: unknown, contentType = 'application/merge-patch+json'): Promise<RawResponse> =>
  rawRequest(manager, method, urlPath, body === undefined ? undefined : JSON.stringify(body), method === 'POST' ? 'application/json' : contentType);

const isPath = `/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets/${SET}`;
const slices = `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;

describe('the federation manager in a member cluster (federation-member.yaml + the guard)', () => {
  beforeAll(async () => {
    const crd = parse(fs.readFileSync(path.join(rendered, '_cluster', 'customresourcedefinition-instancesets.dbtopo.dev.yaml'), 'utf8')) as KubeObject;
    await apply(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, crd);
    createdInstallNs = (await rawRequest(kc, 'GET', '/api/v1/namespaces/dbtopo-system')).status === 404;
    for (const o of manifests) await apply(objectPath(o), o);
    // the token controller fills the Secret: what the manager's cluster Secret carries as bearerToken
    const token = await eventually('the dbtopo-federation token', async () => {
      const r = await rawRequest(kc, 'GET', '/api/v1/namespaces/dbtopo-system/secrets/dbtopo-federation-token');
      const t = (JSON.parse(r.body) as { data?: { token?: string } }).data?.token;
      return t !== undefined ? Buffer.from(t, 'base64').toString('utf8') : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const cluster = kc.getCurrentCluster()!;
    const caData = cluster.caData ?? (cluster.caFile !== undefined ? fs.readFileSync(cluster.caFile).toString('base64') : undefined);
    manager = new k8s.KubeConfig();
    manager.loadFromOptions({
      clusters: [{ name: 'm', server: cluster.server, ...(caData !== undefined ? { caData } : {}), skipTLSVerify: false }],
      users: [{ name: 'dbtopo-federation', token }],
      contexts: [{ name: 'm', cluster: 'm', user: 'dbtopo-federation' }],
      currentContext: 'm',
    });

    await createTestNamespace(kc, ns);
    const set = parseAllDocuments(fs.readFileSync(path.join(rendered, 'db-commerce-dev', 'orders-db.yaml'), 'utf8'))
      .map((d) => d.toJS() as KubeObject)
      .find((o) => o.kind === 'InstanceSet' && o.metadata.name === SET)!;
    await admin('POST', `/apis/dbtopo.dev/v1alpha1/namespaces/${ns}/instancesets`, { ...set, metadata: { name: SET, labels: set.metadata.labels } });
    await admin('PATCH', `${isPath}/status`, { status: { replicas: 1, primary: `${SET}-0` } }, 'application/merge-patch+json');
    const pod = restrictedPod(`${SET}-0`);
    pod.metadata = { name: `${SET}-0`, labels: { 'dbtopo.dev/instance-set': SET } };
    await admin('POST', `/api/v1/namespaces/${ns}/pods`, pod);
    await admin('POST', `/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: `${SET}-primary` }, spec: { ports: [{ name: 'mysql', port: 3306 }] } });
    await admin('POST', `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'orders-db-credentials' }, stringData: { password: 'x' } });
    removeGuard = await installGuard(kc, ns);
  }, 120_000);

  afterAll(async () => {
    await removeGuard?.();
    await deleteTestNamespace(kc, ns).catch(() => undefined);
    for (const o of manifests) {
      if (o.kind === 'Namespace' && !createdInstallNs) continue;
      await rawRequest(kc, 'DELETE', objectPath(o)).catch(() => undefined);
    }
  });

  it('reads the server InstanceSet, its pods, the -primary Service and the engine credentials', async () => {
    expect((await as('GET', isPath)).status).toBe(200);
    expect((await as('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=dbtopo.dev%2Finstance-set%3D${SET}`)).status).toBe(200);
    expect((await as('GET', `/api/v1/namespaces/${ns}/services/${SET}-primary`)).status).toBe(200);
    expect((await as('GET', `/api/v1/namespaces/${ns}/secrets/orders-db-credentials`)).status).toBe(200);
  });

  it('server-side applies status.federation, and the controller\'s status stays', async () => {
    const r = await as('PATCH', `${isPath}/status?fieldManager=dbtopo-federation&force=true`, {
      apiVersion: 'dbtopo.dev/v1alpha1',
      kind: 'InstanceSet',
      metadata: { name: SET },
      status: { federation: { primary: { memberCluster: 'member-b', pod: `${SET}-2` }, state: 'Healthy', decidedAt: '2026-01-01T00:00:00Z' } },
    }, 'application/apply-patch+yaml');
    expect(r.status, statusMessage(r.body)).toBe(200);
    const status = (JSON.parse(r.body) as { status: Record<string, unknown> }).status;
    expect(status).toMatchObject({ replicas: 1, primary: `${SET}-0`, federation: { primary: { memberCluster: 'member-b', pod: `${SET}-2` } } });
  });

  it('may not write another status field (the guard), a spec, pods or role labels (RBAC)', async () => {
    const other = await as('PATCH', `${isPath}/status`, { status: { primary: `${SET}-2` } });
    expect(other.status).toBe(403);
    expect(statusMessage(other.body)).toMatch(/dbtopo guard \[status-writer\]/);
    const spec = await as('PATCH', isPath, { spec: { replicas: 5 } });
    expect(spec.status).toBe(403);
    expect(statusMessage(spec.body)).toMatch(/cannot patch resource "instancesets"/);
    const label = await as('PATCH', `/api/v1/namespaces/${ns}/pods/${SET}-0`, { metadata: { labels: { 'dbtopo.dev/role': 'primary' } } });
    expect(label.status).toBe(403);
    expect((await as('DELETE', `/api/v1/namespaces/${ns}/pods/${SET}-0`)).status).toBe(403);
    expect((await as('GET', `/api/v1/namespaces/${ns}/secrets`)).status).toBe(403);
  });

  it('creates, updates and deletes the <shard>-primary-federation EndpointSlice', async () => {
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${SET}-primary-federation`, labels: { 'kubernetes.io/service-name': `${SET}-primary`, 'endpointslice.kubernetes.io/managed-by': 'dbtopo-federation' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.1.2.3'] }],
      ports: [{ name: 'mysql', port: 3306, protocol: 'TCP' }],
    };
    const created = await as('PATCH', `${slices}/${SET}-primary-federation?fieldManager=dbtopo-federation&force=true`, slice, 'application/apply-patch+yaml');
    expect(created.status, statusMessage(created.body)).toBe(201);
    const moved = await as('PATCH', `${slices}/${SET}-primary-federation?fieldManager=dbtopo-federation&force=true`, { ...slice, endpoints: [{ addresses: ['10.1.2.4'] }] }, 'application/apply-patch+yaml');
    expect(moved.status, statusMessage(moved.body)).toBe(200);
    expect((await as('GET', `${slices}?labelSelector=kubernetes.io%2Fservice-name%3D${SET}-primary`)).status).toBe(200);
    expect((await as('DELETE', `${slices}/${SET}-primary-federation`)).status).toBe(200);
  });
});
