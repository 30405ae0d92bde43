/**
 * Django's pbkdf2_sha256 client-secret hashes (La Suite Meet's applications): the format
 * against Django's own test vectors and the formula computed here with node:crypto, the
 * refusal of every other hasher (logged with the client id only), the cache of verified
 * secrets, the cap on concurrent derivations, and an unknown client costing what a wrong
 * secret costs.
 */
import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/errors.js';
import type { LogSink } from '../src/logger.js';
import {
  DJANGO_PBKDF2_ITERATIONS,
  DjangoSecretVerifier,
  TOO_MANY_CHECKS,
  makeDjangoPbkdf2Hash,
} from '../src/applications/django-hashes.js';

/** The formula, written out independently of the module. */
function djangoHash(secret: string, salt: string, iterations: number): string {
  return `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(secret, salt, iterations, 32, 'sha256').toString('base64')}`;
}

/** A LogSink that keeps what it is handed. */
function recordingLog(): LogSink & { lines: { level: string; obj: unknown; msg: unknown }[] } {
  const lines: { level: string; obj: unknown; msg: unknown }[] = [];
  const at =
    (level: string) =>
    (obj: unknown, msg?: unknown): void => {
      lines.push({ level, obj, msg });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as LogSink & {
    lines: typeof lines;
  };
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = process.hrtime.bigint();
  const value = await run();
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

const SECRET = 'k3Hq9ZrVbN2xWm7TfLp4YcJd8GsAe6Ru';

describe('makeDjangoPbkdf2Hash', () => {
  it('writes pbkdf2_sha256$iterations$salt$hash with a 22-character [a-zA-Z0-9] salt and the formula', async () => {
    const hash = await makeDjangoPbkdf2Hash(SECRET, 1000);
    const match = /^pbkdf2_sha256\$1000\$([A-Za-z0-9]{22})\$([A-Za-z0-9+/]{43}=)$/.exec(hash);
    expect(match, hash).not.toBeNull();
    expect(hash).toBe(djangoHash(SECRET, match![1]!, 1000));
    expect(await makeDjangoPbkdf2Hash(SECRET, 1000)).not.toBe(hash); // a fresh salt each time
  });

  it('uses 1,000,000 iterations by default, as Django 5.2 does', async () => {
    expect(DJANGO_PBKDF2_ITERATIONS).toBe(1_000_000);
    const hash = await makeDjangoPbkdf2Hash(SECRET);
    expect(hash.split('$')[1]).toBe('1000000');
    expect(await new DjangoSecretVerifier().verify('client', SECRET, hash)).toBe(true);
  });
});

describe('DjangoSecretVerifier', () => {
  it("verifies Django's own test vectors (auth_tests.test_hashers: make_password('lètmein', 'seasalt'))", async () => {
    const verifier = new DjangoSecretVerifier({ cacheSize: 0 });
    const vectors = [
      // Django 5.2 (1,000,000 iterations), 5.1 (870,000), 1.5 (10,000).
      'pbkdf2_sha256$1000000$seasalt$r1uLUxoxpP2Ued/qxvmje7UH9PUJBkRrvf9gGPL7Cps=',
      'pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=',
      'pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY=',
    ];
    for (const vector of vectors) {
      expect(await verifier.verify('client', 'lètmein', vector), vector).toBe(true);
      expect(await verifier.verify('client', 'letmein', vector), vector).toBe(false);
    }
  });

  it('verifies a hash computed from the formula, and refuses a wrong secret', async () => {
    const verifier = new DjangoSecretVerifier();
    const stored = djangoHash(SECRET, 'AbCdEfGhIjKlMnOpQrStUv', 1000);
    expect(await verifier.verify('client', SECRET, stored)).toBe(true);
    expect(await verifier.verify('client', `${SECRET}x`, stored)).toBe(false);
    expect(await verifier.verify('client', SECRET.slice(1), stored)).toBe(false);
    expect(await verifier.verify('client', '', stored)).toBe(false);
    // Salts of any characters but '$' (Django's own rule) are read as UTF-8.
    const oddSalt = djangoHash(SECRET, 'sél+/=', 1000);
    expect(await verifier.verify('client', SECRET, oddSalt)).toBe(true);
  });

  it('refuses other hashers and shapes, logging the client id and hasher but never the secret or the hash', async () => {
    const log = recordingLog();
    const verifier = new DjangoSecretVerifier({ log });
    const good = djangoHash(SECRET, 'saltsaltsalt', 1000);
    const others: [string, string][] = [
      ['argon2', 'argon2$argon2id$v=19$m=102400,t=2,p=8$c29tZXNhbHQ$Jg6HqSqN4pBcRaWzhjuuOg'],
      ['bcrypt_sha256', 'bcrypt_sha256$$2b$12$LdLqEIs3GjtsDE0kOdgBBuJwRu5FCR/Pv9J6tH6c9ke4yRRR2Cqdq'],
      ['sha1', 'sha1$seasalt$cff36ea83f5706ce9aa7454e63e431fc726b2dc8'],
      ['pbkdf2_sha1', 'pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I='],
      ['pbkdf2_sha256', good.replace(/=$/, '')], // base64 without its padding
      ['pbkdf2_sha256', good.replace('$1000$', '$0$')],
      ['pbkdf2_sha256', good.replace('$1000$', '$abc$')],
      ['pbkdf2_sha256', `${good}$extra`],
      ['pbkdf2_sha256', 'pbkdf2_sha256$1000$$' + good.split('$')[3]], // empty salt
      ['unrecognised', SECRET], // a secret stored in clear: refused, and not named in the log
      ['unrecognised', 'garbage'],
      ['unrecognised', ''],
    ];
    for (const [index, [hasher, stored]] of others.entries()) {
      const clientId = `client-${index}`;
      expect(await verifier.verify(clientId, SECRET, stored), stored).toBe(false);
      const line = log.lines.find((l) => (l.obj as { clientId?: string }).clientId === clientId);
      expect(line, stored).toMatchObject({ level: 'warn', obj: { clientId, hasher } });
      const written = JSON.stringify(line);
      expect(written).not.toContain(SECRET);
      if (stored.length > 4) expect(written).not.toContain(stored.split('$').at(-1));
    }
    // Once a minute per client, not once per attempt.
    const before = log.lines.length;
    await verifier.verify('client-0', SECRET, others[0]![1]);
    expect(log.lines.length).toBe(before);
  });

  it('remembers a verified secret: the second check costs no derivation; a rotated hash is derived again', async () => {
    const verifier = new DjangoSecretVerifier();
    const stored = djangoHash(SECRET, 'cachesaltcachesaltcach', DJANGO_PBKDF2_ITERATIONS);
    const first = await timed(() => verifier.verify('client', SECRET, stored));
    const second = await timed(() => verifier.verify('client', SECRET, stored));
    console.log(`first verify ${first.ms.toFixed(1)} ms, cached ${second.ms.toFixed(3)} ms`);
    expect(first.value).toBe(true);
    expect(second.value).toBe(true);
    expect(second.ms).toBeLessThan(5);
    expect(second.ms * 20).toBeLessThan(first.ms);

    // A wrong secret beside a remembered right one is still a full derivation, and false.
    const wrong = await timed(() => verifier.verify('client', `${SECRET}!`, stored));
    expect(wrong.value).toBe(false);
    expect(wrong.ms).toBeGreaterThan(first.ms * 0.5);

    // Another client id with the same stored hash is not a hit.
    const otherClient = await timed(() => verifier.verify('other', SECRET, stored));
    expect(otherClient.value).toBe(true);
    expect(otherClient.ms).toBeGreaterThan(first.ms * 0.5);

    // The secret is rotated: the remembered entry no longer applies.
    const rotatedSecret = `${SECRET}-rotated`;
    const rotated = djangoHash(rotatedSecret, 'rotatedsaltrotatedsalt', DJANGO_PBKDF2_ITERATIONS);
    expect(await verifier.verify('client', SECRET, rotated)).toBe(false);
    const afterRotation = await timed(() => verifier.verify('client', rotatedSecret, rotated));
    expect(afterRotation.value).toBe(true);
    expect(afterRotation.ms).toBeGreaterThan(first.ms * 0.5);
  });

  it('keeps at most cacheSize entries, and only successes', async () => {
    const verifier = new DjangoSecretVerifier({ cacheSize: 2 });
    const iterations = 200_000;
    const hashes = ['a', 'b', 'c'].map((s) => djangoHash(`${SECRET}${s}`, `salt${s}`, iterations));
    const check = (i: number, secret = `${SECRET}${'abc'[i]}`) => timed(() => verifier.verify(`client-${i}`, secret, hashes[i]));
    const slow = (await check(0)).ms;
    expect((await check(0)).ms).toBeLessThan(slow / 5);
    await check(1);
    await check(0); // 0 is now the most recently used
    await check(2); // evicts 1
    expect((await check(0)).ms).toBeLessThan(slow / 5);
    expect((await check(2)).ms).toBeLessThan(slow / 5);
    expect((await check(1)).ms).toBeGreaterThan(slow / 2);
    // A failure is never remembered.
    const failed = await check(0, 'nope');
    expect(failed.value).toBe(false);
    expect(failed.ms).toBeGreaterThan(slow / 2);
  });

  it('answers 503 with Retry-After beyond maxConcurrent derivations, and never queues', async () => {
    const verifier = new DjangoSecretVerifier({ maxConcurrent: 1 });
    const stored = djangoHash(SECRET, 'concurrentsalt', 100_000);
    const results = await Promise.allSettled([
      verifier.verify('client', SECRET, stored),
      verifier.verify('client', SECRET, stored),
      verifier.verify('unknown', SECRET, undefined),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: true });
    for (const refused of results.slice(1)) {
      expect(refused.status).toBe('rejected');
      const error = (refused as PromiseRejectedResult).reason as ApiError;
      expect(error).toBeInstanceOf(ApiError);
      expect(error.statusCode).toBe(503);
      expect(error.body).toEqual({ detail: TOO_MANY_CHECKS });
      expect(Number(error.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // The slot is free again once the derivation is done; a cached success needs no slot.
    const [cached, fresh] = await Promise.all([
      verifier.verify('client', SECRET, stored),
      verifier.verify('client', 'wrong', stored),
    ]);
    expect([cached, fresh]).toEqual([true, false]);
  });

  it('takes about as long for an unknown client or an unusable hash as for a wrong secret', async () => {
    const verifier = new DjangoSecretVerifier({ cacheSize: 0 });
    const stored = djangoHash(SECRET, 'timingsalttimingsalt12', DJANGO_PBKDF2_ITERATIONS);
    const median = async (run: () => Promise<boolean>) => {
      const times: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { value, ms } = await timed(run);
        expect(value).toBe(false);
        times.push(ms);
      }
      return times.sort((a, b) => a - b)[1]!;
    };
    const wrongSecret = await median(() => verifier.verify('client', 'wrong', stored));
    const unknownClient = await median(() => verifier.verify('nobody', 'wrong', undefined));
    const unusable = await median(() => verifier.verify('client', 'wrong', 'bcrypt$$2b$12$abc'));
    console.log(`wrong secret ${wrongSecret.toFixed(0)} ms, unknown client ${unknownClient.toFixed(0)} ms, unusable hash ${unusable.toFixed(0)} ms`);
    expect(unknownClient).toBeGreaterThan(wrongSecret * 0.5);
    expect(unknownClient).toBeLessThan(wrongSecret * 2);
    expect(unusable).toBeGreaterThan(wrongSecret * 0.5);
  });

  it('keeps the event loop free while deriving', async () => {
    const verifier = new DjangoSecretVerifier();
    const stored = djangoHash(SECRET, 'loopsalt', DJANGO_PBKDF2_ITERATIONS);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      expect(await verifier.verify('client', SECRET, stored)).toBe(true);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(3);
  });
});
