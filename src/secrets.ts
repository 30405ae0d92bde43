/**
 * Generated credentials and how they are checked. Client secrets are 128 random
 * alphanumerics (~762 bits): a fast cryptographic hash is as strong as a slow KDF at
 * that entropy, and keeps the token endpoint cheap (see docs/decisions.md).
 */
import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';

/**
 * Random bytes drawn from the system's CSPRNG a few kilobytes at a time: one call per byte
 * run (a room needs four: three slug parts and a PIN) would cost a system call each. Every
 * byte is handed out once. Node's own randomUUID() keeps such a buffer too.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomByte(): number {
  if (poolOffset === POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]!;
}

/** `length` characters drawn uniformly from `alphabet` with a cryptographic source. */
export function randomString(length: number, alphabet: string = ALPHANUMERIC): string {
  // Rejection sampling: bytes at or above the largest multiple of the alphabet size are
  // dropped, so every character is equally likely.
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < limit) out += alphabet[byte % alphabet.length];
  }
  return out;
}

export const randomLowercase = (length: number): string => randomString(length, LOWERCASE);
export const randomDigits = (length: number): string => randomString(length, DIGITS);

const HASH_PREFIX = 'sha256$';

/** One-shot (no Hash object per call): crypto.hash, Node 20.12 and later. */
function sha256(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

export function hashSecret(secret: string): string {
  return HASH_PREFIX + sha256(secret).toString('hex');
}

// Compared against when the client id is unknown, so that path does the same work as a
// wrong secret and takes about the same time.
const DECOY_HASH = hashSecret(randomString(128));

/**
 * Constant-time check of a presented secret against a stored hash. Both sides are
 * 32-byte digests, so the comparison never depends on the secret's length.
 */
export function secretMatches(presented: string, storedHash: string | undefined): boolean {
  // A stored value of another shape (say, a hash carried over from elsewhere) never
  // matches, and still costs the same comparison.
  const usable = storedHash !== undefined && STORED_HASH.test(storedHash);
  const expected = Buffer.from((usable ? storedHash : DECOY_HASH).slice(HASH_PREFIX.length), 'hex');
  return digestsEqual(sha256(presented), expected) && usable;
}

const STORED_HASH = /^sha256\$[0-9a-f]{64}$/;

/** Constant-time equality of two values through their SHA-256 digests (one length whatever was sent). */
export function secretsEqual(presented: string, expectedDigest: Buffer): boolean {
  return digestsEqual(sha256(presented), expectedDigest);
}

export function sha256Digest(value: string): Buffer {
  return sha256(value);
}

function digestsEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
