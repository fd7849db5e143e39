/** JSON logs (pino) for every herald process; one logger, children per component. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.HERALD_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'herald' } });
}

/** For tests and library callers that do not want output. */
export const silentLogger: Logger = pino({ level: 'silent' });
