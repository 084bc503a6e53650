// Which GitOps repository a subcommand works on when --repo is not given: the current directory
// when it holds envs/, else the example repository embedded in the dbtopo checkout.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The embedded example: <checkout>/environments, found from this file (source or dist/). */
export function embeddedRepo(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'environments', 'envs'))) return join(dir, 'environments');
    dir = dirname(dir);
  }
  return undefined;
}

export function defaultRepo(cwd: string = process.cwd()): string {
  if (existsSync(join(cwd, 'envs'))) return cwd;
  return embeddedRepo() ?? cwd;
}

export function repoDir(option: string | undefined): string {
  return option !== undefined ? resolve(option) : defaultRepo();
}
