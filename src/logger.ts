/**
 * Structured JSON logs (pino). Whatever a log call is handed, credentials never reach the
 * output: the paths below are replaced by "[Redacted]" before serialisation.
 *
 * Redaction is pino's own, applied only where it can change something. With `redact` set,
 * pino runs every value of every line (a status code, a path...) through a redactor as
 * soon as one path starts with a wildcard (`*.token`): about 6 µs of CPU a line, the
 * largest cost of the access log. Here a check that reads only the keys a path could name
 * (a few property lookups) lets the lines that hold none of them through untouched; a line
 * that holds one goes through the same redactors (@pinojs/redact, built from the same
 * paths, shaped per top-level key as pino shapes them), after the serialisers, as in pino.
 * test/logger.test.ts checks that both give the same lines.
 *
 * Lines are handed to the writer once per turn of the event loop rather than once each:
 * what is logged during a turn is joined and handed over at the end of it (or at 64 KiB),
 * so under load one write carries many access-log lines. The writer is pino's default
 * one (sonic-boom, asynchronous, flushed synchronously at exit); nothing waits longer
 * than the turn that logged it, and the pending text is written when the process exits.
 */
import Redact from '@pinojs/redact';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

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

const CENSOR = '[Redacted]';

/** A path's segments: `a.b["c-d"]` is a, b, c-d (the syntax pino and @pinojs/redact read). */
function segments(path: string): string[] {
  return [...path.matchAll(/[^.[\]]+|\[([^[\]]*?)\]/g)].map((match) => (match[1] ?? match[0]).replace(/^(["'`])(.*)\1$/, '$2'));
}

type Redactor = (value: unknown) => unknown;
const redactor = (paths: string[]): Redactor => Redact({ paths, censor: CENSOR, serialize: false, strict: false }) as Redactor;

interface KeyRule {
  /** The whole value is censored (a top-level path). */
  censor: boolean;
  /** The paths below this key, and what their first segment may be (the fast check). */
  firsts: readonly string[];
  redact?: Redactor;
}

/**
 * What the paths say of each top-level key, as pino's redaction.js shapes them: a
 * top-level path censors the key's whole value; deeper paths (the wildcard's ones apply
 * under every key) redact inside it.
 */
function compileRules(paths: readonly string[]): { byKey: Map<string, KeyRule>; other: KeyRule; format: Redactor } {
  const top = new Set<string>();
  const below = new Map<string, string[]>();
  const wildcard: string[] = [];
  for (const path of paths) {
    const [first, ...rest] = segments(path);
    if (first === undefined) continue;
    if (rest.length === 0) top.add(first);
    else if (first === '*') wildcard.push(rest.join('.'));
    else below.set(first, [...(below.get(first) ?? []), quotedPath(rest)]);
  }
  const rule = (nested: string[]): KeyRule =>
    nested.length === 0 ? { censor: false, firsts: [] } : { censor: false, firsts: [...new Set(nested.map((p) => segments(p)[0]!))], redact: redactor(nested) };
  const byKey = new Map<string, KeyRule>();
  for (const key of top) byKey.set(key, { censor: true, firsts: [] });
  for (const [key, nested] of below) if (!top.has(key)) byKey.set(key, rule([...nested, ...wildcard]));
  return { byKey, other: rule(wildcard), format: redactor([...paths]) };
}

function quotedPath(parts: readonly string[]): string {
  return parts.map((part, i) => (/^[A-Za-z_$][\w$]*$/.test(part) ? `${i === 0 ? '' : '.'}${part}` : `[${JSON.stringify(part)}]`)).join('');
}

/** Values already serialised here (see `serializers` below): pino must not serialise them again. */
const serialised = new WeakSet<object>();
const errSerializer = pino.stdSerializers.err;

function serializeError(value: unknown): unknown {
  return typeof value === 'object' && value !== null && serialised.has(value) ? value : errSerializer(value as Error);
}

/**
 * The object as pino's redaction would leave it: the same object when no path can match
 * (the common case, nothing copied), else a copy with the matching values censored.
 */
export function redactingFormatter(paths: readonly string[], serializers: Record<string, (value: unknown) => unknown>) {
  const { byKey, other, format } = compileRules(paths);
  const redactObject = (object: Record<string, unknown>): Record<string, unknown> => {
    let copy: Record<string, unknown> | undefined;
    for (const key in object) {
      if (!Object.prototype.hasOwnProperty.call(object, key)) continue;
      let value = object[key];
      if (value === undefined) continue;
      const rule = byKey.get(key) ?? other;
      if (rule.censor) {
        (copy ??= { ...object })[key] = CENSOR;
        continue;
      }
      if (rule.redact === undefined || typeof value !== 'object' || value === null || !rule.firsts.some((first) => first in (value as object))) continue;
      // pino redacts what the serialiser made of the value.
      const serializer = serializers[key];
      if (serializer !== undefined) {
        value = serializer(value);
        if (typeof value !== 'object' || value === null) {
          (copy ??= { ...object })[key] = value;
          continue;
        }
      }
      const redacted = rule.redact(value);
      if (typeof redacted === 'object' && redacted !== null) serialised.add(redacted);
      (copy ??= { ...object })[key] = redacted;
    }
    return copy ?? object;
  };
  return { redactObject, redactFormatArgument: (value: unknown) => (typeof value === 'object' && value !== null ? format(value) : value) };
}

/** Writes what a turn of the event loop logged in one write (at most MAX_PENDING characters wait). */
const MAX_PENDING = 64 * 1024;

export class TurnBufferedDestination implements DestinationStream {
  private pending = '';
  private scheduled = false;
  private readonly flushLater = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(private readonly target: DestinationStream & { flushSync?: () => void }) {
    // Ahead of pino's own exit handler, which flushes and ends the target.
    process.prependOnceListener('exit', () => this.flushSync());
  }

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= MAX_PENDING) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushLater);
    }
  }

  /** Writes what is pending now (pino's logger.flush() calls it with a callback). */
  flush(done?: (error?: Error) => void): void {
    if (this.pending !== '') {
      const text = this.pending;
      this.pending = '';
      this.target.write(text);
    }
    done?.();
  }

  flushSync(): void {
    this.flush();
    this.target.flushSync?.();
  }
}

const serializers = { err: serializeError };
const { redactObject, redactFormatArgument } = redactingFormatter(REDACTED_PATHS, serializers);

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    serializers,
    formatters: { log: redactObject, bindings: redactObject },
    hooks: {
      // Objects interpolated into the message (`%j`, `%o`) are redacted as a whole, as pino does.
      logMethod(args, method) {
        if (args.length > 1) {
          const first = typeof args[0] === 'string' ? 1 : 2;
          for (let i = first; i < args.length; i++) args[i] = redactFormatArgument(args[i]);
        }
        return method.apply(this, args);
      },
    },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
}

/**
 * pino gives a root logger's `formatters.bindings` the root's bindings only, not a
 * child's: the children's bindings are redacted here, on their way in (every child of the
 * logger, and their children, inherit this `child`).
 */
export function redactChildBindings<L extends Logger>(logger: L): L {
  const child = logger.child as (this: unknown, bindings: pino.Bindings, options?: unknown) => unknown;
  Object.defineProperty(logger, 'child', {
    value: function (this: unknown, bindings: pino.Bindings, options?: unknown) {
      return child.call(this, redactObject(bindings) as pino.Bindings, options);
    },
    writable: true,
    configurable: true,
  });
  return logger;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  // Asynchronous writes (libuv's thread pool), as pino's default destination: a slow disk
  // or a full pipe never holds the event loop. Synchronous writes did, under a busy disk.
  return redactChildBindings(pino(loggerOptions(level), destination ?? new TurnBufferedDestination(pino.destination({ dest: 1, sync: false }))));
}

/** What a service needs to log a line: the process logger, or a request's (which adds its reqId). */
export type LogSink = Pick<pino.BaseLogger, 'debug' | 'info' | 'warn' | 'error'>;
