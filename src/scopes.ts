/** The scopes an application may be granted (README, "Command line"), and parsing of operator input. */
import { ApiError } from './errors.js';

export const KNOWN_SCOPES = ['rooms:list', 'rooms:retrieve', 'rooms:create', 'rooms:update', 'rooms:delete'] as const;
export type Scope = (typeof KNOWN_SCOPES)[number];

/** Validates, lower-cases and de-duplicates scope names, keeping the order they were given. */
export function normalizeScopes(scopes: readonly string[]): Scope[] {
  const out: Scope[] = [];
  const unknown: string[] = [];
  for (const entry of scopes) {
    const scope = entry.trim().toLowerCase();
    if (scope === '') continue;
    if (!(KNOWN_SCOPES as readonly string[]).includes(scope)) unknown.push(entry.trim());
    else if (!out.includes(scope as Scope)) out.push(scope as Scope);
  }
  if (unknown.length > 0) {
    throw new ApiError(400, {
      scopes: unknown.map((s) => `Unknown scope "${s}"; known scopes: ${KNOWN_SCOPES.join(', ')}.`),
    });
  }
  return out;
}

/** Splits "a,b c" style lists (CLI flags) into entries. */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(/[\s,]+/).filter((s) => s !== '');
}

/** What each scope lets an application do, as the served description says it. */
export const SCOPE_PURPOSES: Record<Scope, string> = {
  'rooms:list': 'list the rooms on which the delegated user holds a role.',
  'rooms:retrieve': 'retrieve one of those rooms.',
  'rooms:create': 'create a room owned by the delegated user.',
  'rooms:update': '**v1.1** update a room the user owns or administers (its attendees).',
  'rooms:delete': '**v1.1** delete a room the application created, for its owner.',
};
