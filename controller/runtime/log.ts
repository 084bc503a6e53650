// Structured JSON logs (pino) on stdout; one child logger per component.
import { pino, type Logger } from 'pino';

export function makeLogger(level: string = process.env['DBTOPO_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, base: { component: 'dbtopo-controller' }, timestamp: pino.stdTimeFunctions.isoTime });
}
