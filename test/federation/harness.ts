// The federation test environment (issue 10): one namespace of the same name in each member
// cluster, every member cluster with the rendered admission guard, its identities, a test kubelet
// and (by default) an in-process member controller — all test kubelets on ONE flat pod network
// (test/kubelet/flat-network.ts: each member cluster keeps its own pod subnet, pods reach each
// other across member clusters directly, as Cilium ClusterMesh gives) — and a federation API
// server holding, in `dbtopo-system`, one Argo-CD-style cluster Secret per member cluster, for the
// federation manager. Faults: partition(a, b) / heal() between member clusters' pod subnets,
// stopApiServer / resumeApiServer, killEngines / releaseEngines.
//
// Runs in the `federation` vitest project (test/federation/global-setup.ts starts the control
// planes `member-a`, `member-b` and `federation`). Member cluster names are the product's
// (`prod-eu-west`, ...), each mapped to one of those control planes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { ControllerOptions, RunningController } from '../../controller/manager.js';
import { CONTROLLER_USER, impersonating, isNotFound, sleep, testKubeconfigs } from '../cluster/helpers.js';
import { issueClientCertificate, pauseApiServer, resumeApiServer } from '../cluster/launcher.js';
import { startEngineEnv, type EngineEnv } from '../e2e/engines-helpers.js';
import { FlatNetwork } from '../kubelet/flat-network.js';
import type { TestKubelet } from '../kubelet/kubelet.js';

/** Where the federation manager finds its member clusters' Secrets (and runs, in production). */
export const FEDERATION_NAMESPACE = 'dbtopo-system';
/** The federation API server's control plane name (test/federation/global-setup.ts). */
export const FEDERATION_CONTROL_PLANE = 'federation';
/** Argo CD's label of a cluster Secret. */
export const CLUSTER_SECRET_LABEL = { 'argocd.argoproj.io/secret-type': 'cluster' } as const;

export interface FederationMemberOptions {
  /** The control plane this member cluster runs on: `member-a` or `member-b`. */
  controlPlane: string;
  /** Created in the member cluster's namespace as the GitOps identity (e.g. loadRendered(...)). */
  objects?: k8s.KubernetesObject[];
  /** Secrets (name → stringData) created in the namespace first. */
  secrets?: Record<string, Record<string, string>>;
  /** Run the member controller in this process; default true. */
  inProcessController?: boolean;
  /** More options of that controller. */
  controllerOptions?: Partial<ControllerOptions>;
}

export interface FederationEnvOptions {
  /** The namespace, the same in every member cluster. */
  namespace: string;
  /** Member cluster name (as environment files spell it, e.g. `prod-eu-west`) → its set-up. */
  members: Record<string, FederationMemberOptions>;
  /**
   * Whose credentials the cluster Secrets carry. `admin` (default): the member control plane's
   * admin (system:masters) — acceptable for now, but under the rendered guard admin may not write
   * the `dbtopo.dev/role` label; `controller`: a client certificate for the dbtopo controller's
   * identity (the guard lets it label roles), bound to cluster-admin like the in-process
   * controller; or any user (+ groups), bound to cluster-admin.
   */
  memberIdentity?: 'admin' | 'controller' | { user: string; groups?: string[] };
}

export interface ControlPlaneInfo {
  /** Control plane name (`member-a`). */
  name: string;
  server: string;
  /** Its directory (pids, pki, logs), the kubeconfig's directory. */
  dir: string;
  /** The control plane's admin kubeconfig. */
  kubeconfigPath: string;
}

export interface FederationMember {
  /** Member cluster name (`prod-eu-west`). */
  name: string;
  namespace: string;
  /** As the GitOps sync: the identity the guard lets write specs. */
  kc: k8s.KubeConfig;
  /** The member control plane's admin. */
  admin: k8s.KubeConfig;
  /** CoreV1Api of `kc`. */
  core: k8s.CoreV1Api;
  kubelet: TestKubelet;
  /** Undefined when inProcessController was false. */
  controller: RunningController | undefined;
  /** A kubeconfig file with the member controller's identity (for controllers run as children). */
  controllerKubeconfig: string;
  controlPlane: ControlPlaneInfo;
  /** This member cluster's pod subnet on the flat network (`10.244.<b>.0/24`). */
  podCidr: string;
  /** The name of its cluster Secret on the federation API server. */
  clusterSecret: string;
}

export interface FederationEnv {
  namespace: string;
  members: Record<string, FederationMember>;
  /** A member by name; throws for an unknown one. */
  member(name: string): FederationMember;
  federation: {
    /** The federation API server's admin kubeconfig file (for the federation manager). */
    kubeconfigPath: string;
    kc: k8s.KubeConfig;
    server: string;
    /** `dbtopo-system`: holds the cluster Secrets. */
    namespace: string;
    controlPlane: ControlPlaneInfo;
  };
  flat: FlatNetwork;
  /** Cuts all traffic between the pod subnets of member clusters `a` and `b` (both ways, silently). */
  partition(a: string, b: string): void;
  /** Lifts the partition between `a` and `b`, or every partition. */
  heal(a?: string, b?: string): void;
  /**
   * Freezes the member cluster's kube-apiserver (SIGSTOP of its process group; etcd and the
   * controller manager keep running): it stands in for a lost member cluster's API server —
   * connections to it hang, nothing answers — until resumeApiServer().
   */
  stopApiServer(member: string): void;
  /** SIGCONT, then waits for /readyz; returns the ms that took. */
  resumeApiServer(member: string): Promise<number>;
  /**
   * SIGKILLs every engine process of the member's test kubelet and keeps all of them down (pods
   * started meanwhile too) until releaseEngines(member). Returns the pods hit (`ns/name`).
   */
  killEngines(member: string, signal?: NodeJS.Signals): string[];
  releaseEngines(member: string): void;
  /** Removes everything: resumes frozen API servers, releases engines, heals, stops kubelets and controllers, deletes namespaces, Secrets, the flat network. */
  stop(): Promise<void>;
}

function loadKubeConfig(file: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

function controlPlaneInfo(name: string): ControlPlaneInfo {
  const kubeconfigPath = testKubeconfigs()[name];
  if (kubeconfigPath === undefined) throw new Error(`no control plane ${name}: run in the vitest \`federation\` project (test/federation/global-setup.ts)`);
  const server = loadKubeConfig(kubeconfigPath).getCurrentCluster()?.server ?? '';
  return { name, server, dir: path.dirname(kubeconfigPath), kubeconfigPath };
}

/** Argo CD's cluster Secret `config` for a client certificate: base64 PEMs, as Argo CD writes them. */
function clusterConfig(caData: string, certData: string, keyData: string): string {
  return JSON.stringify({ tlsClientConfig: { caData, certData, keyData } });
}

async function credentialsFor(cp: ControlPlaneInfo, admin: k8s.KubeConfig, identity: FederationEnvOptions['memberIdentity']): Promise<{ caData: string; certData: string; keyData: string }> {
  const caData = admin.getCurrentCluster()?.caData ?? '';
  if (identity === undefined || identity === 'admin') {
    // The admin (system:masters) of the member control plane: acceptable for now; a production
    // federation manager gets its own identity, allowed pods, InstanceSets (and status),
    // Services and EndpointSlices only.
    const user = admin.getCurrentUser();
    return { caData, certData: user?.certData ?? '', keyData: user?.keyData ?? '' };
  }
  const { user, groups } = identity === 'controller' ? { user: CONTROLLER_USER, groups: [] } : { user: identity.user, groups: identity.groups ?? [] };
  await impersonating(admin, user); // binds `user` to cluster-admin; the guard, not RBAC, decides
  const file = `federation-${user.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.replace(/-+$/, '');
  const cert = await issueClientCertificate(cp.dir, file, user, groups);
  return { caData, certData: fs.readFileSync(cert.certPath).toString('base64'), keyData: fs.readFileSync(cert.keyPath).toString('base64') };
}

/**
 * Starts the federation environment; everything it made is removed by stop() (and by stop() of
 * whatever already started when a later step fails).
 */
export async function startFederationEnv(opts: FederationEnvOptions): Promise<FederationEnv> {
  const names = Object.keys(opts.members);
  if (names.length === 0) throw new Error('startFederationEnv: no member cluster');
  const planes = names.map((n) => opts.members[n]!.controlPlane);
  if (new Set(planes).size !== planes.length) throw new Error(`startFederationEnv: two member clusters on one control plane (${planes.join(', ')})`);
  const debug = process.env['DBTOPO_E2E_DEBUG'] !== undefined;
  const log = (m: string): void => {
    if (debug) process.stderr.write(`[federation] ${m}\n`);
  };

  const envs = new Map<string, EngineEnv>();
  const frozen = new Set<string>();
  const held = new Set<string>();
  const stops: Array<() => Promise<void>> = [];
  let flat: FlatNetwork | undefined;
  const stop = async (): Promise<void> => {
    for (const name of [...frozen]) {
      frozen.delete(name);
      await resumeApiServer(controlPlaneInfo(opts.members[name]!.controlPlane).dir).catch(() => undefined);
    }
    for (const name of [...held]) {
      held.delete(name);
      envs.get(name)?.kubelet.releaseEngines();
    }
    flat?.heal();
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => log(`stop: ${String(err)}`));
  };

  try {
    flat = new FlatNetwork(process.pid, log);
    const fabric = flat;
    stops.push(async () => fabric.destroy());

    const fedPlane = controlPlaneInfo(FEDERATION_CONTROL_PLANE);
    const fedKc = loadKubeConfig(fedPlane.kubeconfigPath);
    const fedCore = fedKc.makeApiClient(k8s.CoreV1Api);

    // Member clusters in parallel (each: guard, identities, kubelet on the flat network, controller, objects).
    const started = await Promise.allSettled(
      names.map(async (name) => {
        const m = opts.members[name]!;
        const env = await startEngineEnv({
          namespace: opts.namespace,
          objects: m.objects ?? [],
          ...(m.secrets !== undefined ? { secrets: m.secrets } : {}),
          ...(m.inProcessController !== undefined ? { inProcessController: m.inProcessController } : {}),
          ...(m.controllerOptions !== undefined ? { controllerOptions: m.controllerOptions } : {}),
          member: m.controlPlane,
          nodeName: `node-${name}`,
          flatNetwork: fabric,
        });
        envs.set(name, env);
        stops.push(async () => env.stop());
        return env;
      }),
    );
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    // The federation API server: dbtopo-system and one cluster Secret per member cluster.
    let createdNamespace = false;
    try {
      await fedCore.createNamespace({ body: { metadata: { name: FEDERATION_NAMESPACE } } });
      createdNamespace = true;
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
    if (createdNamespace) stops.push(async () => deleteNamespaceAndWait(fedCore, FEDERATION_NAMESPACE));
    const members: Record<string, FederationMember> = {};
    for (const name of names) {
      const env = envs.get(name)!;
      const cp = controlPlaneInfo(opts.members[name]!.controlPlane);
      const creds = await credentialsFor(cp, env.admin, opts.memberIdentity);
      const secretName = `cluster-${name}`;
      await fedCore.createNamespacedSecret({
        namespace: FEDERATION_NAMESPACE,
        body: {
          metadata: { name: secretName, labels: { ...CLUSTER_SECRET_LABEL } },
          type: 'Opaque',
          stringData: { name, server: cp.server, config: clusterConfig(creds.caData, creds.certData, creds.keyData) },
        },
      });
      stops.push(async () => {
        await fedCore.deleteNamespacedSecret({ namespace: FEDERATION_NAMESPACE, name: secretName }).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      });
      members[name] = {
        name,
        namespace: opts.namespace,
        kc: env.kc,
        admin: env.admin,
        core: env.core,
        kubelet: env.kubelet,
        controller: env.controller,
        controllerKubeconfig: env.controllerKubeconfig,
        controlPlane: cp,
        podCidr: env.kubelet.podCidr,
        clusterSecret: secretName,
      };
    }

    const member = (name: string): FederationMember => {
      const m = members[name];
      if (m === undefined) throw new Error(`no member cluster ${name} (have: ${names.join(', ')})`);
      return m;
    };
    return {
      namespace: opts.namespace,
      members,
      member,
      federation: { kubeconfigPath: fedPlane.kubeconfigPath, kc: fedKc, server: fedPlane.server, namespace: FEDERATION_NAMESPACE, controlPlane: fedPlane },
      flat: fabric,
      partition(a: string, b: string): void {
        fabric.partition(member(a).kubelet.block, member(b).kubelet.block);
      },
      heal(a?: string, b?: string): void {
        if (a === undefined || b === undefined) fabric.heal();
        else fabric.heal(member(a).kubelet.block, member(b).kubelet.block);
      },
      stopApiServer(name: string): void {
        pauseApiServer(member(name).controlPlane.dir);
        frozen.add(name);
      },
      async resumeApiServer(name: string): Promise<number> {
        const ms = await resumeApiServer(member(name).controlPlane.dir);
        frozen.delete(name);
        return ms;
      },
      killEngines(name: string, signal: NodeJS.Signals = 'SIGKILL'): string[] {
        held.add(name);
        return member(name).kubelet.killEngines(signal);
      },
      releaseEngines(name: string): void {
        held.delete(name);
        member(name).kubelet.releaseEngines();
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Deletes a namespace and waits (bounded) until it is gone, so a next test can create it again. */
async function deleteNamespaceAndWait(core: k8s.CoreV1Api, name: string, timeoutMs = 60_000): Promise<void> {
  try {
    await core.deleteNamespace({ name });
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 1_000 && Date.now() < deadline; i++) {
    try {
      await core.readNamespace({ name });
    } catch (err) {
      if (isNotFound(err)) return;
    }
    await sleep(250);
  }
  throw new Error(`namespace ${name} still there ${timeoutMs} ms after its deletion`);
}
