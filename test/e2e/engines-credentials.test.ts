// CredentialsReader against a real API server: Secret refs of spec.engine.credentials become
// EngineTarget username/password; missing Secrets and keys are errors that name them. The reader
// acts as the controller's ServiceAccount, in a namespace with the admission guard in force.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsReader, secretValue } from '../../controller/engines/credentials.js';
import type { EngineSpec } from '../../schemas/types/index.js';
import { guardedNamespace, type GuardedNamespace } from './guarded-namespace.js';

const NS = `e2e-creds-${Date.now().toString(36)}`;
const spec = (name: string, userKey = 'username'): EngineSpec => ({
  type: 'mysql',
  version: '10.11',
  port: 3306,
  credentials: { username: { name, key: userKey }, password: { name, key: 'password' } },
});

describe('CredentialsReader', () => {
  let ids: GuardedNamespace;
  let admin: k8s.CoreV1Api;
  let core: k8s.CoreV1Api;
  beforeAll(async () => {
    ids = await guardedNamespace(NS);
    admin = ids.admin.makeApiClient(k8s.CoreV1Api);
    core = ids.controller.makeApiClient(k8s.CoreV1Api);
    await admin.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'db-admin' }, stringData: { username: 'admin', password: 'p@ss w0rd' } } });
  });
  afterAll(async () => {
    await ids?.stop();
  });

  it('reads username and password into the target', async () => {
    const r = new CredentialsReader(core);
    const t = await r.target(NS, spec('db-admin'), { podName: 'db-0', host: '10.244.0.2', port: 3306 });
    expect(t).toEqual({ podName: 'db-0', host: '10.244.0.2', port: 3306, username: 'admin', password: 'p@ss w0rd' });
    expect(await r.read(NS, { type: 'redis', version: '7', port: 6379 })).toEqual({});
  });

  it('caches values for its TTL, then sees a rotated password', async () => {
    const r = new CredentialsReader(core, 300);
    expect((await r.read(NS, spec('db-admin'))).password).toBe('p@ss w0rd');
    await admin.replaceNamespacedSecret({ namespace: NS, name: 'db-admin', body: { metadata: { name: 'db-admin' }, stringData: { username: 'admin', password: 'rotated' } } });
    expect((await r.read(NS, spec('db-admin'))).password).toBe('p@ss w0rd');
    await new Promise((res) => setTimeout(res, 400));
    expect((await r.read(NS, spec('db-admin'))).password).toBe('rotated');
  });

  it('names a missing Secret or key', async () => {
    const r = new CredentialsReader(core);
    await expect(r.read(NS, spec('nope'))).rejects.toThrow(`Secret ${NS}/nope not found: create it with key "password"`);
    await expect(r.read(NS, spec('db-admin', 'user'))).rejects.toThrow(`Secret ${NS}/db-admin has no key "user"`);
  });

  it('decodes base64 data', () => {
    expect(secretValue({ data: { k: Buffer.from('välue').toString('base64') } }, 'k')).toBe('välue');
    expect(secretValue({ data: {} }, 'k')).toBeUndefined();
  });
});
