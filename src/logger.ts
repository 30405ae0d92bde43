/**
 * Structured JSON logs (pino). Whatever a log call is handed, credentials never reach the
 * output: the paths below are replaced by "[Redacted]" before serialisation.
 */
import pino, { type Logger, type LoggerOptions } from 'pino';

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'headers.authorization',
  'authorization',
  'client_secret',
  'secret',
  'access_token',
  'token',
  '*.client_secret',
  '*.secret',
  '*.access_token',
  '*.token',
  '*.authorization',
];

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[Redacted]' },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level));
}

/** What a service needs to log a line: the process logger, or a request's (which adds its reqId). */
export type LogSink = Pick<pino.BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;
