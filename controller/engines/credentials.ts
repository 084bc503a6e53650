// Engine credentials: spec.engine.credentials holds only Secret references; this reads them
// through the API (CoreV1Api) into EngineTarget username/password. Values are cached briefly so
// a reconcile pass over many pods reads each Secret once.
import type { CoreV1Api } from '@kubernetes/client-node';
import type { EngineSpec, SecretKeyRef } from '../../schemas/types/index.js';
import type { EngineTarget } from './types.js';

export interface Credentials {
  username?: string;
  password?: string;
}

/** Pure: decode one key of a Secret's base64 `data` (or plain `stringData`). */
export function secretValue(
  secret: { data?: Record<string, string>; stringData?: Record<string, string> },
  key: string,
): string | undefined {
  const plain = secret.stringData?.[key];
  if (plain !== undefined) return plain;
  const b64 = secret.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

export function withCredentials(t: EngineTarget, c: Credentials): EngineTarget {
  return {
    ...t,
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
  };
}

export class CredentialsReader {
  private readonly cache = new Map<string, { value: string; until: number }>();

  constructor(
    private readonly core: CoreV1Api,
    private readonly ttlMs = 10_000,
  ) {}

  /** The credentials of `spec` in `namespace`; empty when the engine has none. Throws with the missing Secret/key. */
  async read(namespace: string, spec: EngineSpec): Promise<Credentials> {
    const c = spec.credentials;
    if (c === undefined) return {};
    const password = await this.value(namespace, c.password);
    const username = c.username === undefined ? undefined : await this.value(namespace, c.username);
    return { password, ...(username !== undefined ? { username } : {}) };
  }

  async target(namespace: string, spec: EngineSpec, t: EngineTarget): Promise<EngineTarget> {
    // A Sentinel set's Secret is the servers' password (its sentinel.conf auth-pass); Sentinel
    // itself is rendered without requirepass, and sending it one only makes every connection warn.
    if (spec.type === 'redis-sentinel') return t;
    return withCredentials(t, await this.read(namespace, spec));
  }

  private async value(namespace: string, ref: SecretKeyRef): Promise<string> {
    const key = `${namespace}/${ref.name}/${ref.key}`;
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.until > Date.now()) return hit.value;
    let secret;
    try {
      secret = await this.core.readNamespacedSecret({ name: ref.name, namespace });
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 404) {
        throw new Error(`Secret ${namespace}/${ref.name} not found: create it with key "${ref.key}" (referenced by spec.engine.credentials)`);
      }
      throw err;
    }
    const value = secretValue(secret, ref.key);
    if (value === undefined) {
      throw new Error(`Secret ${namespace}/${ref.name} has no key "${ref.key}": add it (referenced by spec.engine.credentials)`);
    }
    this.cache.set(key, { value, until: Date.now() + this.ttlMs });
    return value;
  }
}
