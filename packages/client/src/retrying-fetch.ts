/**
 * Retries answers that mean "nothing was done, come back later": 429 (rate limited) and
 * 503 (the server's database could not answer; the server rolls back before answering).
 * Both are safe to repeat for any method, so POST is retried too. Every other answer,
 * and a network failure, is returned or thrown as it is.
 */
import type { FetchFunction } from './types.js';

const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 503]);

export interface RetryEvent {
  method: string;
  url: string;
  status: number;
  /** Retry-After as the server sent it, in seconds; undefined when absent or not a number of seconds. */
  retryAfterSeconds: number | undefined;
  /** How long the client waits before this retry: Retry-After (or the default), capped. */
  waitMs: number;
  /** 1 for the first retry. */
  retry: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt; 0 turns retrying off. */
  maxRetries: number;
  /** The longest wait before a retry, whatever Retry-After asks. */
  maxWaitMs: number;
  /** The wait when the answer carries no Retry-After in seconds. */
  defaultWaitMs: number;
  onRetry?: (event: RetryEvent) => void;
}

export function retryingFetch(fetch: FetchFunction, policy: RetryPolicy): FetchFunction {
  return async (request) => {
    for (let retry = 1; ; retry++) {
      // A request's body can be read once: each attempt sends a copy.
      const response = await fetch(request.clone());
      if (!RETRIED_STATUSES.has(response.status) || retry > policy.maxRetries) return response;
      const retryAfterSeconds = parseRetryAfter(response.headers.get('retry-after'));
      const waitMs = Math.min(retryAfterSeconds === undefined ? policy.defaultWaitMs : retryAfterSeconds * 1000, policy.maxWaitMs);
      policy.onRetry?.({ method: request.method, url: request.url, status: response.status, retryAfterSeconds, waitMs, retry });
      // Frees the connection now rather than when the unread body is collected.
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  };
}

/** The delta-seconds form (what this server sends); an HTTP date falls back to the default wait. */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}
