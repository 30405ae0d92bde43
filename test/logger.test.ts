/**
 * The logger's redaction gives the very lines pino's own `redact` option gives (same
 * paths, same censor), for lines with and without anything to redact; the objects handed
 * to it are left as they were; and the turn-buffered destination writes every line, in
 * order, once the turn ends.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { REDACTED_PATHS, TurnBufferedDestination, loggerOptions, redactChildBindings } from '../src/logger.js';

class Lines extends Writable {
  readonly text: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text.push(chunk.toString('utf8'));
    done();
  }
}

/** Both loggers, with a fixed time and pid so their lines can be compared as text. */
function loggers() {
  const ours = new Lines();
  const pinos = new Lines();
  const fixed = { timestamp: () => ',"time":"T"', base: { pid: 1 } };
  const a = redactChildBindings(pino({ ...loggerOptions('debug'), ...fixed }, ours));
  const b = pino({ level: 'debug', redact: { paths: REDACTED_PATHS, censor: '[Redacted]' }, ...fixed }, pinos);
  return { a, b, ours, pinos };
}

class CustomError extends Error {
  token = 'error-token';
  code = 'E_X';
}

const cases: [string, unknown[]][] = [
  ['the access line', [{ method: 'GET', path: '/x', status: 200, ms: 0.6 }, 'request']],
  ['a message alone', ['hello']],
  ['top-level secrets', [{ client_secret: 's1', secret: 's2', access_token: 'a', token: 't', authorization: 'Bearer x', other: 1 }, 'm']],
  ['nested under any key', [{ body: { client_secret: 's', token: 't', keep: 'k' }, list: [{ token: 'not a path' }], n: null }, 'm']],
  ['request headers', [{ req: { headers: { authorization: 'Bearer a', cookie: 'c', 'proxy-authorization': 'p', host: 'h' }, url: '/' } }, 'm']],
  ['headers at top', [{ headers: { authorization: 'Bearer a', accept: '*/*' } }, 'm']],
  ['a request without secrets', [{ req: { headers: { host: 'h' } }, headers: { accept: 'x' } }, 'm']],
  ['an error with a token', [{ err: new CustomError('boom') }, 'failed']],
  ['an error alone', [new CustomError('alone')]],
  ['a plain error', [{ err: new Error('plain'), event: 'x' }, 'm']],
  ['a nested error', [{ cause: new CustomError('nested') }, 'm']],
  ['interpolated objects', ['value %j and %o', { token: 't', a: 1 }, { deep: { secret: 's' } }]],
  ['an object and interpolation', [{ a: 1, token: 't' }, 'value %j', { secret: 's', b: 2 }]],
  ['undefined and functions', [{ token: undefined, f: () => 1, x: { secret: undefined } }, 'm']],
];

describe('logger redaction', () => {
  for (const [name, args] of cases) {
    it(`gives pino's own line: ${name}`, () => {
      const { a, b, ours, pinos } = loggers();
      (a.info as (...x: unknown[]) => void)(...args);
      (b.info as (...x: unknown[]) => void)(...args);
      expect(ours.text.join('').replace(/"stack":"[^"]*"/g, '"stack":"S"')).toBe(pinos.text.join('').replace(/"stack":"[^"]*"/g, '"stack":"S"'));
    });
  }

  it("redacts a child's bindings as pino does", () => {
    const { a, b, ours, pinos } = loggers();
    a.child({ reqId: 'r', token: 't', ctx: { secret: 's', k: 1 } }).info({ x: 1 }, 'm');
    b.child({ reqId: 'r', token: 't', ctx: { secret: 's', k: 1 } }).info({ x: 1 }, 'm');
    expect(ours.text.join('')).toBe(pinos.text.join(''));
    expect(ours.text.join('')).not.toContain('"s"');
  });

  it("redacts a grandchild's bindings as pino does", () => {
    const { a, b, ours, pinos } = loggers();
    a.child({ reqId: 'r' }).child({ secret: 's', req: { headers: { cookie: 'c' } } }).warn('m');
    b.child({ reqId: 'r' }).child({ secret: 's', req: { headers: { cookie: 'c' } } }).warn('m');
    expect(ours.text.join('')).toBe(pinos.text.join(''));
  });

  it('leaves the logged objects as they were', () => {
    const { a } = loggers();
    const object = { token: 't', body: { client_secret: 's' }, req: { headers: { authorization: 'Bearer a' } } };
    const error = new CustomError('e');
    a.info(object, 'm');
    a.info({ err: error }, 'm');
    expect(object).toEqual({ token: 't', body: { client_secret: 's' }, req: { headers: { authorization: 'Bearer a' } } });
    expect(error.token).toBe('error-token');
  });
});

describe('TurnBufferedDestination', () => {
  it('writes the lines of a turn once, in order, after the turn', async () => {
    const writes: string[] = [];
    const destination = new TurnBufferedDestination({ write: (text: string) => void writes.push(text) });
    destination.write('a\n');
    destination.write('b\n');
    expect(writes).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toEqual(['a\nb\n']);
    destination.write('c\n');
    destination.flushSync();
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });

  it('does not hold more than 64 KiB', () => {
    const writes: string[] = [];
    const destination = new TurnBufferedDestination({ write: (text: string) => void writes.push(text) });
    const line = `${'x'.repeat(1023)}\n`;
    for (let i = 0; i < 64; i++) destination.write(line);
    expect(writes.join('').length).toBe(64 * 1024);
  });
});
