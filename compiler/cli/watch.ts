// `dbtopo compile --watch`: recompile on every change under envs/ and topologies/ with the
// incremental compiler (only changed topologies are rendered, only changed files rewritten).

import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { IncrementalCompiler } from '../incremental.js';
import { hasErrors, printReport, progress, summary, type Format } from './output.js';

/** Runs until the process is interrupted; each burst of file events triggers one recompile. */
export async function watchAndCompile(repo: string, out: string, format: Format): Promise<never> {
  const compiler = new IncrementalCompiler(repo, out);
  const once = async (): Promise<void> => {
    const started = performance.now();
    const r = await compiler.compile();
    const ms = Math.round(performance.now() - started);
    printReport(format, { command: 'compile', ok: !hasErrors(r.diagnostics), diagnostics: r.diagnostics, files: r.files.length, ms });
    if (hasErrors(r.diagnostics)) progress(`${summary(r.diagnostics)}; output unchanged (${ms} ms)`);
    else progress(`${r.rendered} topologies rendered, ${r.reused} reused; ${r.written} files written, ${r.deleted} removed in ${ms} ms`);
  };
  await once();
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const schedule = (): void => {
    clearTimeout(timer);
    // Editors write in bursts (temp file, rename): compile once the burst is over.
    timer = setTimeout(() => {
      running = running.then(once).catch((err: unknown) => progress(`compile failed: ${err instanceof Error ? err.message : String(err)}`));
    }, 100);
  };
  const watchers: FSWatcher[] = ['envs', 'topologies'].map((dir) => watch(join(repo, dir), { recursive: true }, schedule));
  progress(`watching ${join(repo, 'envs')} and ${join(repo, 'topologies')}; Ctrl-C to stop`);
  return new Promise<never>(() => {
    process.once('SIGINT', () => {
      watchers.forEach((w) => w.close());
      process.exit(0);
    });
  });
}
