// A diagnostic is the only way the compiler reports bad input: located, coded, with a hint.
import { CODES, type Code } from './diagnostics/codes.js';

export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  /** DBT1xxx load, DBT2xxx schema, DBT3xxx semantic, DBT4xxx policy, DBT5xxx expand/emit, DBT9xxx cli. */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  hint: string;
}

export interface Position {
  line: number;
  col: number;
}

/** Builds a diagnostic from the catalogue; `hint` replaces the catalogue's default when given. */
export function diagnostic(code: Code, file: string, at: Position, message: string, hint?: string): Diagnostic {
  const info = CODES[code];
  return { file, line: at.line, col: at.col, code, severity: info.severity, message, hint: hint ?? info.hint };
}

export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

export function hasErrors(ds: ReadonlyArray<Diagnostic>): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Stable order for output and tests: by file, position, then code. */
export function sortDiagnostics(ds: ReadonlyArray<Diagnostic>): Diagnostic[] {
  return [...ds].sort(
    (a, b) =>
      cmp(a.file, b.file) || a.line - b.line || a.col - b.col || cmp(a.code, b.code) || cmp(a.message, b.message),
  );
}

/** Drops exact repeats (the same rule can fire for a base topology and for an unchanged override). */
export function dedupeDiagnostics(ds: ReadonlyArray<Diagnostic>): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.file}\0${d.line}\0${d.col}\0${d.code}\0${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
