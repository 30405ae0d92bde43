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

/** An admitted client authentication: say how it ended. */
export interface TokenAttempt {
  /** A 401: the attempt counts as a failure. */
  failed(): Promise<void>;
  /** Any other end: not a failure; `authenticated` when the credentials were right. */
  settled(authenticated: boolean): Promise<void>;
}

export class Throttles {
  constructor(
    private readonly counters: Counters,
    private readonly limits: Config['rateLimits'],
  ) {}

  private failureKeys(clientId: string, address: string): { pair: string; address: string; vouched: string } {
    const pair = `${address}:${clientId.slice(0, KEY_PART_MAX)}`;
    return { pair: `token-failures:${pair}`, address: `token-failures:${address}`, vouched: `token-successes:${pair}` };
  }

  /**
   * Admits one client authentication, or answers 429 while this client id from this
   * address, or this address, has failed too often in the last minute.
   *
   * An admitted attempt counts as a failure from the start (a reservation), and is taken
   * back unless it ends in a 401: so guesses sent all at once cannot all be checked before
   * the first failure is counted, whatever the counters' latency. The one exception keeps
   * a working client fast: once this client id has authenticated from this address in
   * the last minute, its own attempts there are not reserved (an attacker who does not
   * know the secret never earns that), only counted when they fail.
   */
  async admitTokenAttempt(clientId: string, address: string): Promise<TokenAttempt> {
    const keys = this.failureKeys(clientId, address);
    // The address before the pair: refused there, the pair's key is not even stored, so one
    // address cannot fill the counters with made-up client ids and push real ones out.
    // (Whether the pair is vouched for is read in the same round.)
    const [vouchedState, all] = await Promise.all([
      this.counters.peek(keys.vouched, 1, MINUTE_MS),
      this.counters.take(keys.address, this.limits.tokenFailuresPerAddress, MINUTE_MS),
    ]);
    const vouched = (vouchedState?.count ?? 0) > 0;
    const pair =
      all !== undefined && !all.allowed
        ? undefined
        : vouched
          ? await this.counters.peek(keys.pair, this.limits.tokenFailures, MINUTE_MS)
          : await this.counters.take(keys.pair, this.limits.tokenFailures, MINUTE_MS);
    const reserved: string[] = [];
    if (!vouched && pair?.allowed) reserved.push(keys.pair);
    if (all?.allowed) reserved.push(keys.address);
    const refused = [pair, all].filter((state): state is WindowState => state !== undefined && !state.allowed);
    const release = () => Promise.all(reserved.map((key) => this.counters.release(key, MINUTE_MS)));
    if (refused.length > 0) {
      await release();
      const wait = Math.max(...refused.map((state) => state.retryAfterMs));
      throw oauthError(429, TOO_MANY_FAILURES, { 'retry-after': String(seconds(wait)) });
    }
    return {
      failed: async () => {
        // The reservations stand as the failure; a vouched pair was not reserved.
        if (vouched) await this.counters.add(keys.pair, MINUTE_MS);
      },
      settled: async (authenticated) => {
        await Promise.all([release(), authenticated ? this.counters.add(keys.vouched, MINUTE_MS) : undefined]);
      },
    };
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
