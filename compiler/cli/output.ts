// How subcommands report: diagnostics on stdout (text or JSON), progress on stderr.

import { formatDiagnostic, hasErrors, type Diagnostic } from '../diagnostics.js';

export type Format = 'text' | 'json';

export function parseFormat(value: string): Format {
  if (value === 'text' || value === 'json') return value;
  throw new FormatError(`--format must be text or json, not "${value}"`);
}

export class FormatError extends Error {}

export interface Report {
  command: string;
  ok: boolean;
  diagnostics: Diagnostic[];
  [extra: string]: unknown;
}

export function printReport(format: Format, report: Report, out: NodeJS.WritableStream = process.stdout): void {
  if (format === 'json') {
    out.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  for (const d of report.diagnostics) out.write(`${formatDiagnostic(d)}\n`);
}

export function summary(ds: readonly Diagnostic[]): string {
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  return `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
}

export function progress(message: string): void {
  process.stderr.write(`dbtopo: ${message}\n`);
}

export { hasErrors };
