// A render worker's work, one request at a time: render jobs and write their YAML under the
// staging root, or remove directory trees. Writes are synchronous: this thread has nothing else
// to do, and sync writes cost a fraction of the CPU of promise-based ones.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderObjects } from '../compile.js';
import { toYaml } from '../emit/yaml.js';
import type { JobOutcome, RenderContext, RenderJob, Reply, Request } from './protocol.js';

let context: RenderContext | undefined;
/** Directories this worker already created (each is created once). */
const made = new Set<string>();

function renderJob(ctx: RenderContext, job: RenderJob): JobOutcome {
  const env = ctx.envs[job.env];
  if (!env) throw new Error(`render job for environment ${job.env}, the compile has ${ctx.envs.length}`);
  const { files, namespaces, problems } = renderObjects(env, job.topology, job.file);
  const out: JobOutcome = { files: [], namespaces, problems };
  for (const { path, object } of files) {
    const slash = path.lastIndexOf('/');
    const dir = path.slice(0, slash);
    if (!made.has(dir)) {
      mkdirSync(join(ctx.root, dir), { recursive: true });
      made.add(dir);
    }
    writeFileSync(join(ctx.root, path), toYaml(object));
    const { apiVersion, kind, metadata } = object;
    out.files.push(
      metadata.namespace !== undefined
        ? { path, apiVersion, kind, name: metadata.name, namespace: metadata.namespace }
        : { path, apiVersion, kind, name: metadata.name },
    );
  }
  return out;
}

export function handle(req: Request): Reply {
  try {
    switch (req.type) {
      case 'context':
        context = req.context;
        made.clear();
        return { id: req.id, ok: true };
      case 'render': {
        const ctx = context;
        if (!ctx) throw new Error('render request before the compile context');
        return { id: req.id, ok: true, outcomes: req.jobs.map((j) => renderJob(ctx, j)) };
      }
      case 'remove':
        for (const d of req.dirs) rmSync(d, { recursive: true, force: true });
        return { id: req.id, ok: true };
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { id: req.id, ok: false, message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) };
  }
}
