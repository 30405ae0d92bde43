/**
 * The rate limits (docs/api.md, "Limits"): failed client authentication at the token
 * endpoint, counted per (client id, address) and per address; and each application's
 * budget of /rooms requests. One sliding minute each, counted by `Counters` (in this
 * process, or in Redis shared by every instance).
 */
import type { Config } from '../config.js';
import { detailError, oauthError } from '../errors.js';
import type { Counters, WindowState } from './counters.js';

export const TOO_MANY_FAILURES = 'Too many failed attempts. Retry later.';

/** DRF's wording of a throttled request. */
export function throttledMessage(seconds: number): string {
  return `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? '' : 's'}.`;
}

const MINUTE_MS = 60_000;
/** Client ids have at most 255 characters; a longer claimed one is cut, so keys stay small. */
const KEY_PART_MAX = 255;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class Throttles {
  constructor(
    private readonly counters: Counters,
    private readonly limits: Config['rateLimits'],
  ) {}

  private failureKeys(clientId: string, address: string): { pair: string; address: string } {
    return { pair: `token-failures:${address}:${clientId.slice(0, KEY_PART_MAX)}`, address: `token-failures:${address}` };
  }

  /** A 429 while this client id from this address, or this address, has failed too often in the last minute. */
  async checkTokenFailures(clientId: string, address: string): Promise<void> {
    const keys = this.failureKeys(clientId, address);
    const [pair, all] = await Promise.all([
      this.counters.peek(keys.pair, this.limits.tokenFailures, MINUTE_MS),
      this.counters.peek(keys.address, this.limits.tokenFailuresPerAddress, MINUTE_MS),
    ]);
    const refused = [pair, all].filter((state): state is WindowState => state !== undefined && !state.allowed);
    if (refused.length > 0) {
      const wait = Math.max(...refused.map((state) => state.retryAfterMs));
      throw oauthError(429, TOO_MANY_FAILURES, { 'retry-after': String(seconds(wait)) });
    }
  }

  /** Counts a failed client authentication (a 401 of the token endpoint). */
  async recordTokenFailure(clientId: string, address: string): Promise<void> {
    const keys = this.failureKeys(clientId, address);
    await Promise.all([this.counters.add(keys.pair, MINUTE_MS), this.counters.add(keys.address, MINUTE_MS)]);
  }

  /**
   * Spends one request of the application's budget: the RateLimit-* headers to send, or a
   * 429 carrying them and Retry-After. No headers while no limit applies (0) or the
   * counters cannot be read (Redis away: the request is served).
   */
  async spendApplicationBudget(clientId: string): Promise<Record<string, string> | undefined> {
    const limit = this.limits.applicationPerMinute;
    if (limit === 0) return undefined;
    const state = await this.counters.take(`budget:${clientId.slice(0, KEY_PART_MAX)}`, limit, MINUTE_MS);
    if (state === undefined) return undefined;
    const headers = {
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(Math.max(0, Math.floor(limit - state.count))),
      'ratelimit-reset': String(seconds(state.resetMs)),
    };
    if (!state.allowed) {
      const wait = seconds(state.retryAfterMs);
      throw detailError(429, throttledMessage(wait), { ...headers, 'retry-after': String(wait) });
    }
    return headers;
  }
}
