/** Page-number pagination of the rooms list (CONTRACT §2.3). */
import { ApiError } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

function parseBound(raw: unknown, fallback: number, max: number | undefined, problems: string[]): number {
  if (raw === undefined) return fallback;
  if (typeof raw !== 'string') {
    problems.push('A valid integer is required.');
    return fallback;
  }
  const value = raw.trim();
  if (value === '') return fallback;
  if (!/^[-+]?\d+$/.test(value)) {
    problems.push('A valid integer is required.');
    return fallback;
  }
  const parsed = Number(value);
  if (parsed < 1) problems.push('Ensure this value is greater than or equal to 1.');
  else if (max !== undefined && parsed > max) problems.push(`Ensure this value is less than or equal to ${max}.`);
  return parsed;
}

/** page and page_size from the query string, or a 400 naming each bad parameter. */
export function parsePagination(query: Record<string, unknown>): { page: number; pageSize: number } {
  const pageProblems: string[] = [];
  const sizeProblems: string[] = [];
  const page = parseBound(query.page, 1, undefined, pageProblems);
  const pageSize = parseBound(query.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, sizeProblems);
  const errors: Record<string, string[]> = {};
  if (pageProblems.length > 0) errors.page = pageProblems;
  if (sizeProblems.length > 0) errors.page_size = sizeProblems;
  if (Object.keys(errors).length > 0) throw new ApiError(400, errors);
  return { page, pageSize };
}

/**
 * The absolute URL of another page: the request's own URL with `page` replaced, every
 * other parameter kept; page 1 is written without `page`, as the first page is.
 */
export function pageLink(origin: string, rawUrl: string, page: number): string {
  const question = rawUrl.indexOf('?');
  const path = question === -1 ? rawUrl : rawUrl.slice(0, question);
  const params = new URLSearchParams(question === -1 ? '' : rawUrl.slice(question + 1));
  if (page === 1) params.delete('page');
  else params.set('page', String(page));
  const query = params.toString();
  return `${origin}${path}${query === '' ? '' : `?${query}`}`;
}
