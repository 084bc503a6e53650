// kubeConfigOfClusterSecret (controller/federation/members.ts): Argo CD's cluster Secret shape
// read into a KubeConfig, and a located error for each thing a Secret can lack.
import { describe, expect, it } from 'vitest';
import { kubeConfigOfClusterSecret } from '../../../controller/federation/members.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cluster-west', namespace: 'dbtopo-system' }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });

describe('kubeConfigOfClusterSecret', () => {
  it("reads name, server and Argo CD's config JSON (client certificate or bearer token)", () => {
    const tls = { caData: b64('CA PEM'), certData: b64('CERT PEM'), keyData: b64('KEY PEM') };
    const { name, server, kc } = kubeConfigOfClusterSecret(secret({ name: 'prod-eu-west', server: 'https://10.1.2.3:6443', config: JSON.stringify({ tlsClientConfig: tls }) }));
    expect(name).toBe('prod-eu-west');
    expect(server).toBe('https://10.1.2.3:6443');
    expect(kc.getCurrentCluster()).toMatchObject({ name: 'prod-eu-west', server: 'https://10.1.2.3:6443', caData: tls.caData, skipTLSVerify: false });
    expect(kc.getCurrentUser()).toMatchObject({ certData: tls.certData, keyData: tls.keyData });

    const token = kubeConfigOfClusterSecret(secret({ name: 'b', server: 'https://b', config: JSON.stringify({ bearerToken: 'tok', tlsClientConfig: { insecure: true } }) }));
    expect(token.kc.getCurrentUser()).toMatchObject({ token: 'tok' });
    expect(token.kc.getCurrentCluster()?.skipTLSVerify).toBe(true);
  });

  it('says which Secret lacks what', () => {
    expect(() => kubeConfigOfClusterSecret(secret({ server: 'https://x' }))).toThrow(/cluster Secret dbtopo-system\/cluster-west: no "name" key/);
    expect(() => kubeConfigOfClusterSecret(secret({ name: 'a' }))).toThrow(/no "server" key/);
    expect(() => kubeConfigOfClusterSecret(secret({ name: 'a', server: 'https://x', config: '{not json' }))).toThrow(/"config" is not JSON/);
  });
});
