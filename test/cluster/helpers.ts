// Helpers for tests that talk to the test control planes started by global-setup.ts.
import * as fs from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { inject } from 'vitest';

/** member cluster name → kubeconfig path, from vitest's provide/inject or DBTOPO_TEST_KUBECONFIGS. */
export function testKubeconfigs(): Record<string, string> {
  const injected = inject('kubeconfigs');
  if (injected !== undefined && Object.keys(injected).length > 0) return injected;
  const file = process.env['DBTOPO_TEST_KUBECONFIGS'];
  if (file) {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (parsed !== null && typeof parsed === 'object') {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
      return out;
    }
  }
  throw new Error('no test control plane: run inside the vitest `cluster` project or set DBTOPO_TEST_KUBECONFIGS');
}

export function kubeConfigFor(member: string): k8s.KubeConfig {
  const file = testKubeconfigs()[member];
  if (file === undefined) throw new Error(`no control plane named ${member}`);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value other than undefined; bounded by time and attempts. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / intervalMs) + 1;
  let lastError: unknown;
  for (let i = 0; i < maxAttempts && Date.now() <= deadline; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${detail}`);
}

export function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

/**
 * Creates a namespace that enforces Pod Security `restricted` (latest) and waits until its
 * `default` ServiceAccount exists (the ServiceAccount admission plugin needs it for pods).
 */
export async function createTestNamespace(kc: k8s.KubeConfig, name: string): Promise<k8s.V1Namespace> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = await core.createNamespace({
    body: {
      metadata: {
        name,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'dbtopo.dev/test': 'true',
        },
      },
    },
  });
  await eventually(`serviceaccount ${name}/default`, async () => {
    await core.readNamespacedServiceAccount({ namespace: name, name: 'default' });
    return true;
  });
  return ns;
}

/** Deletes a namespace without waiting for its finalization. */
export async function deleteTestNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  try {
    await core.deleteNamespace({ name });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** A pod that passes Pod Security `restricted`. */
export function restrictedPod(name: string, image = 'registry.k8s.io/pause:3.10'): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'main',
          image,
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
          },
        },
      ],
    },
  };
}
