// What a compile covers: the environments it renders (all, or the one asked for) and the order
// the topologies render in.
import type { Environment, Topology } from '../../schemas/types/index.js';
import type { Located } from '../load/index.js';
import type { ValidRepo } from '../validate/index.js';

/** Thrown for a compile request that cannot run (not a problem in the input files). */
export class UsageError extends Error {}

export function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Throws the usage error of a compile naming an environment the repository lacks. */
export function requireEnvironment(repo: ValidRepo, env: string | undefined): void {
  if (env === undefined || repo.environments.some((e) => e.value.name === env)) return;
  const known = repo.environments.map((e) => e.value.name).sort(byString);
  throw new UsageError(`unknown environment "${env}"; the repository has: ${known.join(', ') || '(none)'}`);
}

/** The environments a compile covers: all, or the one named by `env`. */
export function selectEnvironments(repo: ValidRepo, env: string | undefined): Environment[] {
  return repo.environments
    .map((e) => e.value)
    .filter((e) => env === undefined || e.name === env)
    .sort((a, b) => byString(a.name, b.name));
}

/** The order topologies render in: by name, then file. */
export function orderTopologies(repo: ValidRepo): Array<Located<Topology>> {
  return [...repo.topologies].sort((a, b) => byString(a.value.name, b.value.name) || byString(a.file, b.file));
}
