// The worker pool (pool.ts) as the compile pipeline's renderer (pipeline/pipeline.ts, step 3):
// jobs are handed to the render workers as validation finds them (prefetch), while the main
// thread parses on; the workers render them and write their YAML into the staging directory of
// the sink (emit/sinks.ts StagedTree), and send back only each file's head (placement, kind,
// name, namespace). Every file is a pure function of its topology and environment, so which
// worker renders which job changes nothing in the output.
//
// A render's files are made from its heads on first read only, and carry no object or text in
// this thread: both are computed again (once per topology and environment) on first read.
// `dbtopo compile` only counts them (render-topology.ts headsRender).
import type { Environment } from '../../schemas/types/index.js';
import type { Job, Renderer } from '../pipeline/pipeline.js';
import { renderState } from '../emit/sinks.js';
import { renderJson } from '../emit/state.js';
import { kindHeads } from '../pipeline/assemble.js';
import { ObjectOwners, type HeadFile, type RenderOutline } from '../pipeline/rendered-file.js';
import { headsRender, placeDiagnostics } from '../pipeline/render-topology.js';
import type { WorkerPool } from './pool.js';
import type { RenderJob } from './protocol.js';

/** Jobs per request: small enough to balance two busy threads, large enough that messages are few. */
const BATCH = 25;

const jobKey = (job: Job): string => `${job.env.name}\0${job.topo.file}`;
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class PoolRenderer implements Renderer<HeadFile> {
  private envIndex = new Map<string, number>();
  private ready: Promise<unknown> | undefined;
  private readonly owners = new ObjectOwners();
  /** Every job handed out, by environment and file. */
  private readonly renders = new Map<string, Promise<RenderOutline<HeadFile>>>();

  /** `root`: the staging directory the workers write the files into; `state`: the compile records its state (emit/state.ts). */
  constructor(
    private readonly pool: WorkerPool,
    private readonly root: string,
    private readonly opts: { state: boolean },
  ) {}

  begin(envs: readonly Environment[]): void {
    this.envIndex = new Map(envs.map((e, i) => [e.name, i]));
    this.ready = this.pool.all({ type: 'context', context: { envs: [...envs], root: this.root } });
    this.ready.catch(() => undefined); // awaited in render(); a failure must not count as unhandled meanwhile
  }

  /** Hands the jobs out, then lets a turn of the event loop pass so replies come in and every worker stays fed. */
  prefetch(jobs: readonly Job[]): Promise<void> {
    this.submit(jobs);
    return nextTurn();
  }

  async render(jobs: readonly Job[]): Promise<Array<RenderOutline<HeadFile>>> {
    this.submit(jobs);
    await this.ready;
    return Promise.all(jobs.map((j) => this.renders.get(jobKey(j)) ?? Promise.reject(new Error(`internal error: no render of ${j.topo.file}`))));
  }

  private submit(jobs: readonly Job[]): void {
    const fresh = jobs.filter((j) => !this.renders.has(jobKey(j)));
    for (let i = 0; i < fresh.length; i += BATCH) {
      const batch = fresh.slice(i, i + BATCH);
      const request = {
        type: 'render' as const,
        jobs: batch.map(({ env, topo }): RenderJob => ({ env: this.envIndex.get(env.name) ?? -1, file: topo.file, topology: topo.value })),
      };
      const reply = this.pool.submit(request);
      batch.forEach((job, k) => {
        const render = reply.then((r): RenderOutline<HeadFile> => {
          const outcome = r.outcomes?.[k];
          if (!outcome) throw new Error(`render worker gave no answer for ${job.topo.file}`);
          const outline = headsRender(job.env, job.topo, { heads: outcome.heads, namespaces: outcome.namespaces, diagnostics: placeDiagnostics(job.env, job.topo, outcome.problems) });
          // What the steps after the last render read of it, computed now, while the workers
          // render on (all are kept): its objects' owners, its first head of each kind, and its
          // text in the compile state.
          this.owners.add(outcome.heads, job.topo.file);
          outline.owners = this.owners;
          kindHeads(outline);
          if (this.opts.state) renderJson(renderState(outline));
          return outline;
        });
        render.catch(() => undefined); // a prefetched job may never be asked for; render() awaits the others
        this.renders.set(jobKey(job), render);
      });
    }
  }
}
