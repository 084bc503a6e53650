// The in-thread render of one topology in one environment: its files (YAML text rendered on first
// read) and its placement problems located in the topology file.
import type { Environment, KubeObject, Topology } from '../../schemas/types/index.js';
import type { Diagnostic } from '../diagnostics.js';
import { toYaml } from '../emit/yaml.js';
import type { Located } from '../load/index.js';
import type { PlaceProblem } from '../place/index.js';
import { renderObjects } from '../render.js';
import { overrideSource } from '../resolve/override.js';
import type { TopologyRender } from './rendered-file.js';

/** Placement problems of a topology in an environment, located in its file. */
export function placeDiagnostics(env: Environment, topo: Located<Topology>, problems: readonly PlaceProblem[]): Diagnostic[] {
  return problems.map((p) => {
    const at = topo.locate(overrideSource(topo.value, env.name, p.path));
    return { file: topo.file, line: at.line, col: at.col, code: p.code, severity: p.severity, message: `${p.message} (environment ${env.name})`, hint: p.hint };
  });
}

export function renderTopology(env: Environment, topo: Located<Topology>): TopologyRender {
  const { files, namespaces, problems } = renderObjects(env, topo.value, topo.file);
  return {
    env: env.name,
    source: topo.file,
    files: files.map((f) => withLazyText({ ...f, source: topo.file })),
    namespaces,
    diagnostics: placeDiagnostics(env, topo, problems),
  };
}

/**
 * The YAML text is rendered on first read and kept: writing reads it once, while in-memory users
 * that only look at objects (`dbtopo plan` compiles two whole repos) never pay for it.
 */
function withLazyText<T extends { object: KubeObject }>(f: T): T & { text: string } {
  let text: string | undefined;
  return Object.defineProperty(f, 'text', { enumerable: true, configurable: true, get: () => (text ??= toYaml(f.object)) }) as T & { text: string };
}
