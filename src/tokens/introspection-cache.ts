/**
 * Reuse of active introspection answers, so a client sending the same token on every
 * request does not cost the authorization server one call each. Only what a load returns
 * is kept (failures and inactive tokens throw, so they never are), never past the token's
 * own expiry, under a digest of the token rather than the token itself (a memory dump
 * yields no usable bearer values).
 */
import { createHash } from 'node:crypto';

export interface Expiring {
  /** Seconds since the epoch; undefined: only the cache's own lifetime bounds it. */
  readonly expiresAt: number | undefined;
}

interface Entry<T> {
  readonly value: T;
  readonly untilMs: number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;

export class IntrospectionCache<T extends Expiring> {
  // A Map iterates in insertion order, so its first key is the oldest entry.
  private readonly entries = new Map<string, Entry<T>>();
  private readonly inFlight = new Map<string, Promise<T>>();

  /** `lifetimeMs` 0 disables the cache: every call loads. */
  constructor(
    private readonly lifetimeMs: number,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {}

  /**
   * The remembered value for this token, or `load()`'s, shared with any load of the same
   * token already under way.
   */
  async getOrLoad(token: string, load: () => Promise<T>): Promise<T> {
    if (this.lifetimeMs <= 0) return load();
    const key = createHash('sha256').update(token).digest('base64url');
    const remembered = this.entries.get(key);
    if (remembered !== undefined) {
      if (remembered.untilMs > Date.now()) return remembered.value;
      this.entries.delete(key);
    }
    const pending = this.inFlight.get(key);
    if (pending !== undefined) return pending;
    const loading = load()
      .then((value) => {
        this.remember(key, value);
        return value;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, loading);
    return loading;
  }

  get size(): number {
    return this.entries.size;
  }

  private remember(key: string, value: T): void {
    const now = Date.now();
    const untilMs = Math.min(now + this.lifetimeMs, value.expiresAt === undefined ? Infinity : value.expiresAt * 1000);
    if (untilMs <= now) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, untilMs });
  }
}
