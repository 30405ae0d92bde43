/** Page-number pagination of the rooms list (docs/api.md, "Rooms"). */
export const FIRST_PAGE = 1;
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

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
