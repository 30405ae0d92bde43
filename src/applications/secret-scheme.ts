/**
 * How client secrets are stored and checked, which depends on whose table holds them
 * (db/layout.ts picks the scheme with the repositories):
 * - native: SHA-256 of a generated high-entropy secret (secrets.ts, docs/decisions.md);
 * - meet: Django's PBKDF2 password hashes, so Meet's admin and Meet's own token endpoint
 *   keep accepting what this server writes, and this server accepts what Meet's admin wrote.
 */
import { createHash } from 'node:crypto';
import type { LogSink } from '../logger.js';
import { hashSecret, secretMatches } from '../secrets.js';
import { DJANGO_PBKDF2_ITERATIONS, DjangoSecretVerifier, makeDjangoPbkdf2Hash } from './django-hashes.js';

export interface SecretScheme {
  /** The stored form of a new secret. */
  hash(secret: string): Promise<string>;
  /**
   * Whether `presented` is the secret behind `storedHash`. An unknown client (no stored
   * hash) takes as long as a wrong secret. May throw an ApiError (503) when overloaded.
   */
  verify(clientId: string, presented: string, storedHash: string | undefined): Promise<boolean>;
}

export const nativeSecretScheme: SecretScheme = {
  hash: async (secret) => hashSecret(secret),
  verify: async (_clientId, presented, storedHash) => secretMatches(presented, storedHash),
};

/**
 * `iterations`: what new hashes are written with (Django 5.2's 1,000,000 unless a test
 * asks for fewer); verification reads each stored hash's own count.
 */
export function djangoSecretScheme(options: { log?: LogSink; iterations?: number } = {}): SecretScheme {
  const verifier = new DjangoSecretVerifier({ log: options.log });
  const iterations = options.iterations ?? DJANGO_PBKDF2_ITERATIONS;
  // A burst of identical requests (a client starting many workers at once, right after this
  // server restarted) shares one derivation instead of each paying for its own and
  // crowding the cap. Keyed by a digest of the presented secret, never the secret itself;
  // an entry lives only while its derivation runs.
  const inFlight = new Map<string, Promise<boolean>>();
  return {
    hash: (secret) => makeDjangoPbkdf2Hash(secret, iterations),
    verify: (clientId, presented, storedHash) => {
      const key = createHash('sha256').update(`${clientId}\u0000${storedHash ?? ''}\u0000`).update(presented).digest('base64');
      const running = inFlight.get(key);
      if (running !== undefined) return running;
      const verification = verifier.verify(clientId, presented, storedHash).finally(() => inFlight.delete(key));
      inFlight.set(key, verification);
      return verification;
    },
  };
}
