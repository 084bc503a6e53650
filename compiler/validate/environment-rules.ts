// Semantic rules on one environment file.
import type { Environment } from '../../schemas/types/environment.js';
import { ARGOCD_APPLICATION_CONTROLLER, ARGOCD_NON_SYNCING, CONTROLLER_SERVICE_ACCOUNT, DEFAULT_CONTROLLER_NAMESPACE, FEDERATION_SERVICE_ACCOUNT, UNIVERSAL_GROUPS } from '../../schemas/types/guard.js';
import { FEDERATION_APP } from '../argocd/objects.js';
import { defaultGitopsServiceAccount } from '../resolve/guard.js';
import type { Resources } from '../../schemas/types/topology.js';
import type { Path } from './paths.js';
import { bytes, cpuCores } from './quantity.js';
import type { Report } from './topology-rules.js';

export const NAMESPACE_PLACEHOLDERS = ['topology', 'team', 'env', 'engine'] as const;

/** Registry part of an image reference, Docker's way: the first segment if it looks like a host. */
export function imageRegistryPath(image: string): string {
  const first = image.split('/')[0] ?? '';
  const hasHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const full = hasHost ? image : image.includes('/') ? `docker.io/${image}` : `docker.io/library/${image}`;
  return full.replace(/[@:][^/]*$/, '');
}

export function imageAllowed(image: string, registries: ReadonlyArray<string>): boolean {
  const path = imageRegistryPath(image);
  return registries.some((r) => path.startsWith(`${r}/`));
}

export function checkEnvironment(env: Environment, file: string, report: Report): void {
  const base = file.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
  if (base !== env.name) {
    report('DBT3072', ['name'], `environment "${env.name}" is in file ${file}`, `rename the file to envs/${env.name}.yaml`);
  }
  const seen = new Set<string>();
  env.memberClusters.forEach((mc, i) => {
    if (seen.has(mc.name)) report('DBT3120', ['memberClusters', i, 'name'], `member cluster "${mc.name}" is listed twice`);
    seen.add(mc.name);
    if (mc.name === FEDERATION_APP) {
      report('DBT3125', ['memberClusters', i, 'name'], `"${FEDERATION_APP}" names the Argo CD Application of the environment's federation API server (dbtopo-${env.name}-${FEDERATION_APP})`);
    }
  });
  for (const m of env.namespace.matchAll(/\{([a-z]+)\}/g)) {
    if (!(NAMESPACE_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      report('DBT3121', ['namespace'], `namespace rule uses {${m[1]}}`);
    }
  }
  checkGuard(env, report);
  const p = env.policy;
  if (p?.minReplicas !== undefined && p.maxReplicas !== undefined && p.minReplicas > p.maxReplicas) {
    report('DBT3122', ['policy', 'minReplicas'], `policy.minReplicas ${p.minReplicas} is above policy.maxReplicas ${p.maxReplicas}`);
  }
  const registries = p?.allowedImageRegistries;
  if (registries) {
    for (const [component, image] of Object.entries(env.defaults?.images ?? {})) {
      if (image !== undefined && !imageAllowed(image, registries)) {
        report('DBT4009', ['defaults', 'images', component], `image ${image} comes from ${imageRegistryPath(image)}, not one of ${registries.join(', ')}`);
      }
    }
  }
  if (p?.maxResources) {
    const max = p.maxResources;
    const check = (r: Resources | undefined, path: Path) => {
      if (max.cpu && r?.cpu && (cpuCores(r.cpu) ?? 0) > (cpuCores(max.cpu) ?? Infinity)) report('DBT4008', [...path, 'cpu'], `default cpu ${r.cpu} is above policy.maxResources.cpu ${max.cpu}`);
      if (max.memory && r?.memory && (bytes(r.memory) ?? 0) > (bytes(max.memory) ?? Infinity)) report('DBT4008', [...path, 'memory'], `default memory ${r.memory} is above policy.maxResources.memory ${max.memory}`);
    };
    check(env.defaults?.resources, ['defaults', 'resources']);
    check(env.defaults?.sentinelResources, ['defaults', 'sentinelResources']);
    check(env.defaults?.proxyResources, ['defaults', 'proxyResources']);
  }
}

/** The guard's identities must be ones that act: a guard naming a ghost locks that role out. */
function checkGuard(env: Environment, report: Report): void {
  const g = env.guard;
  if (g === undefined) return;
  const argocdNs = env.argocd?.namespace ?? 'argocd';
  const controller = g.controller ?? `${DEFAULT_CONTROLLER_NAMESPACE}/${CONTROLLER_SERVICE_ACCOUNT}`;
  (g.gitops?.serviceAccounts ?? []).forEach((ref, i) => {
    const [ns, name = ''] = ref.split('/');
    if (ns === argocdNs && (ARGOCD_NON_SYNCING as readonly string[]).includes(name)) {
      report('DBT3130', ['guard', 'gitops', 'serviceAccounts', i], `${ref} is an Argo CD component that never writes to a member cluster; Argo CD syncs as ${defaultGitopsServiceAccount(env)}`);
    } else if (ns === argocdNs && name !== ARGOCD_APPLICATION_CONTROLLER) {
      report('DBT3130', ['guard', 'gitops', 'serviceAccounts', i], `no Argo CD component runs as ${ref}: in namespace ${argocdNs} only ${ARGOCD_APPLICATION_CONTROLLER} syncs (sync impersonation ServiceAccounts live in the destination namespaces)`);
    }
    if (ref === controller) {
      report('DBT3131', ['guard', 'gitops', 'serviceAccounts', i], `${ref} is both the controller and a GitOps identity: the controller could rewrite the specs it is meant to follow`);
    }
  });
  const federation = g.federation ?? `${DEFAULT_CONTROLLER_NAMESPACE}/${FEDERATION_SERVICE_ACCOUNT}`;
  if (federation === controller) {
    report('DBT3133', ['guard', 'federation'], `${federation} is also the dbtopo controller: the guard could not tell the federation manager's status writes (status.federation only) from the controller's`);
  } else if ((g.gitops?.serviceAccounts ?? []).includes(federation)) {
    report('DBT3133', ['guard', 'federation'], `${federation} is also a GitOps identity: the federation manager could rewrite the specs it only decides run-time roles for`);
  }
  if (controller.split('/')[1] !== CONTROLLER_SERVICE_ACCOUNT) {
    report('DBT3131', ['guard', 'controller'], `the dbtopo controller runs as ServiceAccount ${CONTROLLER_SERVICE_ACCOUNT}, not ${controller.split('/')[1] ?? controller}: the guard would refuse its pod deletions, role labels and status writes`);
  }
  (g.gitops?.groups ?? []).forEach((group, i) => {
    if ((UNIVERSAL_GROUPS as readonly string[]).includes(group)) report('DBT3132', ['guard', 'gitops', 'groups', i], `every ${group === 'system:serviceaccounts' ? 'ServiceAccount' : 'caller'} is in ${group}: anyone could write database specs`);
  });
  if (g.breakGlassGroup !== undefined && (UNIVERSAL_GROUPS as readonly string[]).includes(g.breakGlassGroup)) {
    report('DBT3132', ['guard', 'breakGlassGroup'], `every ${g.breakGlassGroup === 'system:serviceaccounts' ? 'ServiceAccount' : 'caller'} is in ${g.breakGlassGroup}: anyone could break glass`);
  }
}
