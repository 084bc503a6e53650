// Semantic rules on one environment file.
import type { Environment } from '../../schemas/types/environment.js';
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
  });
  for (const m of env.namespace.matchAll(/\{([a-z]+)\}/g)) {
    if (!(NAMESPACE_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
      report('DBT3121', ['namespace'], `namespace rule uses {${m[1]}}`);
    }
  }
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
