// Structured JSON logs (pino) with the service name on every line.
import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(service: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
