/**
 * What the fuzz suite checks about one exchange: the answers (docs/api.md, "Conventions"),
 * the links they carry, the tokens they accepted, and what changed in the store.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../../src/db/schema.js';
import { TEST_LAYOUT } from '../../helpers.js';
import { API, DOCS_PREFIX, type RenderedRequest } from './requests.js';
import { header, type WireExchange, type WireResponse } from './wire.js';

export const JSON_TYPE = 'application/json; charset=utf-8';

export type Check = 'status' | 'json' | 'answer' | 'writes' | 'links' | 'token' | 'log';

export interface Violation {
  check: Check;
  message: string;
  /** The answer it is about, when it is about one. */
  response?: WireResponse;
}

// ---------------------------------------------------------------------------------------
// The store, before and after.

const TABLES = ['users', 'applications', 'application_domains', 'rooms', 'room_accesses', 'room_attendees'] as const;
type Table = (typeof TABLES)[number];

/** Every row of every table, by id, as JSON text. */
export type Snapshot = Record<Table, Map<string, string>>;

export async function snapshot(db: Kysely<Database>): Promise<Snapshot> {
  if (TEST_LAYOUT === 'meet') return meetSnapshot(db);
  const entries = await Promise.all(
    TABLES.map(async (table) => {
      const rows = (await db.selectFrom(table).selectAll().execute()) as Array<{ id: string }>;
      return [table, new Map(rows.map((row) => [row.id, JSON.stringify(row)]))] as const;
    }),
  );
  return Object.fromEntries(entries) as Snapshot;
}

/**
 * Beside Meet, the same six records read from Meet's tables (and this server's meet_api_*
 * rows folded into them), so the rules below judge both layouts alike.
 */
async function meetSnapshot(db: Kysely<Database>): Promise<Snapshot> {
  const byId = (rows: Array<Record<string, unknown>>, key: (row: Record<string, unknown>) => string) =>
    new Map(rows.map((row) => [key(row), JSON.stringify(row)]));
  const id = (row: Record<string, unknown>) => String(row.id);
  const [users, applications, domains, rooms, accesses, attendees] = await Promise.all([
    db.selectFrom('meet_user').selectAll().execute(),
    db.selectFrom('meet_application').selectAll().execute(),
    db.selectFrom('meet_application_domain').selectAll().execute(),
    db
      .selectFrom('meet_room')
      .innerJoin('meet_resource', 'meet_resource.id', 'meet_room.resource_id')
      .leftJoin('meet_api_room', 'meet_api_room.room_id', 'meet_room.resource_id')
      .selectAll('meet_room')
      .select(['meet_resource.id', 'meet_resource.created_at', 'meet_resource.updated_at', 'meet_api_room.created_by_client_id'])
      .execute(),
    db
      .selectFrom('meet_resource_access')
      .leftJoin('meet_api_attendee_access', (join) =>
        join.onRef('meet_api_attendee_access.room_id', '=', 'meet_resource_access.resource_id').onRef('meet_api_attendee_access.user_id', '=', 'meet_resource_access.user_id'),
      )
      .selectAll('meet_resource_access')
      .select(['meet_resource_access.resource_id as room_id', sql<boolean>`meet_api_attendee_access.user_id is not null`.as('added_for_attendee')])
      .execute(),
    db.selectFrom('meet_api_room_attendee').selectAll().execute(),
  ]);
  return {
    users: byId(users, id),
    applications: byId(applications, id),
    application_domains: byId(domains, id),
    rooms: byId(rooms, id),
    room_accesses: byId(accesses, id),
    room_attendees: byId(attendees, (row) => `${String(row.room_id)}:${String(row.email_lookup)}`),
  };
}

interface TableChange {
  added: string[];
  removed: string[];
  changed: string[];
}
type StoreDiff = Partial<Record<Table, TableChange>>;

function diff(before: Snapshot, after: Snapshot): StoreDiff {
  const out: StoreDiff = {};
  for (const table of TABLES) {
    const change: TableChange = { added: [], removed: [], changed: [] };
    for (const [id, row] of after[table]) {
      const old = before[table].get(id);
      if (old === undefined) change.added.push(id);
      else if (old !== row) change.changed.push(id);
    }
    for (const id of before[table].keys()) if (!after[table].has(id)) change.removed.push(id);
    if (change.added.length + change.removed.length + change.changed.length > 0) out[table] = change;
  }
  return out;
}

function roomOf(snap: Snapshot, table: 'room_accesses' | 'room_attendees', id: string): string | undefined {
  const row = snap[table].get(id);
  return row === undefined ? undefined : (JSON.parse(row) as { room_id: string }).room_id;
}

function describeDiff(changes: StoreDiff): string {
  return Object.entries(changes)
    .map(([table, c]) => `${table}: +${c.added.length} -${c.removed.length} ~${c.changed.length}`)
    .join(', ');
}

/**
 * Whether the change in the store is one the answer owns up to. Only a 2xx of a route that
 * writes may change anything, and only what it says: POST /rooms/ 201, the room it shows
 * and its owner's access; PATCH 200, the room it shows and that room's attendees; DELETE
 * 204, one room with its accesses and attendees. A 201 or 204 that wrote nothing lies too.
 */
export function judgeWrites(request: RenderedRequest, first: WireResponse | undefined, before: Snapshot, after: Snapshot): Violation | undefined {
  const changes = diff(before, after);
  const tables = Object.keys(changes) as Table[];
  const only = (...allowed: Table[]) => tables.every((table) => allowed.includes(table));
  const status = first?.status;
  const shown = first === undefined ? undefined : (parseJson(first.body) as { id?: unknown } | undefined)?.id;
  const fail = (why: string): Violation => ({ check: 'writes', message: `${why} (store: ${describeDiff(changes) || 'unchanged'})`, response: first });

  if (request.method === 'POST' && status === 201 && typeof shown === 'string') {
    const rooms = changes.rooms;
    const accesses = changes.room_accesses;
    const ok =
      only('rooms', 'room_accesses') &&
      rooms?.added.length === 1 && rooms.added[0] === shown && rooms.removed.length + rooms.changed.length === 0 &&
      accesses?.added.length === 1 && accesses.removed.length + accesses.changed.length === 0 && roomOf(after, 'room_accesses', accesses.added[0]!) === shown;
    return ok ? undefined : fail(`201 for room ${shown}, but the store did not gain exactly that room and its owner's access`);
  }
  if (request.method === 'PATCH' && status === 200 && typeof shown === 'string') {
    const attendees = changes.room_attendees;
    // Beside Meet attendees are member accesses on the room, and an unknown email gets a
    // provisional user: those may change too, and only so.
    const memberAccesses = changes.room_accesses;
    const meetAttendeeWrites =
      TEST_LAYOUT === 'meet' &&
      (changes.users === undefined || changes.users.removed.length + changes.users.changed.length === 0) &&
      (memberAccesses === undefined ||
        (memberAccesses.changed.length === 0 &&
          memberAccesses.added.every((id) => roomOf(after, 'room_accesses', id) === shown) &&
          memberAccesses.removed.every((id) => roomOf(before, 'room_accesses', id) === shown)));
    const ok =
      (only('rooms', 'room_attendees') || (meetAttendeeWrites && only('rooms', 'room_attendees', 'room_accesses', 'users'))) &&
      (changes.rooms === undefined || (changes.rooms.added.length + changes.rooms.removed.length === 0 && changes.rooms.changed.every((id) => id === shown))) &&
      (attendees === undefined ||
        [...attendees.added, ...attendees.changed].every((id) => roomOf(after, 'room_attendees', id) === shown) &&
          attendees.removed.every((id) => roomOf(before, 'room_attendees', id) === shown));
    return ok ? undefined : fail(`200 for room ${shown}, but something else than that room and its attendees changed`);
  }
  if (request.method === 'DELETE' && status === 204) {
    const removed = changes.rooms?.removed ?? [];
    const room = removed[0];
    const ok =
      removed.length === 1 &&
      only('rooms', 'room_accesses', 'room_attendees') &&
      changes.rooms!.added.length + changes.rooms!.changed.length === 0 &&
      (['room_accesses', 'room_attendees'] as const).every((table) => {
        const c = changes[table];
        const left = [...after[table].keys()].some((id) => roomOf(after, table, id) === room);
        return !left && (c === undefined || (c.added.length + c.changed.length === 0 && c.removed.every((id) => roomOf(before, table, id) === room)));
      });
    return ok ? undefined : fail('204, but the store did not lose exactly one room with its accesses and attendees');
  }
  return tables.length === 0 ? undefined : fail(`the store changed, but the answer was ${status ?? 'none'}${status === undefined ? '' : ` to ${request.method}`}`);
}

// ---------------------------------------------------------------------------------------
// The answers.

export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/**
 * Why an answer may have no JSON body, or undefined when it must have one: the answer to a
 * HEAD request (no body at all), a 204, and the reference page's own successes and
 * redirects (`/docs`: its HTML, script, style and image files, `/docs/yaml`, 302 to the
 * page, 304 and 206 to conditional and range requests). Every error, there too, is JSON.
 */
export function withoutJson(request: RenderedRequest, response: WireResponse, index: number): string | undefined {
  if (index === 0 && request.method === 'HEAD') return 'HEAD';
  if (response.status === 204) return '204';
  if (index === 0 && response.status < 400 && safeDecode(request.path).startsWith(DOCS_PREFIX)) return 'reference page';
  return undefined;
}

function judgeResponse(request: RenderedRequest, response: WireResponse, index: number): Violation[] {
  const out: Violation[] = [];
  if (!(response.status >= 200 && response.status < 500)) out.push({ check: 'status', message: `status ${response.statusLine || '(none)'}`, response });
  if (withoutJson(request, response, index) !== undefined) return out;
  const type = header(response, 'content-type');
  const body = parseJson(response.body);
  if (type !== JSON_TYPE) out.push({ check: 'json', message: `Content-Type ${JSON.stringify(type)} instead of ${JSON_TYPE}`, response });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) out.push({ check: 'json', message: `body is not a JSON object: ${JSON.stringify(response.body.toString('latin1').slice(0, 120))}`, response });
  return out;
}

/** Hosts a link may name: those the request gave (Host, an absolute target's authority), or the server's own address. */
function allowedHosts(request: RenderedRequest, ownHost: string): Set<string> {
  const hosts = new Set<string>([ownHost]);
  for (const authority of [...request.hosts.map((h) => `http://${h}`), ...(request.targetAuthority === undefined ? [] : [request.targetAuthority])]) {
    try {
      hosts.add(new URL(authority).host);
    } catch {
      // An unparsable Host names nothing a link may point to.
    }
  }
  return hosts;
}

/** `next`, `previous` and `Location` are absolute http URLs of this server, on the resource's own path. */
function judgeLinks(request: RenderedRequest, response: WireResponse, ownHost: string): Violation[] {
  if (response.status < 200 || response.status >= 300) return [];
  const body = parseJson(response.body) as Record<string, unknown> | undefined;
  const links: Array<[string, unknown, string]> = [];
  if (body !== null && typeof body === 'object') {
    for (const name of ['next', 'previous']) if (typeof body[name] === 'string') links.push([name, body[name], safeDecode(request.path)]);
  }
  const location = header(response, 'location');
  if (location !== undefined && response.status === 201) links.push(['Location', location, `${API}/rooms/${String(body?.id)}/`]);
  const hosts = allowedHosts(request, ownHost);
  const out: Violation[] = [];
  for (const [name, link, path] of links) {
    let url: URL;
    try {
      url = new URL(String(link));
    } catch {
      out.push({ check: 'links', message: `${name} is not a URL: ${JSON.stringify(link)}`, response });
      continue;
    }
    if (url.protocol !== 'http:' || !hosts.has(url.host) || safeDecode(url.pathname) !== path) {
      out.push({ check: 'links', message: `${name} ${JSON.stringify(link)} is not http://{${[...hosts].join(' | ')}}${path}`, response });
    }
  }
  return out;
}

/** A token that is not, character for character, one the server signed is never accepted. */
function judgeToken(request: RenderedRequest, response: WireResponse): Violation[] {
  const token = request.token;
  if (token === undefined || token.signedByServer || token.sent === token.original) return [];
  if (response.status < 200 || response.status >= 300) return [];
  const body = parseJson(response.body) as Record<string, unknown> | undefined;
  const roomsAnswer = response.status === 204 || (body !== undefined && body !== null && (Array.isArray(body.results) || typeof body.slug === 'string'));
  return roomsAnswer ? [{ check: 'token', message: `a tampered token was accepted: ${JSON.stringify(token.sent)} (issued: ${JSON.stringify(token.original)})`, response }] : [];
}

/** Every answer in the exchange, judged; plus whether there was one at all, whole, in time. */
export function judgeExchange(request: RenderedRequest, exchange: WireExchange, ownHost: string, timeoutMs: number): Violation[] {
  const out: Violation[] = [];
  if (exchange.end === 'timeout') {
    out.push({ check: 'answer', message: exchange.responses.length === 0 ? `no answer within ${timeoutMs} ms` : `answered, but the connection was still open after ${timeoutMs} ms` });
  } else if (exchange.responses.length === 0) {
    out.push({ check: 'answer', message: `connection ${exchange.end === 'error' ? `failed (${exchange.error})` : 'closed'} without an answer` });
  }
  if (exchange.leftover.length > 0) out.push({ check: 'answer', message: `unparsable or truncated answer bytes: ${JSON.stringify(exchange.leftover.toString('latin1').slice(0, 200))}` });
  exchange.responses.forEach((response, index) => out.push(...judgeResponse(request, response, index)));
  const first = exchange.responses[0];
  if (first !== undefined) out.push(...judgeLinks(request, first, ownHost), ...judgeToken(request, first));
  return out;
}
