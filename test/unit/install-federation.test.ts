// The federation manager's install manifests (controller/install/federation.ts): the committed
// files are what render.ts generates, they parse, and they name what the manager needs where it
// needs it — its Deployment and Federation RBAC on the federation API server, cluster Secrets and
// its Lease in its own namespace only, and in every member cluster the ServiceAccount the admission
// guard trusts with status.federation and the verbs the manager uses there.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { INSTALL_FILES } from '../../controller/install/render.js';
import { resolveGuard } from '../../compiler/resolve/guard.js';
import type { Environment } from '../../schemas/types/environment.js';

const ROOT = resolve(import.meta.dirname, '../..');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
  subjects?: Array<{ kind: string; name: string; namespace: string }>;
  roleRef?: { kind: string; name: string };
  spec?: { replicas?: number; names?: { kind: string }; template?: { spec: { serviceAccountName: string; containers: Array<{ image: string; command: string[]; args: string[] }> } } };
  type?: string;
}

const load = (file: string): Obj[] => {
  const docs = parseAllDocuments(readFileSync(join(ROOT, file), 'utf8'));
  for (const d of docs) expect(d.errors, file).toEqual([]);
  return docs.map((d) => d.toJS() as Obj);
};
const one = (objs: Obj[], kind: string, name?: string): Obj => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`), `one ${kind}${name ? ` ${name}` : ''}`).toHaveLength(1);
  return found[0]!;
};
/** "group/resource verb" for every rule, to compare as a set. */
const grants = (o: Obj): string[] => (o.rules ?? []).flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${g === '' ? 'core' : g}/${res} ${v}`)))).sort();

describe('controller/install: the committed files are what render.ts generates', () => {
  for (const [name, f] of Object.entries(INSTALL_FILES)) {
    it(`${f.path} (node dist/controller/install/render.js --file ${name})`, () => {
      expect(readFileSync(join(ROOT, f.path), 'utf8')).toBe(f.render());
    });
  }
});

describe('controller/install/federation.yaml (the federation API server)', () => {
  const objs = load(INSTALL_FILES.federation.path);
  const controller = one(load(INSTALL_FILES.install.path), 'Deployment');

  it('runs the controller image in federation mode, leader-elected, 2 replicas, as dbtopo-federation', () => {
    const d = one(objs, 'Deployment', 'dbtopo-federation');
    expect(d.metadata.namespace).toBe('dbtopo-system');
    expect(d.spec?.replicas).toBe(2);
    const c = d.spec!.template!.spec.containers[0]!;
    expect(c.image).toBe(controller.spec!.template!.spec.containers[0]!.image);
    expect([...c.command, ...c.args]).toEqual(['node', 'dist/controller/main.js', '--mode', 'federation', '--leader-elect']);
    expect(d.spec!.template!.spec.serviceAccountName).toBe('dbtopo-federation');
    expect(one(objs, 'ServiceAccount', 'dbtopo-federation').metadata.namespace).toBe('dbtopo-system');
    expect(one(objs, 'Namespace').metadata.name).toBe('dbtopo-system');
    expect(one(objs, 'CustomResourceDefinition').spec?.names?.kind).toBe('Federation');
  });

  it('lets it read Federations and write their status and Events cluster-wide; Secrets and its Lease only in its namespace', () => {
    expect(grants(one(objs, 'ClusterRole', 'dbtopo-federation'))).toEqual(
      ['dbtopo.dev/federations get', 'dbtopo.dev/federations list', 'dbtopo.dev/federations watch', 'dbtopo.dev/federations/status get', 'dbtopo.dev/federations/status patch', 'dbtopo.dev/federations/status update', 'events.k8s.io/events create'].sort(),
    );
    const role = one(objs, 'Role', 'dbtopo-federation');
    expect(role.metadata.namespace).toBe('dbtopo-system');
    expect(grants(role)).toEqual(['coordination.k8s.io/leases create', 'coordination.k8s.io/leases get', 'coordination.k8s.io/leases update', 'core/secrets get', 'core/secrets list', 'core/secrets watch']);
    for (const b of [one(objs, 'ClusterRoleBinding', 'dbtopo-federation'), one(objs, 'RoleBinding', 'dbtopo-federation')]) {
      expect(b.subjects).toEqual([{ kind: 'ServiceAccount', name: 'dbtopo-federation', namespace: 'dbtopo-system' }]);
      expect(b.roleRef?.name).toBe('dbtopo-federation');
    }
  });
});

describe('controller/install/federation-member.yaml (every member cluster)', () => {
  const objs = load(INSTALL_FILES['federation-member'].path);

  it('creates the identity the admission guard lets write status.federation, and a token for the cluster Secret', () => {
    const sa = one(objs, 'ServiceAccount', 'dbtopo-federation');
    const guard = resolveGuard({ name: 'x', memberClusters: [] } as unknown as Environment);
    expect(`system:serviceaccount:${sa.metadata.namespace}:${sa.metadata.name}`).toBe(guard.federation);
    const token = one(objs, 'Secret', 'dbtopo-federation-token');
    expect(token.type).toBe('kubernetes.io/service-account-token');
    expect(token.metadata.annotations?.['kubernetes.io/service-account.name']).toBe('dbtopo-federation');
    expect(objs.filter((o) => o.kind === 'Deployment')).toEqual([]);
  });

  it('grants the verbs the manager uses there, and no write of specs, pods or labels', () => {
    expect(grants(one(objs, 'ClusterRole', 'dbtopo-federation'))).toEqual(
      [
        'dbtopo.dev/instancesets get', 'dbtopo.dev/instancesets list', 'dbtopo.dev/instancesets/status patch',
        'core/pods get', 'core/pods list', 'core/services get', 'core/secrets get',
        'discovery.k8s.io/endpointslices get', 'discovery.k8s.io/endpointslices list', 'discovery.k8s.io/endpointslices create', 'discovery.k8s.io/endpointslices patch', 'discovery.k8s.io/endpointslices delete',
      ].sort(),
    );
    expect(one(objs, 'ClusterRoleBinding', 'dbtopo-federation').subjects).toEqual([{ kind: 'ServiceAccount', name: 'dbtopo-federation', namespace: 'dbtopo-system' }]);
  });
});
