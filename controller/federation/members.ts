// The member clusters the federation manager reaches: one Secret each in its namespace, in the
// shape Argo CD's cluster Secrets have (label argocd.argoproj.io/secret-type=cluster; data keys
// `name`, `server`, `config` = JSON {bearerToken?, tlsClientConfig: {caData, certData, keyData,
// insecure?, serverName?}}), so a platform that already registers its member clusters with Argo CD
// registers them with dbtopo by copying those Secrets (or labelling the manager's namespace copy).
// The Secret's `name` is the member cluster's name as environment files spell it.
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '../../schemas/types/index.js';
import { CredentialsReader } from '../engines/credentials.js';
import { KubeClient, resourcePath } from '../runtime/kube.js';
import type { RateLimit } from '../runtime/rate-limit.js';

export const CLUSTER_SECRET_LABEL = 'argocd.argoproj.io/secret-type';

export interface MemberAccess {
  name: string;
  server: string;
  client: KubeClient;
  /** Engine credentials from the member cluster's Secrets, cached briefly across rounds. */
  creds: CredentialsReader;
  /** The Secret's resourceVersion: a changed Secret gives a new client. */
  version: string;
}

interface ClusterConfig {
  bearerToken?: string;
  username?: string;
  password?: string;
  tlsClientConfig?: { caData?: string; certData?: string; keyData?: string; insecure?: boolean; serverName?: string };
}

type SecretObject = KubeObject & { data?: Record<string, string>; stringData?: Record<string, string> };

const field = (s: SecretObject, key: string): string | undefined => {
  const plain = s.stringData?.[key];
  if (plain !== undefined) return plain;
  const b64 = s.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
};

/** Pure: a KubeConfig from one cluster Secret; throws with what is missing or malformed. */
export function kubeConfigOfClusterSecret(secret: SecretObject): { name: string; server: string; kc: k8s.KubeConfig } {
  const where = `cluster Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name}`;
  const name = field(secret, 'name');
  const server = field(secret, 'server');
  if (name === undefined || name === '') throw new Error(`${where}: no "name" key (the member cluster's name, as environment files spell it)`);
  if (server === undefined || server === '') throw new Error(`${where}: no "server" key (the API server URL)`);
  let config: ClusterConfig = {};
  const raw = field(secret, 'config');
  if (raw !== undefined && raw !== '') {
    try {
      config = JSON.parse(raw) as ClusterConfig;
    } catch (err) {
      throw new Error(`${where}: "config" is not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const tls = config.tlsClientConfig ?? {};
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name, server, skipTLSVerify: tls.insecure === true, ...(tls.caData !== undefined ? { caData: tls.caData } : {}), ...(tls.serverName !== undefined ? { tlsServerName: tls.serverName } : {}) }],
    users: [
      {
        name,
        ...(tls.certData !== undefined ? { certData: tls.certData } : {}),
        ...(tls.keyData !== undefined ? { keyData: tls.keyData } : {}),
        ...(config.bearerToken !== undefined ? { token: config.bearerToken } : {}),
        ...(config.username !== undefined ? { username: config.username } : {}),
        ...(config.password !== undefined ? { password: config.password } : {}),
      },
    ],
    contexts: [{ name, cluster: name, user: name }],
    currentContext: name,
  });
  return { name, server, kc };
}

/** Keeps one client per member cluster, rebuilt when its Secret changes. */
export class MemberClusters {
  private readonly byName = new Map<string, MemberAccess>();
  readonly errors: string[] = [];

  constructor(
    private readonly federation: KubeClient,
    private readonly namespace: string,
    private readonly rateLimit?: RateLimit,
  ) {}

  /** Re-reads the cluster Secrets; returns the member clusters by name. */
  async refresh(): Promise<Map<string, MemberAccess>> {
    const list = await this.federation.list<SecretObject>(resourcePath('Secret', this.namespace), { labelSelector: `${CLUSTER_SECRET_LABEL}=cluster` });
    const seen = new Set<string>();
    this.errors.length = 0;
    for (const s of list.items) {
      let parsed;
      try {
        parsed = kubeConfigOfClusterSecret(s);
      } catch (err) {
        this.errors.push(err instanceof Error ? err.message : String(err));
        continue;
      }
      seen.add(parsed.name);
      const version = s.metadata.resourceVersion ?? '';
      const had = this.byName.get(parsed.name);
      if (had !== undefined && had.version === version) continue;
      had?.client.close();
      this.byName.set(parsed.name, { name: parsed.name, server: parsed.server, client: new KubeClient(parsed.kc, this.rateLimit), creds: new CredentialsReader(parsed.kc.makeApiClient(k8s.CoreV1Api)), version });
    }
    for (const [name, m] of this.byName) {
      if (!seen.has(name)) {
        m.client.close();
        this.byName.delete(name);
      }
    }
    return this.byName;
  }

  close(): void {
    for (const m of this.byName.values()) m.client.close();
    this.byName.clear();
  }
}
