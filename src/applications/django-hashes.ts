/**
 * TEMPORARY STUB, replaced when the add-ons branch lands in main (it owns this file and its
 * interface). Just enough for the meet layout to run: Django's pbkdf2_sha256 format,
 * node:crypto's async PBKDF2, a concurrency cap and a small cache of verified secrets.
 */
import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { LogSink } from '../logger.js';
import { detailError } from '../errors.js';

const derive = promisify(pbkdf2);

export const DJANGO_PBKDF2_ITERATIONS = 1_000_000;

const SALT_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function salt(): string {
  return [...randomBytes(22)].map((b) => SALT_ALPHABET[b % SALT_ALPHABET.length]).join('');
}

export async function makeDjangoPbkdf2Hash(secret: string, iterations: number = DJANGO_PBKDF2_ITERATIONS): Promise<string> {
  const s = salt();
  const hash = await derive(secret, s, iterations, 32, 'sha256');
  return `pbkdf2_sha256$${iterations}$${s}$${hash.toString('base64')}`;
}

const FORMAT = /^pbkdf2_sha256\$(\d{1,9})\$([^$]+)\$([A-Za-z0-9+/=]+)$/;

export class DjangoSecretVerifier {
  private running = 0;
  private readonly cache = new Map<string, Buffer>();
  private readonly maxConcurrent: number;
  private readonly cacheSize: number;
  private readonly log: LogSink | undefined;

  constructor(options: { maxConcurrent?: number; cacheSize?: number; log?: LogSink } = {}) {
    this.maxConcurrent = options.maxConcurrent ?? 4;
    this.cacheSize = options.cacheSize ?? 1000;
    this.log = options.log;
  }

  async verify(clientId: string, presented: string, storedHash: string | undefined): Promise<boolean> {
    const parsed = storedHash === undefined ? undefined : FORMAT.exec(storedHash);
    if (storedHash !== undefined && !parsed) this.log?.warn({ client_id: clientId }, 'client secret stored with an unsupported hasher');
    const digest = createHash('sha256').update(presented).digest();
    const key = `${clientId}\u0000${storedHash ?? ''}`;
    const cached = this.cache.get(key);
    if (cached !== undefined && timingSafeEqual(cached, digest)) return true;
    if (this.running >= this.maxConcurrent) throw detailError(503, 'Service temporarily unavailable.', { 'retry-after': '1' });
    this.running++;
    try {
      const iterations = parsed ? Number(parsed[1]) : DJANGO_PBKDF2_ITERATIONS;
      const expected = parsed ? Buffer.from(parsed[3]!, 'base64') : Buffer.alloc(32);
      const derived = await derive(presented, parsed ? parsed[2]! : 'decoy', iterations, 32, 'sha256');
      const ok = parsed !== null && parsed !== undefined && expected.length === 32 && timingSafeEqual(derived, expected);
      if (ok) {
        if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(key, digest);
      }
      return ok;
    } finally {
      this.running--;
    }
  }
}
