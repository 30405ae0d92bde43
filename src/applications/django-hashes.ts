/**
 * Django's PBKDF2 password hashes, as La Suite Meet stores its applications' client
 * secrets (`meet_application.client_secret`):
 *
 *     pbkdf2_sha256$<iterations>$<salt>$<base64 of PBKDF2-HMAC-SHA256(secret, salt, iterations, 32)>
 *
 * Django 5.2 writes 1,000,000 iterations, about 0.35 s of CPU per check. Checking such a
 * hash on every token request would make the token endpoint a denial-of-service target,
 * so DjangoSecretVerifier:
 * - derives on libuv's thread pool (async `pbkdf2`), never on the event loop;
 * - runs at most `maxConcurrent` derivations at once and answers 503 with Retry-After
 *   beyond that, rather than queueing without bound;
 * - remembers secrets that verified, per (client id, stored hash), as a keyed digest: a
 *   client that presents the same secret again costs one HMAC and a constant-time
 *   comparison. A changed stored hash (a rotated secret) is not found and is derived anew;
 * - makes an unknown client and an unusable stored hash cost what a wrong secret costs
 *   (a derivation against a decoy of DJANGO_PBKDF2_ITERATIONS), so timing does not tell
 *   which client ids exist.
 */
import { createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import os from 'node:os';
import { promisify } from 'node:util';
import { detailError } from '../errors.js';
import type { LogSink } from '../logger.js';
import { randomString } from '../secrets.js';

/** What Django 5.2 writes (PBKDF2PasswordHasher.iterations). */
export const DJANGO_PBKDF2_ITERATIONS = 1_000_000;

const ALGORITHM = 'pbkdf2_sha256';
/** Django's salt: 128 bits of entropy from [a-zA-Z0-9], that is ceil(128 / log2(62)) = 22 characters. */
const SALT_LENGTH = 22;
const KEY_LENGTH = 32;
/** Beyond this a stored hash is refused as unusable: one check would hold a thread for minutes. */
const MAX_ITERATIONS = 100_000_000;
const RETRY_AFTER_SECONDS = '1';
export const TOO_MANY_CHECKS = 'Too many credential checks in progress. Retry later.';
/** How often an unusable stored hash is reported, per client id. */
const WARN_INTERVAL_MS = 60_000;
const WARNED_MAX = 1_000;

/**
 * Django's other hashers: named in the log when a stored value starts with one of them.
 * Any other prefix is not logged, as it may be part of a secret stored in clear by mistake.
 */
const KNOWN_HASHERS = new Set([
  'pbkdf2_sha256',
  'pbkdf2_sha1',
  'argon2',
  'bcrypt_sha256',
  'bcrypt',
  'scrypt',
  'sha1',
  'md5',
  'unsalted_sha1',
  'unsalted_md5',
  'crypt',
]);

const pbkdf2Async = promisify(pbkdf2);

function derive(secret: string, salt: string, iterations: number): Promise<Buffer> {
  return pbkdf2Async(Buffer.from(secret, 'utf8'), Buffer.from(salt, 'utf8'), iterations, KEY_LENGTH, 'sha256');
}

/** A Django hash of `secret`: `pbkdf2_sha256$<iterations>$<salt>$<hash>`, with a fresh 22-character salt. */
export async function makeDjangoPbkdf2Hash(secret: string, iterations = DJANGO_PBKDF2_ITERATIONS): Promise<string> {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be an integer from 1 to ${MAX_ITERATIONS}`);
  }
  const salt = randomString(SALT_LENGTH);
  const hash = await derive(secret, salt, iterations);
  return `${ALGORITHM}$${iterations}$${salt}$${hash.toString('base64')}`;
}

interface ParsedHash {
  iterations: number;
  salt: string;
  hash: Buffer;
}

const HASH_SHAPE = /^pbkdf2_sha256\$([1-9][0-9]{0,8})\$([^$]+)\$([A-Za-z0-9+/]{43}=)$/;

/** The parts of a usable `pbkdf2_sha256` hash, or undefined for any other hasher or shape. */
function parse(stored: string): ParsedHash | undefined {
  const match = HASH_SHAPE.exec(stored);
  if (!match) return undefined;
  const iterations = Number(match[1]);
  if (iterations > MAX_ITERATIONS) return undefined;
  const hash = Buffer.from(match[3]!, 'base64');
  // Only the one canonical spelling of 32 bytes (the last character carries unused bits).
  if (hash.length !== KEY_LENGTH || hash.toString('base64') !== match[3]) return undefined;
  return { iterations, salt: match[2]!, hash };
}

function hasherName(stored: string): string {
  const prefix = stored.slice(0, stored.indexOf('$'));
  return stored.includes('$') && KNOWN_HASHERS.has(prefix) ? prefix : 'unrecognised';
}

export interface DjangoSecretVerifierOptions {
  /** Derivations allowed at once; more answer 503. Default: the machine's available parallelism. */
  maxConcurrent?: number;
  /** Verified secrets remembered (least recently used goes first); 0: none. Default 10,000. */
  cacheSize?: number;
  /** Where unusable stored hashes are reported (client id only). */
  log?: LogSink;
}

export class DjangoSecretVerifier {
  private readonly maxConcurrent: number;
  private readonly cacheSize: number;
  private readonly log: LogSink | undefined;
  private inFlight = 0;
  /** (client id, stored hash) -> HMAC of the secret that verified against it; in use order, oldest first. */
  private readonly verified = new Map<string, Buffer>();
  /** Keys the cache's digests, so they are no plain SHA-256 of a secret. */
  private readonly digestKey = randomBytes(32);
  /** Derived against for an unknown client or an unusable hash: the cost of a real check. */
  private readonly decoy: ParsedHash = { iterations: DJANGO_PBKDF2_ITERATIONS, salt: randomString(SALT_LENGTH), hash: randomBytes(KEY_LENGTH) };
  private readonly warned = new Map<string, number>();

  constructor(options: DjangoSecretVerifierOptions = {}) {
    this.maxConcurrent = Math.max(1, Math.floor(options.maxConcurrent ?? os.availableParallelism()));
    this.cacheSize = Math.max(0, Math.floor(options.cacheSize ?? 10_000));
    this.log = options.log;
  }

  /**
   * Whether `presented` is the secret `storedHash` was made from. False for an unknown
   * client (`storedHash` undefined) and for a hash of another hasher or shape, after the
   * same work as a wrong secret. Rejects with a 503 ApiError (Retry-After) while
   * `maxConcurrent` derivations are running. `log`: the request's logger, when there is one.
   */
  async verify(clientId: string, presented: string, storedHash: string | undefined, log: LogSink | undefined = this.log): Promise<boolean> {
    const parsed = storedHash === undefined ? undefined : parse(storedHash);
    if (storedHash !== undefined && parsed === undefined) this.reportUnusable(clientId, storedHash, log);

    const cacheKey = parsed === undefined ? undefined : `${clientId}\u0000${storedHash}`;
    const digest = this.digest(presented);
    if (cacheKey !== undefined) {
      const remembered = this.verified.get(cacheKey);
      // A miss, or another secret than the one remembered, goes on to a full derivation:
      // a wrong secret costs the same whether or not the right one was seen lately.
      if (remembered !== undefined && timingSafeEqual(remembered, digest)) {
        this.verified.delete(cacheKey);
        this.verified.set(cacheKey, remembered);
        return true;
      }
    }

    // Checked and taken synchronously, before any await, so the cap holds exactly.
    if (this.inFlight >= this.maxConcurrent) {
      throw detailError(503, TOO_MANY_CHECKS, { 'retry-after': RETRY_AFTER_SECONDS });
    }
    this.inFlight++;
    let derived: Buffer;
    const target = parsed ?? this.decoy;
    try {
      derived = await derive(presented, target.salt, target.iterations);
    } finally {
      this.inFlight--;
    }
    const matches = timingSafeEqual(derived, target.hash) && parsed !== undefined;
    if (matches && cacheKey !== undefined) this.remember(cacheKey, digest);
    return matches;
  }

  private digest(secret: string): Buffer {
    return createHmac('sha256', this.digestKey).update(secret, 'utf8').digest();
  }

  private remember(key: string, digest: Buffer): void {
    if (this.cacheSize === 0) return;
    this.verified.delete(key);
    while (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, digest);
  }

  /** Warns, at most once a minute per client id, naming the client and the hasher, never the value. */
  private reportUnusable(clientId: string, storedHash: string, log: LogSink | undefined): void {
    if (log === undefined) return;
    const now = Date.now();
    const last = this.warned.get(clientId);
    if (last !== undefined && now - last < WARN_INTERVAL_MS) return;
    this.warned.delete(clientId);
    if (this.warned.size >= WARNED_MAX) this.warned.delete(this.warned.keys().next().value as string);
    this.warned.set(clientId, now);
    log.warn(
      { clientId, hasher: hasherName(storedHash) },
      'client secret is stored with a hasher this server cannot check (only pbkdf2_sha256 is supported); its credentials are refused',
    );
  }
}
