// A vitest reporter that prints, when the run ends, each project's wall-clock time (projects run
// one after the other, cheapest first: from its first file's start to its last file's end, global
// setup excluded) and how many files and tests it ran, so CI logs show where the suite's time goes.
// Taken from the clock as files start and end: summing each file's own diagnostic() left a whole
// project (e2e) out of a full run.
import type { Reporter, TestModule } from 'vitest/node';

interface Row {
  start: number;
  end: number;
  files: number;
  tests: number;
  failed: number;
}

export default class ProjectTimes implements Reporter {
  private readonly rows = new Map<string, Row>();

  private row(m: TestModule): Row {
    const name = m.project.name || '(default)';
    let row = this.rows.get(name);
    if (row === undefined) {
      row = { start: Date.now(), end: Date.now(), files: 0, tests: 0, failed: 0 };
      this.rows.set(name, row);
    }
    return row;
  }

  onTestModuleStart(m: TestModule): void {
    this.row(m);
  }

  onTestModuleEnd(m: TestModule): void {
    const row = this.row(m);
    row.end = Date.now();
    row.files += 1;
    try {
      for (const t of m.children.allTests()) {
        row.tests += 1;
        if (t.result().state === 'failed') row.failed += 1;
      }
    } catch {
      // counts are best effort; the time is not
    }
  }

  onTestRunEnd(): void {
    const lines = [...this.rows.entries()].map(
      ([name, r]) => `  ${name.padEnd(8)} ${((r.end - r.start) / 1000).toFixed(1).padStart(7)} s  ${String(r.files).padStart(3)} files  ${String(r.tests).padStart(4)} tests  ${r.failed} failed`,
    );
    process.stdout.write(`\nproject times (wall clock):\n${lines.join('\n')}\n`);
  }
}
