// What the federation manager's end-to-end tests share on top of the harness (harness.ts): the
// compiled Federation of a topology put on the federation API server, each member cluster's pods
// of a set, and the Federation's status of one shard.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { federationCrd } from '../../schemas/crds/federation.crd.js';
import { LABELS, type Federation, type FederationShardStatus } from '../../schemas/types/index.js';
import { eventually, sleep } from '../cluster/helpers.js';
import type { FederationEnv } from './harness.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The compiled Federation `rendered/<env>/_federation/<fromNamespace>/<topology>.yaml`, moved to
 * `env.namespace` (shards filtered by `keep`), created on the federation API server with its CRD
 * and namespace.
 */
export async function createRenderedFederation(env: FederationEnv, rel: string, fromNamespace: string, keep: (shard: string) => boolean = () => true): Promise<Federation> {
  const ns = env.namespace;
  const file = path.join(repoRoot, 'environments/rendered', `${rel}.yaml`);
  const text = fs.readFileSync(file, 'utf8').replaceAll(`namespace: ${fromNamespace}\n`, `namespace: ${ns}\n`).replaceAll(`.${fromNamespace}.svc`, `.${ns}.svc`);
  const fed = parseAllDocuments(text).map((d) => d.toJS() as Federation).find((o) => o?.kind === 'Federation');
  if (fed === undefined) throw new Error(`${file} has no Federation: run \`dbtopo compile\` on the example repo (environments/)`);
  fed.spec.shards = fed.spec.shards.filter((s) => keep(s.name));
  const objects = k8s.KubernetesObjectApi.makeApiClient(env.federation.kc);
  await objects.create(federationCrd as k8s.KubernetesObject).catch((err: unknown) => {
    if (!/already exists/i.test(String(err))) throw err;
  });
  await env.federation.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
  const custom = env.federation.kc.makeApiClient(k8s.CustomObjectsApi);
  await eventually('the Federation CRD served', async () => await custom.listNamespacedCustomObject({ group: 'dbtopo.dev', version: 'v1alpha1', namespace: ns, plural: 'federations' }).then(() => true, () => undefined), { timeoutMs: 30_000, intervalMs: 250 });
  await objects.create(fed as unknown as k8s.KubernetesObject);
  return fed;
}

/** The Federation's status, as the manager last wrote it. */
export async function federationStatus(env: FederationEnv, federation: string): Promise<Federation['status']> {
  const custom = env.federation.kc.makeApiClient(k8s.CustomObjectsApi);
  return ((await custom.getNamespacedCustomObject({ group: 'dbtopo.dev', version: 'v1alpha1', namespace: env.namespace, plural: 'federations', name: federation })) as Federation).status;
}

/** The Federation's status of one shard. */
export async function shardStatus(env: FederationEnv, federation: string, shard: string): Promise<FederationShardStatus | undefined> {
  return (await federationStatus(env, federation))?.shards?.find((s) => s.name === shard);
}

/** Every member cluster's pods of `instanceSet` that answer within 2 s (a frozen API server's are left out). */
export async function podsEverywhere(env: FederationEnv, instanceSet: string): Promise<Array<{ member: string; pod: k8s.V1Pod }>> {
  const out: Array<{ member: string; pod: k8s.V1Pod }> = [];
  await Promise.all(
    Object.keys(env.members).map(async (m) => {
      const core = env.member(m).admin.makeApiClient(k8s.CoreV1Api);
      const list = await Promise.race([core.listNamespacedPod({ namespace: env.namespace, labelSelector: `${LABELS.instanceSet}=${instanceSet}` }), sleep(2_000).then(() => undefined)]).catch(() => undefined);
      for (const pod of list?.items ?? []) out.push({ member: m, pod });
    }),
  );
  return out;
}
