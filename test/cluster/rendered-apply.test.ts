// Every rendered manifest of the example GitOps repo is accepted by a real API server:
// for each environment, one fresh control plane per member cluster; the dbtopo CRDs first, then
// Namespaces, then everything else, each phase with server-side apply as a dry run and then for
// real — zero rejections. Then every pod (and claim) the controller would create for each
// InstanceSet is created with dryRun=All in its namespace, which enforces Pod Security
// `restricted`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { KubeRequestError, ResourcePaths, asGitops, createRaw, eventually, getRaw, serverSideApply } from './helpers.js';
import { startControlPlane, type ControlPlane } from './launcher.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const exampleRepo = path.join(root, 'environments');
const FIELD_MANAGER = 'dbtopo-rendered-apply-test';
/** rendered/<env>/_argocd/ holds the Argo CD objects (AppProject, ApplicationSet) of the env. */
const ARGOCD_MEMBER = '_argocd';

interface Manifest {
  /** Relative to rendered/: <env>/<member-cluster>/... */
  path: string;
  object: k8s.KubernetesObject;
}

interface RenderedSet {
  origin: string;
  manifests: Manifest[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function asKubeObject(v: unknown, where: string): k8s.KubernetesObject {
  if (!isObject(v) || typeof v['apiVersion'] !== 'string' || typeof v['kind'] !== 'string' || !isObject(v['metadata'])) {
    throw new Error(`${where}: not a Kubernetes object`);
  }
  return v as k8s.KubernetesObject;
}

/** Compile the example repo in memory (the compiler's own API), else read rendered/ from disk. */
async function loadRendered(): Promise<RenderedSet | string> {
  const reasons: string[] = [];
  try {
    const { compileRepo } = await import('../../compiler/compile.js');
    const result = await compileRepo({ repo: exampleRepo, write: false });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      reasons.push(
        `compileRepo(${exampleRepo}) reported ${errors.length} error(s), first: ` +
          errors.slice(0, 3).map((d) => `${d.file}:${d.line}:${d.col} ${d.code} ${d.message}`).join('; '),
      );
    } else if (result.files.length === 0) {
      reasons.push(`compileRepo(${exampleRepo}) rendered no files`);
    } else {
      // parse the emitted YAML text, i.e. exactly the bytes that land in rendered/
      return {
        origin: `compileRepo(${path.relative(root, exampleRepo)}) in memory`,
        manifests: result.files.map((f) => ({ path: f.path, object: asKubeObject(parse(f.text), f.path) })),
      };
    }
  } catch (err) {
    reasons.push(`compiler not usable: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const dir of [path.join(exampleRepo, 'rendered'), path.join(root, 'rendered')]) {
    if (!fs.existsSync(dir)) {
      reasons.push(`${path.relative(root, dir)}/ does not exist`);
      continue;
    }
    const manifests: Manifest[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.ya?ml$/.test(e.name)) {
          for (const doc of parseAllDocuments(fs.readFileSync(p, 'utf8'))) {
            const v: unknown = doc.toJS();
            if (v !== null && v !== undefined) manifests.push({ path: path.relative(dir, p), object: asKubeObject(v, p) });
          }
        }
      }
    };
    walk(dir);
    if (manifests.length > 0) return { origin: `${path.relative(root, dir)}/ on disk`, manifests };
    reasons.push(`${path.relative(root, dir)}/ holds no manifests`);
  }
  return reasons.join('; ');
}

/** dbtopo CRDs from schemas/crds/ (used when the rendered output does not carry them). */
function schemaCrds(): Manifest[] {
  const dir = path.join(root, 'schemas', 'crds');
  if (!fs.existsSync(dir)) return [];
  const out: Manifest[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, name), 'utf8'))) {
      const v: unknown = doc.toJS();
      if (isObject(v) && v['kind'] === 'CustomResourceDefinition') {
        out.push({ path: `schemas/crds/${name}`, object: asKubeObject(v, name) });
      }
    }
  }
  return out;
}

/**
 * Argo CD's CRDs (Application, ApplicationSet, AppProject) for the `_argocd` pseudo member
 * cluster, via the lead's test/argocd/fetch-crds.sh (pinned Argo CD Go module, cached).
 */
function argocdCrds(): Manifest[] {
  return fetchedCrds(path.join(root, 'test', 'argocd', 'fetch-crds.sh'), 'argocd-crds');
}

/**
 * The MCS API's ServiceExport CRD, for member clusters holding part of a spread shard (an MCS
 * implementation installs it there: docs/federation.md), via test/cluster/fetch-mcs-crds.sh.
 */
function mcsCrds(): Manifest[] {
  return fetchedCrds(path.join(root, 'test', 'cluster', 'fetch-mcs-crds.sh'), 'mcs-crds');
}

/** The CRDs in the directory a fetch script prints (it copies them from a pinned Go module). */
function fetchedCrds(script: string, label: string): Manifest[] {
  const dir = execFileSync('bash', [script], { encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .pop();
  if (dir === undefined || dir === '' || !fs.existsSync(dir)) throw new Error(`${script} printed no directory`);
  const out: Manifest[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, name), 'utf8'))) {
      const v: unknown = doc.toJS();
      if (isObject(v) && v['kind'] === 'CustomResourceDefinition') out.push({ path: `${label}/${name}`, object: asKubeObject(v, name) });
    }
  }
  return out;
}

function errorText(err: unknown): string {
  if (err instanceof KubeRequestError) return err.message;
  if (err instanceof k8s.ApiException) {
    const body: unknown = err.body;
    let status: unknown = body;
    if (typeof body === 'string') {
      try {
        status = JSON.parse(body);
      } catch {
        status = body;
      }
    }
    const message = isObject(status) && typeof status['message'] === 'string' ? status['message'] : String(body);
    return `HTTP ${err.code}: ${message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

const describeKey = (o: k8s.KubernetesObject): string =>
  `${o.kind ?? '?'} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? '?'}`;

const CONCURRENCY = 6;

/** Runs fn over items with at most `limit` in flight. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function applyAll(
  kc: k8s.KubeConfig,
  manifests: readonly Manifest[],
  dryRun: boolean,
  failures: string[],
): Promise<void> {
  const paths = new ResourcePaths(kc); // fresh discovery (after CRDs are in)
  await forEachLimit(manifests, CONCURRENCY, async (m) => {
    try {
      await serverSideApply(kc, paths, m.object, { dryRun, fieldManager: FIELD_MANAGER });
    } catch (err) {
      failures.push(`${dryRun ? '[dry run] ' : ''}${m.path} (${describeKey(m.object)}): ${errorText(err)}`);
    }
  });
}

async function waitEstablished(kc: k8s.KubeConfig, crds: readonly Manifest[], failures: string[]): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const crd of crds) {
    const name = crd.object.metadata?.name ?? '';
    try {
      await eventually(`CRD ${name} to be Established`, async () => {
        const live = await api.readCustomResourceDefinition({ name });
        return live.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ? true : undefined;
      });
    } catch (err) {
      failures.push(`${crd.path}: ${errorText(err)}`);
    }
  }
}

interface DesiredPodLike {
  name: string;
  pod: unknown;
  pvcs: unknown[];
}

/** The controller's own desiredPods() if it exists, else one pod straight from spec.template. */
async function podsFor(instanceSet: k8s.KubernetesObject): Promise<DesiredPodLike[]> {
  try {
    const mod: unknown = await import('../../controller/reconcile/instanceset/desired.js');
    if (isObject(mod) && typeof mod['desiredPods'] === 'function') {
      const desiredPods = mod['desiredPods'] as (is: unknown) => DesiredPodLike[];
      return desiredPods(instanceSet);
    }
  } catch {
    // fall through
  }
  const spec = isObject(instanceSet) && isObject(instanceSet['spec']) ? instanceSet['spec'] : {};
  const template = isObject(spec['template']) ? spec['template'] : {};
  const meta = isObject(template['metadata']) ? template['metadata'] : {};
  const name = `${instanceSet.metadata?.name ?? 'pod'}-0`;
  return [{ name, pod: { apiVersion: 'v1', kind: 'Pod', metadata: { ...meta, name }, spec: template['spec'] }, pvcs: [] }];
}

async function dryRunPods(kc: k8s.KubeConfig, manifests: readonly Manifest[], failures: string[]): Promise<number> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const paths = new ResourcePaths(kc);
  let count = 0;
  const instanceSets = manifests.filter((x) => x.object.kind === 'InstanceSet');
  for (const namespace of [...new Set(instanceSets.map((m) => m.object.metadata?.namespace ?? 'default'))].sort()) {
    const ns = await core.readNamespace({ name: namespace });
    if (ns.metadata?.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') {
      failures.push(`namespace ${namespace} does not enforce Pod Security restricted`);
    }
    // the ServiceAccount admission plugin needs the namespace's default ServiceAccount
    await eventually(`serviceaccount ${namespace}/default`, async () => {
      await core.readNamespacedServiceAccount({ namespace, name: 'default' });
      return true;
    });
  }
  await forEachLimit(instanceSets, CONCURRENCY, async (m) => {
    const namespace = m.object.metadata?.namespace ?? 'default';
    let live: k8s.KubernetesObject | undefined;
    try {
      live = (await getRaw(kc, paths, m.object)) as k8s.KubernetesObject | undefined;
      if (live === undefined) failures.push(`${m.path}: the applied InstanceSet does not exist`);
    } catch (err) {
      failures.push(`${m.path}: cannot read the applied InstanceSet: ${errorText(err)}`);
    }
    // without a live object, still check its pods, with a stand-in uid for the owner reference
    live ??= { ...m.object, metadata: { ...m.object.metadata, uid: '00000000-0000-4000-8000-000000000000' } };
    let desired: DesiredPodLike[];
    try {
      desired = await podsFor(live);
    } catch (err) {
      failures.push(`${m.path}: desiredPods failed: ${errorText(err)}`);
      return;
    }
    for (const d of desired) {
      count++;
      for (const obj of [d.pod, ...d.pvcs]) {
        const o = obj as k8s.KubernetesObject;
        try {
          await createRaw(kc, paths, { ...o, metadata: { ...o.metadata, namespace } }, { dryRun: true, fieldManager: FIELD_MANAGER });
        } catch (err) {
          failures.push(`[dry run create] ${m.path} → ${describeKey(o)}: ${errorText(err)}`);
        }
      }
    }
  });
  return count;
}

const rendered = await loadRendered();
const skipReason = typeof rendered === 'string' ? rendered : undefined;
if (skipReason !== undefined) {
  console.warn(`[rendered-apply] SKIPPED: rendered/ cannot be produced: ${skipReason}`);
}
const manifests = typeof rendered === 'string' ? [] : rendered.manifests;
const envs = [...new Set(manifests.map((m) => m.path.split('/')[0] ?? ''))].sort();

describe.skipIf(skipReason !== undefined)('rendered manifests on real API servers', () => {
  it('renders something for every environment', () => {
    if (typeof rendered !== 'string') console.log(`[rendered-apply] ${manifests.length} manifests from ${rendered.origin}`);
    expect(envs.length).toBeGreaterThan(0);
  });

  it.each(envs)(
    'environment %s: server-side apply (dry run, then real) with zero rejections; InstanceSet pods pass admission',
    async (env) => {
      const ofEnv = manifests.filter((m) => m.path.startsWith(`${env}/`));
      const members = [...new Set(ofEnv.map((m) => m.path.split('/')[1] ?? ''))].sort();
      const extraCrds = schemaCrds();
      // Spread shards render ServiceExports: their member clusters run an MCS implementation.
      const mcs = ofEnv.some((m) => m.object.kind === 'ServiceExport') ? mcsCrds() : [];
      const t0 = performance.now();
      const timings: string[] = [];
      const mark = (what: string): void => {
        timings.push(`${what} ${((performance.now() - t0) / 1000).toFixed(1)}s`);
      };
      let argocd: Manifest[] | Error = [];
      if (members.includes(ARGOCD_MEMBER)) {
        try {
          argocd = argocdCrds(); // synchronous (execFileSync): before the parallel part
        } catch (err) {
          argocd = new Error(errorText(err));
        }
      }
      const started = await Promise.allSettled(members.map((name) => startControlPlane({ name })));
      mark('started');
      const planes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failures: string[] = [];
      let applied = 0;
      let pods = 0;
      try {
        for (const r of started) if (r.status === 'rejected') throw r.reason;
        // member clusters have their own API servers: work on them in parallel
        await Promise.all(
          members.map(async (member, i) => {
              const cp = planes[i] as ControlPlane;
              const admin = new k8s.KubeConfig();
              admin.loadFromFile(cp.kubeconfigPath);
              // as Argo CD syncs: the rendered admission guard refuses Cluster and InstanceSet specs from anyone else
              const kc = await asGitops(admin);
              const mine = ofEnv.filter((m) => m.path.split('/')[1] === member);
              const renderedCrds = mine.filter((m) => m.object.kind === 'CustomResourceDefinition');
              const crdNames = new Set(renderedCrds.map((m) => m.object.metadata?.name));
              const crds = [
                ...renderedCrds,
                ...(member === ARGOCD_MEMBER ? [] : extraCrds.filter((m) => !crdNames.has(m.object.metadata?.name))),
                ...(mine.some((m) => m.object.kind === 'ServiceExport') ? mcs : []),
              ];
              const namespaces = mine.filter((m) => m.object.kind === 'Namespace');
              if (member === ARGOCD_MEMBER) {
                // Argo CD's own objects: its CRDs and its namespace come with the Argo CD installation
                if (argocd instanceof Error) failures.push(`${env}/${member}: cannot get Argo CD's CRDs: ${argocd.message}`);
                else {
                  // not ours to check: installed for real right away (no dry run; they are large)
                  await applyAll(kc, argocd, false, failures);
                  await waitEstablished(kc, argocd, failures);
                  mark(`${member}:argocd-crds`);
                }
                const wanted = new Set(mine.map((m) => m.object.metadata?.namespace).filter((n): n is string => n !== undefined));
                for (const ns of [...wanted].sort()) {
                  namespaces.push({ path: `(argocd installation)/namespace-${ns}`, object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
                }
              }
              const rest = mine.filter((m) => m.object.kind !== 'CustomResourceDefinition' && m.object.kind !== 'Namespace');
              const usesDbtopoKinds = rest.some((m) => (m.object.apiVersion ?? '').startsWith('dbtopo.dev/'));
              if (usesDbtopoKinds && !crds.some((m) => String((m.object as { spec?: { group?: string } }).spec?.group) === 'dbtopo.dev')) {
                failures.push(`${env}/${member}: no CustomResourceDefinition for dbtopo.dev in the rendered output nor in schemas/crds/`);
              }
              for (const phase of [crds, namespaces, rest]) {
                if (phase.length === 0) continue;
                await applyAll(kc, phase, true, failures);
                await applyAll(kc, phase, false, failures);
                applied += phase.length;
                mark(`${member}:${phase === crds ? 'crds' : phase === namespaces ? 'namespaces' : 'objects'}`);
                if (phase === crds) {
                  const failedPaths = new Set(failures.map((f) => f.replace(/^\[dry run\] /, '').split(' ')[0]));
                  await waitEstablished(kc, crds.filter((m) => !failedPaths.has(m.path)), failures);
                }
              }
              mark(`${member}:established`);
              const podCount = await dryRunPods(kc, mine, failures);
              pods += podCount;
              mark(`${member}:pods`);
              // every applied object now exists for real (the dry runs did not stand in for it)
              const paths = new ResourcePaths(kc);
              await forEachLimit([...crds, ...namespaces, ...rest], CONCURRENCY, async (m) => {
                const live = await getRaw(kc, paths, m.object).catch((err: unknown) => err);
                if (live === undefined || live instanceof Error) {
                  failures.push(`${m.path}: missing after apply${live instanceof Error ? `: ${errorText(live)}` : ''}`);
                }
              });
          }),
        );
      } finally {
        await Promise.all(planes.map((cp) => cp.stop()));
        mark('stopped');
      }
      console.log(
        `[rendered-apply] ${env}: ${applied} manifests applied to ${members.length} member cluster(s) ` +
          `(${members.join(', ')}), ${pods} pods dry-run created, ${failures.length} rejection(s); timeline: ${timings.join(', ')}`,
      );
      expect(failures.sort()).toEqual([]);
    },
    300_000,
  );
});
