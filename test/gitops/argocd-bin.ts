// Where the pinned Argo CD build lives (test/gitops/build-argocd.sh fills it): the `argocd` binary,
// its role symlinks, dbtopo-argocd-health and Argo CD's CRDs of the same version.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root, from the source tree or from dist/ (the first parent with test/cluster/versions.env). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 10; i++) {
    if (fs.existsSync(path.join(dir, 'test', 'cluster', 'versions.env'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`no checkout (test/cluster/versions.env) above ${fileURLToPath(import.meta.url)}`);
}

export const ARGOCD_FILES = [
  'argocd',
  'argocd-server',
  'argocd-repo-server',
  'argocd-application-controller',
  'argocd-applicationset-controller',
  'dbtopo-argocd-health',
] as const;

/** ARGOCD_VERSION from test/cluster/versions.env, the project's one versions file. */
export function argocdVersion(): string {
  const text = fs.readFileSync(path.join(repoRoot(), 'test', 'cluster', 'versions.env'), 'utf8');
  const m = /^\s*ARGOCD_VERSION=([^\s#]+)/m.exec(text);
  if (m?.[1] === undefined) throw new Error('test/cluster/versions.env must define ARGOCD_VERSION');
  return m[1];
}

export function cachedArgocdDir(): string {
  const cache = process.env['XDG_CACHE_HOME'] || path.join(os.homedir(), '.cache');
  return path.join(cache, 'dbtopo', 'argocd', argocdVersion());
}

export const ARGOCD_CRDS = ['application-crd.yaml', 'applicationset-crd.yaml', 'appproject-crd.yaml'] as const;

function missing(dir: string): string[] {
  const executables = ARGOCD_FILES.filter((f) => {
    try {
      fs.accessSync(path.join(dir, f), fs.constants.X_OK);
      return false;
    } catch {
      return true;
    }
  });
  return [...executables, ...ARGOCD_CRDS.map((c) => `crds/${c}`).filter((c) => !fs.existsSync(path.join(dir, c)))];
}

/** DBTOPO_ARGOCD_BIN_DIR or the build cache; throws with what to run when something is missing. */
export function resolveArgocdDir(): string {
  const dir = process.env['DBTOPO_ARGOCD_BIN_DIR'] || cachedArgocdDir();
  const gone = missing(dir);
  if (gone.length > 0) {
    throw new Error(`missing ${gone.join(', ')} in ${dir}; run test/gitops/ensure-argocd.sh (builds Argo CD ${argocdVersion()} from its Go module)`);
  }
  return dir;
}

/** Runs ensure-argocd.sh (a no-op on a warm cache; builds otherwise, progress on our stderr). */
export async function ensureArgocd(): Promise<string> {
  const script = path.join(repoRoot(), 'test', 'gitops', 'ensure-argocd.sh');
  return await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && dir !== '') resolve(dir);
      else reject(new Error(`${script} failed with exit code ${String(code)}`));
    });
  });
}
