/** JSON logs (pino) for every herald process; one logger, children per component. */
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Log an error as `{ err }` (the Error itself, never String(err)): this
 * serializer writes its type, message, stack, own fields (a KubeApiError's
 * status, a system error's code) and its `cause` chain as nested objects. A
 * thrown value that is not an Error (a string, say) is written as it is.
 * Children inherit it.
 */
const serializers: LoggerOptions['serializers'] = { err: pino.stdSerializers.errWithCause };

export function createLogger(level: string = process.env.HERALD_LOG_LEVEL ?? 'info', destination?: DestinationStream): Logger {
  const options: LoggerOptions = { level, base: { app: 'herald' }, serializers };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** For tests and library callers that do not want output. */
export const silentLogger: Logger = pino({ level: 'silent', serializers });
