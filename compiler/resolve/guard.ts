// resolve: an environment's guard section with its defaults → the identities the admission
// policies name (compiler/emit/guards.ts). Pure.
import type { Environment } from '../../schemas/types/environment.js';
import {
  ARGOCD_APPLICATION_CONTROLLER,
  ARGOCD_MANAGER,
  CONTROLLER_SERVICE_ACCOUNT,
  DEFAULT_BREAK_GLASS_GROUP,
  DEFAULT_CONTROLLER_NAMESPACE,
  FEDERATION_SERVICE_ACCOUNT,
  serviceAccountUser,
} from '../../schemas/types/guard.js';

export interface GuardIdentities {
  /** User names that sync from Git (ServiceAccounts as system:serviceaccount:<ns>:<name>). */
  gitopsUsers: string[];
  gitopsGroups: string[];
  /** The dbtopo controller's user name. */
  controller: string;
  /** The federation manager's user name in a member cluster: writes status.federation of InstanceSets only. */
  federation: string;
  breakGlassGroup: string;
}

/** "ns/name" → system:serviceaccount:ns:name. */
export function serviceAccountRefUser(ref: string): string {
  const [ns = '', name = ''] = ref.split('/');
  return serviceAccountUser(ns, name);
}

export function defaultGitopsServiceAccount(env: Environment): string {
  return `${env.argocd?.namespace ?? 'argocd'}/${ARGOCD_APPLICATION_CONTROLLER}`;
}

/**
 * Who Argo CD syncs as by default: its application controller in the cluster it runs in, and in a
 * member cluster registered with `argocd cluster add`, the ServiceAccount that command creates.
 */
export function defaultGitopsServiceAccounts(env: Environment): string[] {
  return [defaultGitopsServiceAccount(env), ARGOCD_MANAGER];
}

export function resolveGuard(env: Environment): GuardIdentities {
  const g = env.guard ?? {};
  const gitops = g.gitops ?? { serviceAccounts: defaultGitopsServiceAccounts(env) };
  return {
    gitopsUsers: [...(gitops.serviceAccounts ?? []).map(serviceAccountRefUser), ...(gitops.users ?? [])],
    gitopsGroups: [...(gitops.groups ?? [])],
    controller: serviceAccountRefUser(g.controller ?? `${DEFAULT_CONTROLLER_NAMESPACE}/${CONTROLLER_SERVICE_ACCOUNT}`),
    federation: serviceAccountRefUser(g.federation ?? `${DEFAULT_CONTROLLER_NAMESPACE}/${FEDERATION_SERVICE_ACCOUNT}`),
    breakGlassGroup: g.breakGlassGroup ?? DEFAULT_BREAK_GLASS_GROUP,
  };
}
