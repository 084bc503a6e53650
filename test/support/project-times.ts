// A vitest reporter that prints, when the run ends, how long each project's files took (the sum
// of their durations; projects run one after the other, cheapest first) and how many tests each
// ran, so CI logs show where the suite's time goes. Counted as each file ends: the module list
// handed to onTestRunEnd missed a whole project (e2e) in a full run.
import type { Reporter, TestModule } from 'vitest/node';

interface Row {
  ms: number;
  files: number;
  tests: number;
  failed: number;
}

export default class ProjectTimes implements Reporter {
  private readonly rows = new Map<string, Row>();

  onTestModuleEnd(m: TestModule): void {
    const name = m.project.name || '(default)';
    const row = this.rows.get(name) ?? { ms: 0, files: 0, tests: 0, failed: 0 };
    row.ms += m.diagnostic().duration;
    row.files += 1;
    for (const t of m.children.allTests()) {
      row.tests += 1;
      if (t.result().state === 'failed') row.failed += 1;
    }
    this.rows.set(name, row);
  }

  onTestRunEnd(): void {
    const lines = [...this.rows.entries()].map(
      ([name, r]) => `  ${name.padEnd(8)} ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${String(r.files).padStart(3)} files  ${String(r.tests).padStart(4)} tests  ${r.failed} failed`,
    );
    process.stdout.write(`\nproject times:\n${lines.join('\n')}\n`);
  }
}
