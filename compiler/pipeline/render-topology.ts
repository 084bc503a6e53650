// The in-thread render of one topology in one environment: its files (YAML text rendered on first
// read) and its placement problems located in the topology file; and a render known by the heads
// of its files (the state of an earlier compile), rendered again in this thread on first read.
import type { Environment, KubeObject, Topology } from '../../schemas/types/index.js';
import type { Diagnostic } from '../diagnostics.js';
import { toYaml } from '../emit/yaml.js';
import type { Located } from '../load/index.js';
import type { PlaceProblem } from '../place/index.js';
import { renderObjects } from '../render.js';
import { overrideSource } from '../resolve/override.js';
import { filesOfHeads, type HeadFile, type RenderOutline, type TopologyRender } from './rendered-file.js';

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

/** What a state (emit/state.ts RenderState) keeps of a render. */
export interface KeptRender {
  heads: readonly string[];
  namespaces: ReadonlyArray<{ memberCluster: string; namespace: string }>;
  diagnostics: readonly Diagnostic[];
}

/**
 * A render known by the heads of its files (a render worker's reply, or the state of an earlier
 * compile): its files are made on first read only, each rendered again in this thread on first
 * read of its object or text. `dbtopo compile` never reads them: the checks across files, the
 * shared files, the state and the count work on the heads (62,644 files for 1,000 topologies ×
 * 3 environments; making them as replies arrived cost the main thread ~0.1 s of a 2 s compile).
 */
export function headsRender(env: Environment, topo: Located<Topology>, kept: KeptRender): RenderOutline<HeadFile> {
  let again: TopologyRender | undefined;
  let files: HeadFile[] | undefined;
  return {
    env: env.name,
    get files() {
      return (files ??= filesOfHeads(kept.heads, topo.file, () => (again ??= renderTopology(env, topo))));
    },
    heads: kept.heads,
    namespaces: kept.namespaces,
    diagnostics: kept.diagnostics,
  };
}

/** A render of an earlier compile without errors, from its heads (headsRender). */
export function keptRender(env: Environment, topo: Located<Topology>, kept: KeptRender): RenderOutline<HeadFile> {
  return Object.assign(headsRender(env, topo, kept), { checked: true });
}
