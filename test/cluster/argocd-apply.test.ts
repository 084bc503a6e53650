// The Argo CD objects dbtopo generates (rendered/<env>/_argocd/: AppProject, ApplicationSet) and
// the argocd-cm health snippet are accepted by a real API server with Argo CD's own CRDs
// installed (pinned Argo CD Go module via test/argocd/fetch-crds.sh): server-side apply,
// dryRun=All, strict field validation. member-a plays the Argo CD management cluster.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { compileRepo } from '../../compiler/compile.js';
import type { KubeObject } from '../../schemas/types/index.js';
import { eventually, getRaw, kubeConfigFor, rawRequest, ResourcePaths, serverSideApply } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIELD_MANAGER = 'dbtopo-argocd-apply-test';
const kc = () => kubeConfigFor('member-a');
let crds: KubeObject[] = [];

function argocdCrds(): KubeObject[] {
  const dir = execFileSync('bash', [path.join(ROOT, 'test/argocd/fetch-crds.sh')], { encoding: 'utf8', timeout: 300_000 }).trim().split('\n').pop() ?? '';
  const out: KubeObject[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, name), 'utf8'))) {
      const v = doc.toJS() as KubeObject | null;
      if (v?.kind === 'CustomResourceDefinition') out.push(v);
    }
  }
  return out;
}

beforeAll(async () => {
  crds = argocdCrds();
  const paths = new ResourcePaths(kc());
  for (const crd of crds) await serverSideApply(kc(), paths, crd, { fieldManager: FIELD_MANAGER });
  for (const crd of crds) {
    await eventually(`CRD ${crd.metadata.name} Established`, async () => {
      const live = (await getRaw(kc(), paths, crd)) as { status?: { conditions?: Array<{ type: string; status: string }> } } | undefined;
      return live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
    });
  }
  await serverSideApply(kc(), paths, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }, { fieldManager: FIELD_MANAGER });
}, 300_000);

afterAll(async () => {
  await rawRequest(kc(), 'DELETE', '/api/v1/namespaces/argocd').catch(() => undefined);
  for (const crd of crds) await rawRequest(kc(), 'DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`).catch(() => undefined);
});

describe('Argo CD objects on a real API server with Argo CD CRDs', () => {
  it('installs the three pinned Argo CD CRDs', () => {
    expect(crds.map((c) => c.metadata.name).sort()).toEqual(['applications.argoproj.io', 'applicationsets.argoproj.io', 'appprojects.argoproj.io']);
  });

  it('accepts every generated AppProject and ApplicationSet (server-side apply, dry run, strict)', async () => {
    const result = await compileRepo({ repo: path.join(ROOT, 'environments'), write: false });
    const argo = result.files.filter((f) => f.path.split('/')[1] === '_argocd');
    const envs = new Set(result.files.map((f) => f.path.split('/')[0]));
    expect(argo.map((f) => f.object.kind).sort()).toEqual([...envs].flatMap(() => ['AppProject', 'ApplicationSet']).sort());
    const paths = new ResourcePaths(kc());
    const failures: string[] = [];
    for (const f of argo) {
      try {
        // the emitted YAML bytes, as they land in rendered/
        const applied = (await serverSideApply(kc(), paths, parse(f.text) as KubeObject, { dryRun: true, fieldManager: FIELD_MANAGER })) as KubeObject;
        expect(applied.metadata.name).toBe(f.object.metadata.name);
      } catch (e) {
        failures.push(`${f.path}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('rejects a field Argo CD does not know, so the acceptance above is real validation', async () => {
    const result = await compileRepo({ repo: path.join(ROOT, 'environments'), write: false });
    const appSet = result.files.find((f) => f.object.kind === 'ApplicationSet')?.object as KubeObject & { spec: Record<string, unknown> };
    const broken = { ...appSet, spec: { ...appSet.spec, notAField: true } };
    await expect(serverSideApply(kc(), new ResourcePaths(kc()), broken, { dryRun: true, fieldManager: FIELD_MANAGER })).rejects.toThrow(/notAField/);
  });

  it('accepts the argocd-cm health-check snippet', async () => {
    const cm = parse(fs.readFileSync(path.join(ROOT, 'ci/argocd/argocd-cm-health.yaml'), 'utf8')) as KubeObject;
    await serverSideApply(kc(), new ResourcePaths(kc()), cm, { dryRun: true, fieldManager: FIELD_MANAGER });
  });
});
