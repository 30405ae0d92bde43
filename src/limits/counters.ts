/**
 * Sliding-window counters for the rate limits, in this process or in Redis.
 *
 * A window of W ms is approximated by two fixed windows (the sliding window counter that
 * Cloudflare and others use): at time t inside fixed window k, the count is
 * `previous * (1 - elapsed / W) + current`, where `previous` is window k-1's count and
 * `elapsed` how far into window k t is. It never lets a burst at a window boundary double
 * the limit, as plain fixed windows do, and needs two numbers per key. (The widely used
 * Node limiters, @fastify/rate-limit and rate-limiter-flexible, count fixed windows only.)
 *
 * In Redis the arithmetic runs in one Lua script per call, on Redis' own clock, so every
 * worker and instance shares one count. When Redis cannot answer, the limits fail open:
 * the call says `unknown` and the request is served.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface WindowState {
  /** Below the limit: for take(), the event was counted; for peek(), one more would be. */
  allowed: boolean;
  /** The sliding count, this event included when it was counted. */
  count: number;
  /** Milliseconds until the current fixed window ends (when `previous` weighs less). */
  resetMs: number;
  /** Milliseconds until the count drops below `limit` (0 when it already is). */
  retryAfterMs: number;
}

export interface Counters {
  /** Counts one event under `key` if the count is below `limit` (else counts nothing); the state after. undefined: unknown (store away). */
  take(key: string, limit: number, windowMs: number): Promise<WindowState | undefined>;
  /** Counts one event under `key`, whatever the count. */
  add(key: string, windowMs: number): Promise<void>;
  /** The state of `key` without counting. */
  peek(key: string, limit: number, windowMs: number): Promise<WindowState | undefined>;
  /** Takes back one event counted under `key` by take() or add() (a reservation that was not spent). */
  release(key: string, windowMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The sliding count and when it falls below the limit, from the two fixed windows' counts. */
export function windowState(previous: number, current: number, elapsedMs: number, windowMs: number, limit: number, allowed: boolean): WindowState {
  const weight = 1 - elapsedMs / windowMs;
  const count = previous * weight + current;
  const resetMs = windowMs - elapsedMs;
  let retryAfterMs = 0;
  if (count >= limit) {
    retryAfterMs =
      current >= limit
        ? // Not before the next window, and then until the current count, turned previous, has weighed down.
          resetMs + windowMs * (1 - limit / current)
        : // Within this window, once the previous window's share has shrunk enough.
          windowMs * (1 - (limit - current) / previous) - elapsedMs;
  }
  return { allowed, count, resetMs, retryAfterMs: Math.max(retryAfterMs, 0) };
}

interface Entry {
  window: number;
  previous: number;
  current: number;
}

/** Keys held at most in memory; the oldest go first (an attacker may make up keys). */
const MAX_KEYS = 100_000;

export class MemoryCounters implements Counters {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The key's counts moved to the current window, kept most recently used last. */
  private entry(key: string, windowMs: number): { entry: Entry; elapsedMs: number } {
    const now = this.now();
    const window = Math.floor(now / windowMs);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= MAX_KEYS) this.entries.delete(this.entries.keys().next().value as string);
      entry = { window, previous: 0, current: 0 };
    } else {
      this.entries.delete(key);
      if (entry.window !== window) entry = { window, previous: entry.window === window - 1 ? entry.current : 0, current: 0 };
    }
    this.entries.set(key, entry);
    return { entry, elapsedMs: now - window * windowMs };
  }

  async take(key: string, limit: number, windowMs: number): Promise<WindowState> {
    const { entry, elapsedMs } = this.entry(key, windowMs);
    const allowed = entry.previous * (1 - elapsedMs / windowMs) + entry.current < limit;
    if (allowed) entry.current++;
    return windowState(entry.previous, entry.current, elapsedMs, windowMs, limit, allowed);
  }

  async add(key: string, windowMs: number): Promise<void> {
    this.entry(key, windowMs).entry.current++;
  }

  async release(key: string, windowMs: number): Promise<void> {
    const { entry } = this.entry(key, windowMs);
    // Counted in the window that just ended, if the minute turned in between.
    if (entry.current > 0) entry.current--;
    else if (entry.previous > 0) entry.previous--;
  }

  async peek(key: string, limit: number, windowMs: number): Promise<WindowState> {
    // A key never counted is not stored by looking at it (made-up keys must not push real ones out).
    if (!this.entries.has(key)) return windowState(0, 0, 0, windowMs, limit, limit > 0);
    const { entry, elapsedMs } = this.entry(key, windowMs);
    const state = windowState(entry.previous, entry.current, elapsedMs, windowMs, limit, true);
    return { ...state, allowed: state.count < limit };
  }

  async close(): Promise<void> {}
}

/**
 * KEYS[1] the key's prefix; ARGV: window ms, limit, mode (take | add | peek | release). Returns the
 * previous and current counts (after counting), the elapsed ms (on Redis' clock) and 1
 * when the count was below the limit before this call.
 */
const SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local window_ms = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = math.floor(now / window_ms)
local elapsed = now - window * window_ms
local current_key = KEYS[1] .. ':' .. window
local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (window - 1)) or '0')
local current = tonumber(redis.call('GET', current_key) or '0')
local below = (previous * (1 - elapsed / window_ms) + current) < limit
if ARGV[3] == 'add' or (ARGV[3] == 'take' and below) then
  current = redis.call('INCR', current_key)
  if current == 1 then redis.call('PEXPIRE', current_key, window_ms * 2) end
elseif ARGV[3] == 'release' then
  if current > 0 then current = redis.call('DECR', current_key)
  elseif previous > 0 then previous = redis.call('DECR', KEYS[1] .. ':' .. (window - 1)) end
end
return { previous, current, elapsed, below and 1 or 0 }
`;

type Mode = 'take' | 'add' | 'peek' | 'release';

interface SlidingWindowCommand {
  slidingWindow(key: string, windowMs: number, limit: number, mode: Mode): Promise<[number, number, number, number]>;
}

/** How long a Redis call may take before the limit is skipped for that request. */
const REDIS_TIMEOUT_MS = 200;
const OUTAGE_LOG_INTERVAL_MS = 60_000;

export class RedisCounters implements Counters {
  private readonly redis: Redis & SlidingWindowCommand;
  private lastOutageLog = 0;

  constructor(
    url: string,
    private readonly logger: Logger,
    private readonly prefix = 'meet-api:limits',
  ) {
    // Commands fail at once while disconnected (no queue) and give up after the timeout:
    // a Redis that is away or slow never holds a request up.
    this.redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: REDIS_TIMEOUT_MS, lazyConnect: false }) as Redis &
      SlidingWindowCommand;
    this.redis.defineCommand('slidingWindow', { numberOfKeys: 1, lua: SCRIPT });
    this.redis.on('error', (error: Error) => this.outage(error));
  }

  /** Logged at most once a minute, not once a request. */
  private outage(error: Error): void {
    const now = Date.now();
    if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
    this.lastOutageLog = now;
    this.logger.error({ event: 'rate_limit.store_unavailable', err: { message: error.message } }, 'Redis cannot be reached: rate limits are not applied until it is back');
  }

  private async run(key: string, windowMs: number, limit: number, mode: Mode): Promise<WindowState | undefined> {
    try {
      const [previous, current, elapsed, below] = await this.redis.slidingWindow(`${this.prefix}:${key}`, windowMs, limit, mode);
      const state = windowState(previous, current, elapsed, windowMs, limit, below === 1);
      // For peek, "allowed" is whether one more would be counted: the count itself below the limit.
      return mode === 'peek' ? { ...state, allowed: state.count < limit } : state;
    } catch (error) {
      this.outage(error as Error);
      return undefined;
    }
  }

  take(key: string, limit: number, windowMs: number): Promise<WindowState | undefined> {
    return this.run(key, windowMs, limit, 'take');
  }

  async add(key: string, windowMs: number): Promise<void> {
    await this.run(key, windowMs, Number.MAX_SAFE_INTEGER, 'add');
  }

  peek(key: string, limit: number, windowMs: number): Promise<WindowState | undefined> {
    return this.run(key, windowMs, limit, 'peek');
  }

  async release(key: string, windowMs: number): Promise<void> {
    await this.run(key, windowMs, Number.MAX_SAFE_INTEGER, 'release');
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
