// The messages between a parallel compile's main thread and its render workers
// (compiler/parallel/render-worker.ts). Plain data only: it crosses threads by structured clone.
import type { Environment, Topology } from '../../schemas/types/index.js';
import type { PlaceProblem } from '../place/index.js';

/** What every job of one compile renders against; sent once to each worker. */
export interface RenderContext {
  envs: Environment[];
  /** Staging directory the workers write into (paths relative to it). */
  root: string;
}

/** Render a topology (its file and validated value) in environment `env` (index into the context). */
export interface RenderJob {
  env: number;
  file: string;
  topology: Topology;
}

/**
 * The written files as the main thread's checks need them (pipeline/rendered-file.ts FileHead),
 * flat because flat string arrays cross threads cheapest: per file HEAD_FIELDS strings, env,
 * member cluster, topology, apiVersion, kind, name, namespace ("" for none); the path is
 * derived from them (emit/paths.ts).
 */
export const HEAD_FIELDS = 7;

export interface JobOutcome {
  heads: string[];
  namespaces: Array<{ memberCluster: string; namespace: string }>;
  problems: PlaceProblem[];
}

export type Request =
  | { id: number; type: 'context'; context: RenderContext }
  | { id: number; type: 'render'; jobs: RenderJob[] }
  | { id: number; type: 'remove'; dirs: string[] };

export type Reply = { id: number; ok: true; outcomes?: JobOutcome[] } | { id: number; ok: false; message: string; stack?: string };

/** A request before the pool numbers it. */
export type RequestBody = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;
