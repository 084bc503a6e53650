// A render worker's work, one request at a time: render jobs and write their YAML under the
// staging root, or remove directory trees. Writes are synchronous: this thread has nothing else
// to do, and sync writes cost a fraction of the CPU of promise-based ones.
import { mkdirSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { entriesOrNone } from './entries.js';
import { renderObjects } from '../render.js';
import { yamlFile } from '../emit/yaml.js';
import { headsOf } from '../pipeline/rendered-file.js';
import type { JobOutcome, RenderContext, RenderJob, Reply, Request } from './protocol.js';

let context: RenderContext | undefined;
/** Directories this worker already created (each is created once). */
const made = new Set<string>();

function renderJob(ctx: RenderContext, job: RenderJob): JobOutcome {
  const env = ctx.envs[job.env];
  if (!env) throw new Error(`render job for environment ${job.env}, the compile has ${ctx.envs.length}`);
  const { files, namespaces, problems } = renderObjects(env, job.topology, job.file);
  // A job is one topology in one environment: every object of its files is in `files`. The
  // objects that share a path make one file, in the order of their first object (as
  // emit/documents.ts joinDocuments), written as the YAML writer's bytes.
  const byPath = new Map<string, unknown[]>();
  for (const f of files) {
    const list = byPath.get(f.path);
    if (list) list.push(f.object);
    else byPath.set(f.path, [f.object]);
  }
  for (const [path, objects] of byPath) {
    const dir = path.slice(0, path.lastIndexOf('/'));
    if (!made.has(dir)) {
      mkdirSync(`${ctx.root}/${dir}`, { recursive: true });
      made.add(dir);
    }
    // Paths are relative and normalized (compiler/emit/paths.ts): no join() needed.
    writeFileSync(`${ctx.root}/${path}`, yamlFile(objects));
  }
  return { heads: headsOf(files), namespaces, problems };
}

/**
 * rm -r of a tree this compile's own format wrote (directories and regular files): the entry
 * types from readdir spare rmSync's lstat of every file.
 */
function removeTree(dir: string): void {
  for (const e of entriesOrNone(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) removeTree(path);
    else unlinkSync(path);
  }
  rmdirSync(dir);
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
        for (const d of req.dirs) removeTree(d);
        return { id: req.id, ok: true };
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { id: req.id, ok: false, message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) };
  }
}
