/**
 * Generated HTTP requests for the fuzz suite: what a request is (a plain, printable
 * description that fast-check shows and shrinks), the arbitraries that produce one, and its
 * rendering into the bytes sent.
 *
 * A description names fixture values by symbol (`{room: 'deletable', as: 'slug'}`, token
 * `ada-all`, the placeholder «client_id» in a body) and keeps big inputs as sizes, so a
 * counterexample reads short; `render` resolves them against the running fixture.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';

// ---------------------------------------------------------------------------------------
// What a request is.

export type RouteName = 'token' | 'rooms' | 'room' | 'admission' | 'healthz' | 'readyz' | 'openapi' | 'docs' | 'unknown';
export type RoomRef = 'deletable' | 'restricted' | 'foreign' | 'member';
export type TokenRef = 'ada-all' | 'ada-read' | 'ada-none' | 'bob-all' | 'ada-disabled-app' | 'carol-disabled-user';

/** A room in a path: a fixture room by id or slug (as stored, or upper-cased), or a literal segment. */
export type RoomKey = { room: RoomRef; as: 'id' | 'ID' | 'slug' | 'SLUG' } | { literal: string };

/** A change made to the path after it is written. */
export type Mangle =
  | { op: 'encode'; at: number } // percent-encode one character (a valid encoding)
  | { op: 'insert'; at: number; text: string } // raw text inserted
  | { op: 'double-slash'; at: number }
  | { op: 'upper' };

export interface PathSpec {
  route: RouteName;
  /** room and admission: the room segment. */
  key?: RoomKey;
  /** docs: what follows /docs (a file, json, yaml...); unknown: the whole path. */
  rest?: string;
  /** Flip the trailing slash (every route answers both ways). */
  flipSlash: boolean;
  mangles: Mangle[];
}

export interface TargetSpec {
  form: 'origin' | 'absolute' | 'asterisk';
  /** absolute form: scheme and authority written before the path. */
  authority?: string;
  path: PathSpec;
  /** Written after '?' as is; null: no '?'. */
  query: string | null;
}

export type HostSpec = { kind: 'real' } | { kind: 'none' } | { kind: 'value'; value: string } | { kind: 'twice'; value: string };

/** How the body's length is told. */
export type Framing =
  | { kind: 'length'; delta: number } // Content-Length: size + delta (< 0: the rest trails the message; > 0: unfinished)
  | { kind: 'chunked'; chunk: number; last: boolean; sizes: 'lower' | 'upper' | 'extension' | 'garbage' }
  | { kind: 'none' } // no length: any body bytes trail the message
  | { kind: 'length-and-chunked' }
  | { kind: 'length-twice'; second: number } // a second Content-Length: size + second
  | { kind: 'raw-length'; value: string } // Content-Length written as is
  | { kind: 'transfer-encoding'; value: string }; // Transfer-Encoding written as is, body bytes unencoded

export interface HeadSpec {
  version: string;
  host: HostSpec;
  connection: string | null;
  contentType: string | null;
  accept: string | null;
  expect: string | null;
  /** Extra header lines, "name: value", written as is. */
  extra: Array<[string, string]>;
  /** Lines written as is among the headers (no colon, folded lines...). */
  rawLines: string[];
  lineEnd: '\r\n' | '\n';
  /** The head stops before its final empty line: an unfinished message. */
  truncated: boolean;
}

export type BodySpec =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'form'; fields: Array<[string, string]> }
  | { kind: 'text'; text: string; encoding: 'utf8' | 'latin1' }
  | { kind: 'sized'; bytes: number; shape: 'json-string' | 'form' | 'garbage' }
  | { kind: 'nested'; depth: number; shape: 'arrays' | 'objects' | 'unclosed' | 'field' };

export type TokenMutation =
  | { kind: 'none' }
  | { kind: 'char'; part: 0 | 1 | 2; at: number; to: string } // one character replaced
  | { kind: 'unused-bits'; part: 0 | 1 | 2 } // the last character's unused low bits changed
  | { kind: 'alphabet'; part: 0 | 1 | 2 } // '-' and '_' written as standard base64 '+' and '/'
  | { kind: 'padding'; part: 0 | 1 | 2 } // '=' padding added
  | { kind: 'alg'; alg: 'none' | 'HS384' | 'HS512' | 'RS256' } // header alg changed, signed with the server's key (none: empty signature)
  | { kind: 'claims'; set: Record<string, unknown>; drop: string[]; signature: 'kept' | 'other-key' | 'server-key' }
  | { kind: 'cut'; keep: number }
  | { kind: 'append'; text: string }
  | { kind: 'segments'; op: 'drop-signature' | 'empty-signature' | 'extra-segment' | 'swap' }
  | { kind: 'huge'; size: number }; // a padding claim of that many characters, signature kept

export type AuthSpec =
  | { kind: 'none' }
  | { kind: 'raw'; value: string }
  | { kind: 'basic'; user: string; password: string }
  | { kind: 'bearer'; scheme: string; token: TokenRef; mutation: TokenMutation; after: string }
  | { kind: 'internal'; scheme: string; mutation: 'none' | 'char' | 'cut' | 'append' | 'case' };

export interface RequestSpec {
  method: string;
  target: TargetSpec;
  head: HeadSpec;
  auth: AuthSpec;
  body: BodySpec;
  framing: Framing;
  /** Bytes after the message, written as is (a second message, or garbage). */
  trailing: string | null;
}

// ---------------------------------------------------------------------------------------
// The fixture a request is rendered against.

export interface FuzzFixture {
  /** host:port of the server. */
  host: string;
  rooms: Record<RoomRef, { id: string; slug: string }>;
  tokens: Record<TokenRef, string>;
  internalToken: string;
  jwtKey: string;
  /** «name» → value, replaced inside any string of a body, a Basic credential or a claim. */
  placeholders: Record<string, string>;
  bodyLimit: number;
}

export const API = '/external-api/v1.0';
const ROUTE_PATHS: Record<Exclude<RouteName, 'unknown'>, string> = {
  token: `${API}/application/token/`,
  rooms: `${API}/rooms/`,
  room: `${API}/rooms/{key}/`,
  admission: '/internal-api/v1.0/rooms/{key}/admission',
  healthz: '/healthz',
  readyz: '/readyz',
  openapi: `${API}/openapi.json`,
  docs: `${API}/docs`,
};
export const DOCS_PREFIX = `${API}/docs`;

// ---------------------------------------------------------------------------------------
// Arbitraries: building blocks.

const weighted = <T>(...pairs: Array<[number, fc.Arbitrary<T>]>): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));
const printable = (maxLength: number) => fc.string({ maxLength });
const unicode = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
/** Strings with any UTF-16 unit, lone surrogates and NUL included. */
const anyUnits = (maxLength: number) => fc.string({ unit: 'binary', maxLength });
const latin1 = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength });
const controls = fc.constantFrom('\u0000', '\u0001', '\u0007', '\u000b', '\u001f', '\u007f', '\t');

export const COMMON_METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'] as const;
const ODD_METHODS = ['TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'QUERY', 'PURGE', 'REPORT', 'LINK', 'M-SEARCH', 'CONNECT', 'get', 'post', 'Get', 'delete'];

export const methodArb: fc.Arbitrary<string> = weighted<string>(
  [12, fc.constantFrom(...COMMON_METHODS)],
  [5, fc.constantFrom(...ODD_METHODS)],
  [2, fc.stringMatching(/^[A-Z][A-Z_-]{0,11}$/)],
  [1, fc.constantFrom('', 'G ET', 'GET\t', '\u00c4GET', 'GET/1', 'X'.repeat(300))],
);

/** Integers as a query string may spell them, and things that are not integers. */
const integerText = weighted<string>(
  [4, fc.integer({ min: -3, max: 130 }).map(String)],
  [
    4,
    fc.constantFrom(
      '0', '1', '2', '-1', '+5', ' 5 ', '5.0', '1e2', '0x10', '0b1', '1_000', '\u0663', '\uff11', '', ' ', 'NaN', 'Infinity', '-0', '00', '007',
      '2147483648', '4294967296', '9007199254740991', '9007199254740993', '92233720368547758', '461168601842738791',
      '9223372036854775807', '9223372036854775808', '18446744073709551616', '1' + '0'.repeat(21), '9'.repeat(400),
    ),
  ],
  [2, fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String)],
  [1, fc.stringMatching(/^[0-9]{15,25}$/)],
  [1, fc.double().map(String)],
);

/** Percent-encodings, valid and broken. */
const percentJunk = fc.constantFrom('%', '%Z1', '%0', '%00', '%E0%A4%A', '%C0%AF', '%FF%FE', '%2F', '%2e%2e', '%C3%A9', '%E2%98%83', '%ED%A0%80', '%25', '%u0041', '%%%');

const queryValue = weighted<string>(
  [6, integerText],
  [2, fc.constantFrom('abc-defg-hij', 'ABC-DEFG-HIJ', 'abc-defg-hi', '«slug»', '')],
  [2, printable(20).map(encodeURIComponent)],
  [1, printable(20)],
  [1, percentJunk],
  [1, unicode(8)],
);
const queryName = weighted<string>(
  [8, fc.constantFrom('page', 'page_size', 'slug')],
  [2, fc.constantFrom('PAGE', 'page[]', 'page%5B%5D', 'page.x', 'limit', 'offset', 'ordering', '__proto__', 'constructor', '')],
  [1, printable(10).map(encodeURIComponent)],
);
const queryPart = weighted<string>(
  [10, fc.tuple(queryName, queryValue).map(([name, value]) => `${name}=${value}`)],
  [1, queryName],
  [1, fc.constantFrom('=1', '&', '==', 'page==2', 'page=1=2', '#frag', ';', 'page=1;page_size=2')],
);
export const queryArb: fc.Arbitrary<string | null> = weighted<string | null>(
  [4, fc.constant(null)],
  [8, fc.array(queryPart, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('&'))],
  [1, fc.constantFrom('', '&&&', '%%%=%%%', '?', 'x=' + 'c'.repeat(5000))],
);

/** Odd path segments: traversal, encodings valid and broken, unicode, very long, near-ids. */
const oddSegment = weighted<string>(
  [
    4,
    fc.constantFrom(
      '..', '.', '%2e%2e', '..%2F..%2Fhealthz', '%00', '%', '%ZZ', '%E0%A4%A', '%C0%AF', '%FF%FE', '%2F', 'a%2Fb', '%20', '+', ';x=1',
      'abc-defg-hij', 'ABC-DEFG-HIJ', 'abc-defg-hi', 'abc-defg-hijk', '00000000-0000-0000-0000-000000000000', 'null', 'undefined',
      '__proto__', 'constructor', '\u00e9', '%C3%A9', '\u2603', '%E2%98%83', '*', '~', 'a b',
    ),
  ],
  [2, fc.uuid().map((uuid) => weirdUuid(uuid))],
  [2, printable(30).filter((s) => s.length > 0)],
  [1, unicode(10).filter((s) => s.length > 0)],
  [1, fc.integer({ min: 80, max: 20_000 }).map((n) => 'a'.repeat(n))],
);

function weirdUuid(uuid: string): string {
  const forms = [uuid, uuid.toUpperCase(), `{${uuid}}`, uuid.replace(/-/g, ''), `urn:uuid:${uuid}`, ` ${uuid}`, `${uuid}x`];
  return forms[uuid.charCodeAt(0) % forms.length]!;
}

const roomKeyArb: fc.Arbitrary<RoomKey> = weighted<RoomKey>(
  [8, fc.record({ room: fc.constantFrom<RoomRef>('deletable', 'restricted', 'foreign', 'member'), as: fc.constantFrom<'id' | 'ID' | 'slug' | 'SLUG'>('id', 'ID', 'slug', 'SLUG') })],
  [2, fc.uuid().map((literal) => ({ literal }))],
  [3, oddSegment.map((literal) => ({ literal }))],
);

const DOCS_RESTS = [
  '', '/', '/static/index.html', '/static/swagger-initializer.js', '/static/swagger-ui.css', '/static/index.css', '/static/logo.svg',
  '/static/favicon-32x32.png', '/static/oauth2-redirect.html', '/json', '/yaml', '/static/nope.js', '/static/', '/static/../../package.json',
  '/static/%2e%2e/%2e%2e/package.json', '/static/..%2F..%2Fpackage.json', '/uiConfig', '/initOAuth', '/static/%00',
];
const UNKNOWN_PATHS = [
  '/', '/external-api', `${API}`, `${API}/`, '/external-api/v2.0/rooms/', '/internal-api/v1.0/rooms/', '/internal-api/v1.0/rooms/x/',
  '/favicon.ico', '/robots.txt', '/.env', `${API}/rooms/x/y/`, `${API}/application/`, `${API}/application/token/x`, '/healthz/x', '/%2e%2e/healthz',
  `${API}/rooms/abc-defg-hij/admission`, '/internal-api/v1.0/rooms//admission',
];

const mangleArb: fc.Arbitrary<Mangle> = weighted<Mangle>(
  [3, fc.nat().map((at) => ({ op: 'encode' as const, at }))],
  [3, fc.tuple(fc.nat(), weighted<string>([3, percentJunk], [2, fc.constantFrom('/..', '/.', '//', '/%2e%2e', '\u00e9', '\u2603', ';', '%00', '?x', '#')], [1, printable(5)])).map(([at, text]) => ({ op: 'insert' as const, at, text }))],
  [2, fc.nat().map((at) => ({ op: 'double-slash' as const, at }))],
  [1, fc.constant({ op: 'upper' as const })],
);
const manglesArb = weighted<Mangle[]>([6, fc.constant([])], [2, fc.array(mangleArb, { minLength: 1, maxLength: 2 })]);

export function pathArb(route: RouteName, mangles: fc.Arbitrary<Mangle[]> = manglesArb): fc.Arbitrary<PathSpec> {
  const key = route === 'room' || route === 'admission' ? roomKeyArb : fc.constant(undefined);
  const rest = route === 'docs' ? fc.constantFrom(...DOCS_RESTS) : route === 'unknown' ? weighted<string>([3, fc.constantFrom(...UNKNOWN_PATHS)], [1, printable(30).map((s) => `/${s}`)]) : fc.constant(undefined);
  return fc.record({ route: fc.constant(route), key, rest, flipSlash: weighted<boolean>([5, fc.constant(false)], [1, fc.constant(true)]), mangles }).map((spec) => {
    const out: PathSpec = { route: spec.route, flipSlash: spec.flipSlash, mangles: spec.mangles };
    if (spec.key !== undefined) out.key = spec.key;
    if (spec.rest !== undefined) out.rest = spec.rest;
    return out;
  });
}

const ROUTES: RouteName[] = ['token', 'rooms', 'room', 'admission', 'healthz', 'readyz', 'openapi', 'docs', 'unknown'];
export const anyPathArb: fc.Arbitrary<PathSpec> = fc.constantFrom(...ROUTES).chain(pathArb);

/** What an absolute-form target puts before the path. */
const authorityArb = fc.constantFrom('http://evil.example', 'http://«host»', 'https://evil.example:8443', 'http://user:pw@evil.example', 'HTTP://EVIL.EXAMPLE', 'ftp://evil.example', 'http://[::1]', 'http://');

export function targetArb(path: fc.Arbitrary<PathSpec>, query: fc.Arbitrary<string | null>, forms: 'origin' | 'any'): fc.Arbitrary<TargetSpec> {
  const form = forms === 'origin' ? fc.constant<TargetSpec['form']>('origin') : weighted<TargetSpec['form']>([8, fc.constant('origin')], [2, fc.constant('absolute')], [1, fc.constant('asterisk')]);
  return fc.record({ form, authority: authorityArb, path, query }).map(({ form: f, authority: a, path: p, query: q }) => (f === 'absolute' ? { form: f, authority: a, path: p, query: q } : { form: f, path: p, query: q }));
}

// Headers.

const HOST_VALUES = [
  'evil.example', 'EVIL.example:8080', '[::1]:80', '127.0.0.1', 'localhost', 'localhost:99999', 'a b', '', 'evil.example/x?y#z',
  'user@evil.example', '\u00e9vil.example', 'evil.example:abc', 'evil.example:', ':80', '[::1', 'evil.example, other.example',
];
/** A Host header: the real one (`real` times in 16), none, another or an invalid value, two of them. */
export function hostArb(real = 10): fc.Arbitrary<HostSpec> {
  return weighted<HostSpec>(
    [real, fc.constant({ kind: 'real' as const })],
    [2, fc.constant({ kind: 'none' as const })],
    [3, fc.constantFrom(...HOST_VALUES).map((value) => ({ kind: 'value' as const, value }))],
    [1, fc.constantFrom('evil.example', '«host»').map((value) => ({ kind: 'twice' as const, value }))],
  );
}

export const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'APPLICATION/JSON', 'application/json; charset="utf-8"',
  'application/json ; charset=utf-8', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json; charset=',
  'application/json; boundary=x', 'application/json, text/plain', 'application/vnd.api+json', 'application/jsonx', 'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-8', 'multipart/form-data; boundary=XyZ', 'multipart/form-data', 'text/plain', 'text/plain;charset=UTF-8',
  'text/html', 'application/xml', 'application/octet-stream', '*/*', '', ';', 'garbage', 'application/', '/json', 'application/json\u0000',
];
const contentTypeArb = weighted<string | null>([3, fc.constant(null)], [8, fc.constantFrom(...CONTENT_TYPES)], [1, printable(30)]);

const HEADER_NAMES = [
  'X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Forwarded-For', 'Forwarded', 'Content-Encoding', 'Accept-Encoding', 'Accept-Language', 'Cookie', 'Origin',
  'Referer', 'User-Agent', 'Range', 'If-None-Match', 'If-Modified-Since', 'X-HTTP-Method-Override', 'Upgrade', 'TE', 'Trailer', 'Via', 'Max-Forwards',
  'Authorization', 'Content-Type', 'Cache-Control', 'Pragma', 'X-Request-Id', 'Proxy-Authorization', 'Content-Range', 'Content-Language',
];
const headerNameArb = weighted<string>(
  [8, fc.constantFrom(...HEADER_NAMES)],
  [3, fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}$/)],
  [1, fc.constantFrom('Bad Header', 'X:Y', '\u00c4', 'X-\u0001', '(x)', '"quoted"', 'X-A\t')],
);
const headerValueArb = weighted<string>(
  [6, printable(40)],
  [2, fc.constantFrom('bytes=0-10', 'bytes=99999999-', 'gzip', 'br, gzip', '*', 'https://evil.example', 'evil.example', 'a=b; c=d', 'websocket', 'h2c', 'trailers', 'DELETE', '0', '-1')],
  [1, latin1(10)],
  [1, fc.tuple(printable(5), controls, printable(5)).map((parts) => parts.join(''))],
  [1, fc.integer({ min: 4_000, max: 20_000 }).map((n) => 'v'.repeat(n))],
);
export const extraHeadersArb = weighted<Array<[string, string]>>([6, fc.constant([])], [4, fc.array(fc.tuple(headerNameArb, headerValueArb), { minLength: 1, maxLength: 3 })]);

export const acceptArb = weighted<string | null>([6, fc.constant(null)], [3, fc.constantFrom('application/json', 'text/html', '*/*', 'application/xml', 'text/html;q=0.9, */*;q=0.1', 'garbage;;;', '')], [1, printable(20)]);
export const expectArb = weighted<string | null>([20, fc.constant(null)], [1, fc.constantFrom('100-continue', '100-Continue', '200-ok', 'garbage', '', '100-continue, foo')]);

export function headArb(options: { host: fc.Arbitrary<HostSpec>; version: fc.Arbitrary<string>; contentType: fc.Arbitrary<string | null>; odd: boolean }): fc.Arbitrary<HeadSpec> {
  return fc.record({
    version: options.version,
    host: options.host,
    connection: options.odd ? weighted<string | null>([6, fc.constant('close')], [2, fc.constantFrom(null, 'keep-alive')], [1, fc.constantFrom('Close', 'Upgrade', 'close, keep-alive', 'TE', 'keep-alive, Upgrade', '')]) : fc.constant('close'),
    contentType: options.contentType,
    accept: acceptArb,
    expect: options.odd ? expectArb : fc.constant(null),
    extra: extraHeadersArb,
    rawLines: options.odd
      ? weighted<string[]>([10, fc.constant([])], [1, fc.array(fc.constantFrom(' folded-continuation', '\tfolded', 'NoColonHere', 'X-Space : before-colon', ': no-name', 'X-A:', 'X-Nul: a\u0000b', 'X-CR: a\rb'), { minLength: 1, maxLength: 2 })])
      : fc.constant([]),
    lineEnd: options.odd ? weighted<'\r\n' | '\n'>([30, fc.constant('\r\n')], [1, fc.constant('\n')]) : fc.constant('\r\n'),
    truncated: options.odd ? weighted<boolean>([40, fc.constant(false)], [1, fc.constant(true)]) : fc.constant(false),
  });
}
export const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/9.9', 'http/1.1', 'HTTP/1.1 ', ''];
export const oddVersionArb = weighted<string>([14, fc.constant('HTTP/1.1')], [3, fc.constant('HTTP/1.0')], [1, fc.constantFrom(...VERSIONS)]);

export const framingArb: fc.Arbitrary<Framing> = weighted<Framing>(
  [14, fc.constant({ kind: 'length' as const, delta: 0 })],
  [2, fc.integer({ min: -5, max: 5 }).filter((d) => d !== 0).map((delta) => ({ kind: 'length' as const, delta }))],
  [
    3,
    fc.record({
      kind: fc.constant('chunked' as const),
      chunk: fc.integer({ min: 1, max: 4096 }),
      last: weighted<boolean>([4, fc.constant(true)], [1, fc.constant(false)]),
      sizes: fc.constantFrom<'lower' | 'upper' | 'extension' | 'garbage'>('lower', 'upper', 'extension', 'garbage'),
    }),
  ],
  [1, fc.constant({ kind: 'none' as const })],
  [1, fc.constant({ kind: 'length-and-chunked' as const })],
  [1, fc.integer({ min: -1, max: 1 }).map((second) => ({ kind: 'length-twice' as const, second }))],
  [1, fc.constantFrom('abc', '-1', '+2', '0x2', '1e1', '', '1 2', '1.0', '99999999999999999999').map((value) => ({ kind: 'raw-length' as const, value }))],
  [1, fc.constantFrom('gzip', 'chunked, gzip', 'gzip, chunked', 'identity', 'Chunked', ' chunked', 'chunked\t', 'xchunked').map((value) => ({ kind: 'transfer-encoding' as const, value }))],
);

export const trailingArb = weighted<string | null>(
  [8, fc.constant(null)],
  // Garbage the server refuses at once, a second request, bytes it waits on, an empty line it skips.
  [1, fc.constantFrom('GARBAGE\r\n\r\n', '{"x":1}', '\u0000\r\n', '}', 'x', 'GET /healthz HTTP/1.1\r\nHost: «host»\r\nConnection: close\r\n\r\n', '\r\n', 'POST')],
);

// Bodies.

const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(1e300),
  fc.string({ maxLength: 10 }),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

/** A text field: one of the right values (or one padded or re-cased), a wrong type, blank, odd text. */
function textField(valid: string[]): fc.Arbitrary<unknown> {
  return weighted<unknown>(
    [8, fc.constantFrom(...valid)],
    [1, fc.constantFrom(...valid).map((v) => ` ${v}\t`)],
    [1, fc.constantFrom(...valid).map((v) => v.toUpperCase())],
    [3, wrongType],
    [2, fc.constantFrom('', ' ', '\t\n', '\u0000', 'x'.repeat(300), '\u00e9', '\ud800', '«client_id»\u0000')],
    [1, anyUnits(20)],
  );
}

/** A record with each field present or absent. */
function fields(shape: Record<string, fc.Arbitrary<unknown>>, presence = 6): fc.Arbitrary<Record<string, unknown>> {
  const entries = Object.entries(shape).map(([name, arbitrary]) => weighted<[string, unknown] | undefined>([presence, arbitrary.map((value): [string, unknown] => [name, value])], [1, fc.constant(undefined)]));
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs.filter((pair): pair is [string, unknown] => pair !== undefined)));
}

const extraFields = weighted<Record<string, unknown>>(
  [6, fc.constant({})],
  [2, fc.dictionary(fc.constantFrom('id', 'slug', 'name', 'pin_code', 'owner', 'is_active', 'scope', 'extra', 'attendee'), wrongType, { maxKeys: 2 })],
  [1, fc.dictionary(printable(8), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 })],
);

export const tokenFieldsArb = fc.tuple(
  fields({
    client_id: textField(['«client_id»', '«client_id»', '«disabled_client_id»', '«domain_client_id»', 'unknown-client']),
    client_secret: textField(['«client_secret»', '«client_secret»', '«domain_secret»', 'wrong-secret']),
    grant_type: textField(['client_credentials', 'client_credentials', 'password', 'authorization_code', 'CLIENT_CREDENTIALS']),
    scope: textField(['«email»', '«email»', '«bob_email»', 'nobody@example.com', 'ada@other.example', 'not-an-email', '«email» extra', 'a@b']),
  }),
  extraFields,
).map(([known, extra]) => ({ ...extra, ...known }));

const MEDIA_SOURCES = ['camera', 'microphone', 'screen_share', 'screen_share_audio'];
const accessLevelArb = weighted<unknown>([6, fc.constantFrom('public', 'trusted', 'restricted')], [2, fc.constantFrom('PUBLIC', 'Trusted', '', ' trusted ', 'open', 'private', 'restricted\u0000')], [2, wrongType]);
const configurationArb = weighted<unknown>(
  [2, fc.constantFrom(null, {})],
  [
    6,
    fc.tuple(
      fields({
        can_publish_sources: weighted<unknown>(
          [4, fc.subarray(MEDIA_SOURCES)],
          [2, fc.array(fc.oneof(fc.constantFrom(...MEDIA_SOURCES, 'CAMERA', 'hologram', ''), wrongType), { maxLength: 5 })],
          [1, fc.constant(null)],
          [1, wrongType],
        ),
        everyone_can_mute: weighted<unknown>([4, fc.boolean()], [1, fc.constant(null)], [2, wrongType]),
      }),
      weighted<Record<string, unknown>>([5, fc.constant({})], [1, fc.dictionary(fc.constantFrom('hologram', 'CAN_PUBLISH_SOURCES', 'everyone_can_mute ', 'x'), wrongType, { maxKeys: 2 })]),
    ).map(([known, extra]) => ({ ...extra, ...known })),
  ],
  [2, wrongType],
);
const emailish = weighted<unknown>(
  [4, fc.emailAddress()],
  [2, fc.constantFrom('«email»', '«email_upper»', '«bob_email»', ' ada@example.org ', 'x@example.org', 'X@EXAMPLE.ORG')],
  [3, fc.constantFrom('not-an-email', '', 'a@b', 'a@[127.0.0.1]', 'ada@example.com\u0000', `${'l'.repeat(65)}@example.org`, '\u00e4@example.com', '"a b"@example.org', '@example.org', 'a@@b.org', 'a@b..org')],
  [1, wrongType],
);
const attendeesArb = weighted<unknown>(
  [6, fc.array(emailish, { maxLength: 6 })],
  [1, fc.integer({ min: 999, max: 1001 }).map((n) => Array.from({ length: n }, (_, i) => `a${i}@example.org`))],
  [2, wrongType],
);

export const roomCreateFieldsArb = fc.tuple(fields({ access_level: accessLevelArb, configuration: configurationArb }, 3), extraFields).map(([known, extra]) => ({ ...extra, ...known }));
export const roomUpdateFieldsArb = fc.tuple(fields({ access_level: accessLevelArb, configuration: configurationArb, attendees: attendeesArb }, 2), extraFields).map(([known, extra]) => ({ ...extra, ...known }));
export const admissionFieldsArb = fields({
  email: weighted<unknown>([5, emailish], [1, fc.constant(null)]),
  authenticated: weighted<unknown>([6, fc.boolean()], [1, fc.constantFrom('true', 1, 0, null, 'yes')], [1, wrongType]),
});

const BROKEN_JSON = [
  '{', '{"a":', "{'a': 1}", '{"a":1,}', '{"a":1}}', 'nul', 'undefined', 'NaN', '{"a":01}', '\u0000', '{"a":"\\x"}', '{"a":"\\ud800"}', '\ufeff{}', '}{', '{"a" 1}',
  '{"__proto__": {"access_level": "public"}}', '{"constructor": {"prototype": {"x": 1}}}', '{"a": {"__proto__": {"x": 1}}}', '{"access_level":"trusted","access_level":"public"}',
  '{"attendees": ["a@b.org",]}', '[{"__proto__": null}]', '1e999', '-', '"\\u0000"', '{"configuration": {"__proto__": {}}}', ' ', '\r\n',
];
const INVALID_UTF8 = ['\u00c3\u0028', '\u00e2\u0082', '\u00ed\u00a0\u0080', '\u00ff', '{"access_level":"\u00ff"}', '{"client_id":"caf\u00e9"}', '{"attendees":["\u00c3@example.org"]}', '\u00ef\u00bb\u00bf{}'];

/** Bodies whatever the route: JSON that is not an object, broken JSON, forms, garbage, huge or deep. */
export const genericBodyArb: fc.Arbitrary<BodySpec> = weighted<BodySpec>(
  [3, fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value }))],
  [3, fc.constantFrom(...BROKEN_JSON).map((text) => ({ kind: 'text' as const, text, encoding: 'utf8' as const }))],
  [2, fc.constantFrom(...INVALID_UTF8).map((text) => ({ kind: 'text' as const, text, encoding: 'latin1' as const }))],
  [1, fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'text' as const, text: Buffer.from(bytes).toString('latin1'), encoding: 'latin1' as const }))],
  [1, unicode(40).map((text) => ({ kind: 'text' as const, text, encoding: 'utf8' as const }))],
  [1, fc.array(fc.tuple(printable(10), printable(10)), { maxLength: 4 }).map((formFields) => ({ kind: 'form' as const, fields: formFields }))],
  [
    1,
    fc.record({
      kind: fc.constant('sized' as const),
      bytes: fc.constantFrom(-100, -1, 0, 1, 4096), // relative to BODY_LIMIT_BYTES, resolved when rendered
      shape: fc.constantFrom<'json-string' | 'form' | 'garbage'>('json-string', 'form', 'garbage'),
    }),
  ],
  [1, fc.record({ kind: fc.constant('nested' as const), depth: fc.constantFrom(64, 1_000, 10_000, 30_000), shape: fc.constantFrom<'arrays' | 'objects' | 'unclosed' | 'field'>('arrays', 'objects', 'unclosed', 'field') })],
);

// Authorization.

const TOKEN_REFS: TokenRef[] = ['ada-all', 'ada-read', 'ada-none', 'bob-all', 'ada-disabled-app', 'carol-disabled-user'];
const B64URL = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

const claimChanges = fields(
  {
    exp: fc.oneof(fc.constantFrom('«now-60»', '«now+60»', '«now»', 0, -1, 1e300, 2 ** 53, '1', 1.5), wrongType),
    iss: fc.oneof(fc.constantFrom('lasuite-meet', 'other', 'LASUITE-MEET', ''), wrongType),
    user_id: fc.oneof(fc.constantFrom('«ada_id»', '«bob_id»', '«ada_id_upper»', 'not-a-uuid', ''), fc.uuid(), wrongType),
    client_id: fc.oneof(fc.constantFrom('«client_id»', '«disabled_client_id»', '«domain_client_id»', 'unknown', ''), wrongType),
    delegated: fc.oneof(fc.constantFrom(true, false, 'true', 1, null)),
    scope: fc.oneof(fc.constantFrom('rooms:list', 'ROOMS:LIST rooms:create', '', 'rooms:list  rooms:delete rooms:update', 'x'.repeat(2000)), wrongType),
    aud: fc.oneof(fc.constantFrom('meet', ''), wrongType),
    nbf: fc.constantFrom('«now+60»', '«now-60»'),
  },
  1,
);

/** Re-spellings of the same bytes: in the signature they must still be refused (it is compared as text). */
const signatureMostly = fc.constantFrom<0 | 1 | 2>(2, 2, 2, 0, 1);

export const tokenMutationArb: fc.Arbitrary<TokenMutation> = weighted<TokenMutation>(
  [3, fc.record({ kind: fc.constant('char' as const), part: fc.constantFrom<0 | 1 | 2>(0, 1, 2), at: fc.nat(), to: fc.constantFrom(...B64URL, '.', '=', '+', '/', ' ', '\u00e9') })],
  [2, fc.record({ kind: fc.constant('unused-bits' as const), part: signatureMostly })],
  [2, fc.record({ kind: fc.constant('alphabet' as const), part: signatureMostly })],
  [1, fc.record({ kind: fc.constant('padding' as const), part: signatureMostly })],
  [1, fc.record({ kind: fc.constant('alg' as const), alg: fc.constantFrom<'none' | 'HS384' | 'HS512' | 'RS256'>('none', 'HS384', 'HS512', 'RS256') })],
  [
    3,
    fc.record({
      kind: fc.constant('claims' as const),
      set: claimChanges,
      drop: fc.subarray(['exp', 'iss', 'user_id', 'client_id', 'delegated', 'scope', 'iat']),
      signature: fc.constantFrom<'kept' | 'other-key' | 'server-key'>('kept', 'other-key', 'server-key', 'server-key'),
    }),
  ],
  [1, fc.record({ kind: fc.constant('cut' as const), keep: fc.nat({ max: 300 }) })],
  [1, fc.record({ kind: fc.constant('append' as const), text: fc.constantFrom('.', '=', 'A', '..', '.x', ' x', '\u00e9') })],
  [1, fc.record({ kind: fc.constant('segments' as const), op: fc.constantFrom<'drop-signature' | 'empty-signature' | 'extra-segment' | 'swap'>('drop-signature', 'empty-signature', 'extra-segment', 'swap') })],
  [1, fc.record({ kind: fc.constant('huge' as const), size: fc.constantFrom(1_000, 8_000, 20_000) })],
);

const bearerScheme = weighted<string>([8, fc.constant('Bearer')], [2, fc.constantFrom('bearer', 'BEARER', 'Bearer ', 'Bearer\t', 'Bearer  ')]);
const bearerAfter = weighted<string>([10, fc.constant('')], [1, fc.constantFrom(' extra', ' ', '\t', ', Bearer x')]);

/** A bearer token of the fixture: `genuine` ones mostly as issued, the others mostly tampered with. */
export function bearerArb(tampered: number): fc.Arbitrary<AuthSpec> {
  return fc.record({
    kind: fc.constant('bearer' as const),
    scheme: bearerScheme,
    token: weighted<TokenRef>([6, fc.constant('ada-all')], [3, fc.constantFrom(...TOKEN_REFS)]),
    mutation: weighted<TokenMutation>([10 - tampered, fc.constant({ kind: 'none' as const })], [tampered, tokenMutationArb]),
    after: bearerAfter,
  });
}

const RAW_AUTH = [
  '', ' ', 'Bearer', 'Bearer ', 'bearer\t', 'Token abc', 'Basic', 'Basic ', 'Digest x', 'Bearer a b', 'Bearer ...', 'Bearer a.b.c', 'Bearer eyJ', 'Negotiate YII=',
  'Basic !!!', 'Basic YQ', 'Basic YTpi', 'Basic =', 'Basic YWJj', 'Basic Og==', 'Basic ' + Buffer.from('«client_id»').toString('base64'), 'Bearer \u00e9', 'Bearer a\u0001b',
];
export const rawAuthArb: fc.Arbitrary<AuthSpec> = weighted<AuthSpec>(
  [3, fc.constantFrom(...RAW_AUTH).map((value) => ({ kind: 'raw' as const, value }))],
  [1, printable(40).map((value) => ({ kind: 'raw' as const, value }))],
  [1, printable(60).map((value) => ({ kind: 'raw' as const, value: `Bearer ${value}` }))],
  [1, fc.integer({ min: 1_000, max: 20_000 }).map((n) => ({ kind: 'raw' as const, value: `Bearer ${'a'.repeat(n)}` }))],
);
export const basicArb: fc.Arbitrary<AuthSpec> = fc.record({
  kind: fc.constant('basic' as const),
  user: weighted<string>([5, fc.constant('«client_id»')], [1, fc.constantFrom('«disabled_client_id»', 'unknown', '', '%', '%ZZ', 'a:b', '«client_id»%00')], [1, printable(10)]),
  password: weighted<string>([5, fc.constant('«client_secret»')], [1, fc.constantFrom('wrong', '', '%', '%E0%A4%A', '«client_secret» ')], [1, printable(10)]),
});
export const internalAuthArb: fc.Arbitrary<AuthSpec> = fc.record({
  kind: fc.constant('internal' as const),
  scheme: bearerScheme,
  mutation: weighted<'none' | 'char' | 'cut' | 'append' | 'case'>([6, fc.constant('none')], [1, fc.constantFrom<'char' | 'cut' | 'append' | 'case'>('char', 'cut', 'append', 'case')]),
});

export const anyAuthArb: fc.Arbitrary<AuthSpec> = weighted<AuthSpec>(
  [3, fc.constant({ kind: 'none' as const })],
  [6, bearerArb(4)],
  [2, rawAuthArb],
  [1, basicArb],
  [1, internalAuthArb],
);

// ---------------------------------------------------------------------------------------
// Rendering.

export interface RenderedRequest {
  bytes: Buffer;
  /** The request as text (latin1 for bytes that are not UTF-8), for failure reports. */
  text: string;
  method: string;
  version: string;
  /** The path as written in the request line (absolute form: the part after the authority), without the query. */
  path: string;
  query: string | null;
  /** Host header values sent. */
  hosts: string[];
  /** The authority of an absolute-form target. */
  targetAuthority?: string;
  expect: string | null;
  /** The bearer value sent and the token it was made from, when a fixture token was used. */
  token?: { original: string; sent: string; signedByServer: boolean };
  /** Bytes sent after the first message ends by its own framing (a body longer than its Content-Length or without one, trailing bytes). */
  extraBytes: number;
  /** When the client half-closes (wire.ts, WireOptions). */
  halfClose: 'after-write' | 'after-answer' | 'if-idle';
}

function resolvePlaceholders(text: string, fixture: FuzzFixture): string {
  return text.replace(/«([a-z_+\-0-9]+)»/g, (whole, name: string) => fixture.placeholders[name] ?? whole);
}

/** Placeholders resolved in every string of a JSON value; «now±N» claims become numbers. */
function resolveValue(value: unknown, fixture: FuzzFixture): unknown {
  if (typeof value === 'string') {
    const time = /^«now([+-]\d+)?»$/.exec(value);
    if (time) return Math.floor(Date.now() / 1000) + Number(time[1] ?? 0);
    return resolvePlaceholders(value, fixture);
  }
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, fixture));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveValue(item, fixture)]));
  }
  return value;
}

function renderPath(spec: PathSpec, fixture: FuzzFixture): string {
  let path: string;
  if (spec.route === 'unknown') path = spec.rest ?? '/';
  else if (spec.route === 'docs') path = `${DOCS_PREFIX}${spec.rest ?? ''}`;
  else path = ROUTE_PATHS[spec.route];
  if (spec.key !== undefined) {
    const key = spec.key;
    const segment = 'literal' in key ? key.literal : key.as.toLowerCase() === 'id' ? fixture.rooms[key.room].id : fixture.rooms[key.room].slug;
    path = path.replace('{key}', 'literal' in key || key.as === key.as.toLowerCase() ? segment : segment.toUpperCase());
  }
  if (spec.flipSlash) path = path.endsWith('/') && path.length > 1 ? path.slice(0, -1) : `${path}/`;
  for (const mangle of spec.mangles) {
    if (mangle.op === 'upper') path = path.toUpperCase();
    else if (mangle.op === 'encode') {
      // By code point: half a surrogate pair has no encoding.
      const points = Array.from(path);
      const at = mangle.at % points.length;
      points[at] = encodeURIComponent(/[\ud800-\udfff]/.test(points[at]!) ? '\ufffd' : points[at]!).replace(/[!'()*~.-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
      path = points.join('');
    } else if (mangle.op === 'insert') {
      const at = mangle.at % (path.length + 1);
      path = path.slice(0, at) + mangle.text + path.slice(at);
    } else {
      const slashes = [...path.matchAll(/\//g)].map((m) => m.index);
      const at = slashes[mangle.at % slashes.length] ?? 0;
      path = `${path.slice(0, at)}/${path.slice(at)}`;
    }
  }
  return path;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function hmac(alg: string, key: string, input: string): string {
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg] ?? 'sha256';
  return createHmac(hash, key).update(input).digest('base64url');
}

/** The same bytes spelled differently: the last character's unused low bits flipped. */
function flipUnusedBits(part: string): string {
  const unusedBits = { 2: 4, 3: 2 }[part.length % 4];
  if (unusedBits === undefined || part.length === 0) return part;
  const last = B64URL.indexOf(part.at(-1)!);
  return part.slice(0, -1) + B64URL[last ^ 1]!;
}

/** A fixture token changed as the mutation says. */
export function mutateToken(token: string, mutation: TokenMutation, fixture: FuzzFixture): { sent: string; signedByServer: boolean } {
  const parts = token.split('.') as [string, string, string];
  const replacePart = (index: number, value: string) => parts.map((p, i) => (i === index ? value : p)).join('.');
  switch (mutation.kind) {
    case 'none':
      return { sent: token, signedByServer: true };
    case 'char': {
      const part = parts[mutation.part];
      const at = mutation.at % Math.max(part.length, 1);
      return { sent: replacePart(mutation.part, part.slice(0, at) + mutation.to + part.slice(at + 1)), signedByServer: false };
    }
    case 'unused-bits':
      return { sent: replacePart(mutation.part, flipUnusedBits(parts[mutation.part])), signedByServer: false };
    case 'alphabet':
      return { sent: replacePart(mutation.part, parts[mutation.part].replace(/-/g, '+').replace(/_/g, '/')), signedByServer: false };
    case 'padding':
      return { sent: replacePart(mutation.part, `${parts[mutation.part]}${'='.repeat((4 - (parts[mutation.part].length % 4)) % 4 || 1)}`), signedByServer: false };
    case 'alg': {
      const header = b64url(JSON.stringify({ alg: mutation.alg, typ: 'JWT' }));
      const signature = mutation.alg === 'none' ? '' : hmac(mutation.alg, fixture.jwtKey, `${header}.${parts[1]}`);
      return { sent: `${header}.${parts[1]}.${signature}`, signedByServer: false };
    }
    case 'claims': {
      const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
      for (const claim of mutation.drop) delete payload[claim];
      Object.assign(payload, resolveValue(mutation.set, fixture));
      const body = b64url(JSON.stringify(payload));
      const signature = mutation.signature === 'kept' ? parts[2] : hmac('HS256', mutation.signature === 'server-key' ? fixture.jwtKey : 'another-key-0123456789abcdefghijklmnop', `${parts[0]}.${body}`);
      return { sent: `${parts[0]}.${body}.${signature}`, signedByServer: mutation.signature === 'server-key' };
    }
    case 'cut':
      return { sent: token.slice(0, mutation.keep), signedByServer: false };
    case 'append':
      return { sent: token + mutation.text, signedByServer: false };
    case 'segments': {
      const sent = {
        'drop-signature': `${parts[0]}.${parts[1]}`,
        'empty-signature': `${parts[0]}.${parts[1]}.`,
        'extra-segment': `${token}.${parts[2]}`,
        swap: `${parts[1]}.${parts[0]}.${parts[2]}`,
      }[mutation.op];
      return { sent, signedByServer: false };
    }
    case 'huge': {
      const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
      payload.padding = 'p'.repeat(mutation.size);
      return { sent: `${parts[0]}.${b64url(JSON.stringify(payload))}.${parts[2]}`, signedByServer: false };
    }
  }
}

function renderInternalToken(token: string, mutation: Extract<AuthSpec, { kind: 'internal' }>['mutation']): string {
  switch (mutation) {
    case 'none':
      return token;
    case 'char':
      return `${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`;
    case 'cut':
      return token.slice(0, -1);
    case 'append':
      return `${token}x`;
    case 'case':
      return token.toUpperCase() === token ? token.toLowerCase() : token.toUpperCase();
  }
}

function renderAuth(auth: AuthSpec, fixture: FuzzFixture): { header?: string; token?: RenderedRequest['token'] } {
  switch (auth.kind) {
    case 'none':
      return {};
    case 'raw':
      return { header: resolvePlaceholders(auth.value, fixture) };
    case 'basic': {
      // RFC 6749 §2.3.1: each part form-encoded before base64; a broken encoding is sent as is.
      const user = resolvePlaceholders(auth.user, fixture);
      const password = resolvePlaceholders(auth.password, fixture);
      return { header: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
    }
    case 'bearer': {
      const original = fixture.tokens[auth.token];
      const { sent, signedByServer } = mutateToken(original, auth.mutation, fixture);
      return { header: `${auth.scheme} ${sent}${auth.after}`, token: { original, sent, signedByServer } };
    }
    case 'internal':
      return { header: `${auth.scheme} ${renderInternalToken(fixture.internalToken, auth.mutation)}` };
  }
}

function renderBody(body: BodySpec, fixture: FuzzFixture): Buffer {
  switch (body.kind) {
    case 'none':
      return Buffer.alloc(0);
    case 'json':
      return Buffer.from(JSON.stringify(resolveValue(body.value, fixture)) ?? 'undefined', 'utf8');
    case 'form':
      return Buffer.from(new URLSearchParams(body.fields.map(([k, v]) => [resolvePlaceholders(k, fixture), resolvePlaceholders(v, fixture)])).toString(), 'utf8');
    case 'text':
      return Buffer.from(resolvePlaceholders(body.text, fixture), body.encoding);
    case 'sized': {
      const size = Math.max(0, fixture.bodyLimit + body.bytes);
      if (body.shape === 'json-string') return Buffer.from(`{"padding":"${'x'.repeat(Math.max(0, size - 14))}"}`);
      if (body.shape === 'form') return Buffer.from(`padding=${'x'.repeat(Math.max(0, size - 8))}`);
      return Buffer.alloc(size, 0xfe);
    }
    case 'nested': {
      const n = body.depth;
      const text = {
        arrays: '['.repeat(n) + ']'.repeat(n),
        objects: '{"a":'.repeat(n) + '1' + '}'.repeat(n),
        unclosed: '['.repeat(n),
        field: `{"configuration":${'{"a":'.repeat(n)}1${'}'.repeat(n)},"attendees":${'['.repeat(n)}${']'.repeat(n)}}`,
      }[body.shape];
      return Buffer.from(text);
    }
  }
}

function chunkedBody(body: Buffer, framing: Extract<Framing, { kind: 'chunked' }>): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += framing.chunk) {
    const chunk = body.subarray(at, at + framing.chunk);
    const size = chunk.length.toString(16);
    const line = { lower: size, upper: size.toUpperCase(), extension: `${size};ext="x"`, garbage: `${size}zz` }[framing.sizes];
    out.push(Buffer.from(`${line}\r\n`), chunk, Buffer.from('\r\n'));
  }
  if (framing.last) out.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(out);
}

function requestLine(spec: RequestSpec, path: string, fixture: FuzzFixture): string {
  const query = spec.target.query === null ? '' : `?${resolvePlaceholders(spec.target.query, fixture)}`;
  const target =
    spec.target.form === 'asterisk'
      ? '*'
      : spec.target.form === 'absolute'
        ? `${resolvePlaceholders(spec.target.authority ?? '', fixture)}${path}${query}`
        : `${path}${query}`;
  return spec.head.version === '' ? `${spec.method} ${target}` : `${spec.method} ${target} ${spec.head.version}`;
}

export function render(spec: RequestSpec, fixture: FuzzFixture): RenderedRequest {
  const path = renderPath(spec.target.path, fixture);
  const auth = renderAuth(spec.auth, fixture);
  const body = renderBody(spec.body, fixture);
  const head = spec.head;
  const hosts = head.host.kind === 'real' ? [fixture.host] : head.host.kind === 'none' ? [] : head.host.kind === 'value' ? [head.host.value] : [resolvePlaceholders(head.host.value, fixture), fixture.host];
  const lines = [requestLine(spec, path, fixture), ...hosts.map((host) => `Host: ${host}`)];
  if (head.connection !== null) lines.push(`Connection: ${head.connection}`);
  if (auth.header !== undefined) lines.push(`Authorization: ${auth.header}`);
  if (head.contentType !== null) lines.push(`Content-Type: ${head.contentType}`);
  if (head.accept !== null) lines.push(`Accept: ${head.accept}`);
  if (head.expect !== null) lines.push(`Expect: ${head.expect}`);

  let payload = body;
  let halfClose: RenderedRequest['halfClose'] = 'after-answer';
  let extraBytes = 0;
  const framing = spec.framing;
  switch (framing.kind) {
    case 'length':
      lines.push(`Content-Length: ${body.length + framing.delta}`);
      if (framing.delta > 0) halfClose = 'after-write';
      else extraBytes = Math.min(-framing.delta, body.length);
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      payload = chunkedBody(body, framing);
      // Unfinished, unless a garbage size line is sent (the server then refuses at once).
      if (!framing.last && (framing.sizes !== 'garbage' || body.length === 0)) halfClose = 'after-write';
      break;
    case 'none':
      extraBytes = body.length;
      break;
    case 'length-and-chunked':
      lines.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
      halfClose = 'if-idle';
      break;
    case 'length-twice':
      lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + framing.second}`);
      halfClose = 'if-idle';
      break;
    case 'raw-length':
      lines.push(`Content-Length: ${framing.value}`);
      halfClose = 'if-idle';
      break;
    case 'transfer-encoding':
      lines.push(`Transfer-Encoding: ${framing.value}`);
      halfClose = 'if-idle';
      break;
  }
  for (const [name, value] of head.extra) lines.push(`${name}: ${resolvePlaceholders(value, fixture)}`);
  lines.push(...head.rawLines);
  if (head.lineEnd === '\n' || !['HTTP/1.1', 'HTTP/1.0'].includes(head.version)) halfClose = 'if-idle';
  if (head.truncated) halfClose = 'after-write';
  const headText = head.truncated ? lines.join(head.lineEnd) + head.lineEnd : lines.join(head.lineEnd) + head.lineEnd + head.lineEnd;
  // An unfinished head has nothing after it: trailing bytes would finish it.
  const trailing = spec.trailing === null || head.truncated ? Buffer.alloc(0) : Buffer.from(resolvePlaceholders(spec.trailing, fixture), 'utf8');
  const bytes = Buffer.concat([Buffer.from(headText, 'utf8'), head.truncated ? Buffer.alloc(0) : payload, trailing]);
  const rendered: RenderedRequest = {
    bytes,
    text: bytes.toString('utf8').includes('\ufffd') ? bytes.toString('latin1') : bytes.toString('utf8'),
    method: spec.method,
    version: head.version,
    path,
    query: spec.target.query === null ? null : resolvePlaceholders(spec.target.query, fixture),
    hosts,
    expect: head.expect,
    extraBytes: head.truncated ? 0 : extraBytes + trailing.length,
    halfClose,
  };
  if (spec.target.form === 'absolute') rendered.targetAuthority = resolvePlaceholders(spec.target.authority ?? '', fixture);
  if (auth.token !== undefined) rendered.token = auth.token;
  return rendered;
}

// ---------------------------------------------------------------------------------------
// Whole requests: three families, one per property.

const cleanHead = (contentType: string | null): HeadSpec => ({
  version: 'HTTP/1.1',
  host: { kind: 'real' },
  connection: 'close',
  contentType,
  accept: null,
  expect: null,
  extra: [],
  rawLines: [],
  lineEnd: '\r\n',
  truncated: false,
});

/** A JSON-route body: mostly the route's own fields, some generic junk, some none. */
function jsonBodyArb(fieldsArb: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<BodySpec> {
  return weighted<BodySpec>([8, fieldsArb.map((value) => ({ kind: 'json' as const, value }))], [2, genericBodyArb], [1, fc.constant({ kind: 'none' as const })]);
}

/** Form fields as a browser would send the values (lists repeated, objects bracketed). */
function asForm(value: Record<string, unknown>): Array<[string, string]> {
  return Object.entries(value).flatMap(([name, item]): Array<[string, string]> => {
    if (Array.isArray(item)) return item.map((entry) => [name, String(entry)]);
    if (item !== null && typeof item === 'object') return Object.entries(item).map(([key, entry]) => [`${name}[${key}]`, String(entry)]);
    return [[name, item === null ? '' : String(item)]];
  });
}

const tokenBodyArb = weighted<BodySpec>(
  [5, tokenFieldsArb.map((value) => ({ kind: 'json' as const, value }))],
  [4, tokenFieldsArb.map((value) => ({ kind: 'form' as const, fields: asForm(value) }))],
  [2, genericBodyArb],
  [1, fc.constant({ kind: 'none' as const })],
);

/** The Content-Type a body of this kind would normally carry, or sometimes another one. */
function contentTypeFor(body: BodySpec): fc.Arbitrary<string | null> {
  const usual = body.kind === 'none' ? null : body.kind === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
  return weighted<string | null>([10, fc.constant(usual)], [2, contentTypeArb]);
}

interface Operation {
  methods: string[];
  route: RouteName;
  body: fc.Arbitrary<BodySpec>;
  auth: fc.Arbitrary<AuthSpec>;
  query: fc.Arbitrary<string | null>;
}

const roomsAuth = weighted<AuthSpec>([8, bearerArb(3)], [1, fc.constant({ kind: 'none' as const })], [1, rawAuthArb], [1, basicArb]);
const noBody = fc.constant<BodySpec>({ kind: 'none' });
const rarely = <T>(usual: T, other: fc.Arbitrary<T>) => weighted<T>([10, fc.constant(usual)], [1, other]);

/** Each operation of the API with what it takes; a few requests go elsewhere (other methods, bodies where none is read). */
const OPERATIONS: Record<string, Operation> = {
  token: { methods: ['POST'], route: 'token', body: tokenBodyArb, auth: weighted<AuthSpec>([6, fc.constant({ kind: 'none' as const })], [3, basicArb], [1, bearerArb(2)], [1, rawAuthArb]), query: rarely(null, queryArb) },
  list: { methods: ['GET', 'GET', 'GET', 'HEAD'], route: 'rooms', body: rarely<BodySpec>({ kind: 'none' }, genericBodyArb), auth: roomsAuth, query: queryArb },
  retrieve: { methods: ['GET', 'GET', 'HEAD'], route: 'room', body: noBody, auth: roomsAuth, query: rarely(null, queryArb) },
  create: { methods: ['POST'], route: 'rooms', body: jsonBodyArb(roomCreateFieldsArb), auth: roomsAuth, query: rarely(null, queryArb) },
  update: { methods: ['PATCH'], route: 'room', body: jsonBodyArb(roomUpdateFieldsArb), auth: roomsAuth, query: rarely(null, queryArb) },
  delete: { methods: ['DELETE'], route: 'room', body: rarely<BodySpec>({ kind: 'none' }, genericBodyArb), auth: roomsAuth, query: rarely(null, queryArb) },
  admission: { methods: ['POST'], route: 'admission', body: jsonBodyArb(admissionFieldsArb), auth: weighted<AuthSpec>([8, internalAuthArb], [1, fc.constant({ kind: 'none' as const })], [1, bearerArb(2)], [1, rawAuthArb]), query: rarely(null, queryArb) },
  probe: { methods: ['GET', 'HEAD'], route: 'healthz', body: noBody, auth: rarely<AuthSpec>({ kind: 'none' }, anyAuthArb), query: rarely(null, queryArb) },
  ready: { methods: ['GET', 'HEAD'], route: 'readyz', body: noBody, auth: rarely<AuthSpec>({ kind: 'none' }, anyAuthArb), query: rarely(null, queryArb) },
  openapi: { methods: ['GET', 'HEAD'], route: 'openapi', body: noBody, auth: rarely<AuthSpec>({ kind: 'none' }, anyAuthArb), query: rarely(null, queryArb) },
  docs: { methods: ['GET', 'HEAD'], route: 'docs', body: noBody, auth: rarely<AuthSpec>({ kind: 'none' }, anyAuthArb), query: rarely(null, queryArb) },
};
const OPERATION_WEIGHTS: Record<keyof typeof OPERATIONS, number> = {
  token: 4, list: 4, retrieve: 3, create: 4, update: 5, delete: 2, admission: 3, probe: 1, ready: 1, openapi: 1, docs: 1,
};

function operationRequestArb(operation: Operation): fc.Arbitrary<RequestSpec> {
  const method = weighted<string>([12, fc.constantFrom(...operation.methods)], [1, fc.constantFrom(...COMMON_METHODS)]);
  const path = pathArb(operation.route, rarely<Mangle[]>([], manglesArb));
  return fc
    .record({ method, path, query: operation.query, auth: operation.auth, body: operation.body })
    .chain((r) => contentTypeFor(r.body).map((contentType) => ({ ...r, contentType })))
    .map(({ method: m, path: p, query, auth, body, contentType }) => ({
      method: m,
      target: { form: 'origin' as const, path: p, query },
      head: cleanHead(contentType),
      auth,
      body,
      framing: { kind: 'length' as const, delta: 0 },
      trailing: null,
    }));
}

/** Property "routes": well-formed HTTP for each operation, its fields right and wrong, its tokens genuine and tampered with. */
export const routeRequestArb: fc.Arbitrary<RequestSpec> = fc.oneof(
  ...Object.entries(OPERATIONS).map(([name, operation]) => ({ weight: OPERATION_WEIGHTS[name]!, arbitrary: operationRequestArb(operation) })),
);

const anyBodyArb = weighted<BodySpec>(
  [4, fc.constant({ kind: 'none' as const })],
  [4, genericBodyArb],
  [1, tokenBodyArb],
  [1, jsonBodyArb(roomUpdateFieldsArb)],
  [1, jsonBodyArb(admissionFieldsArb)],
);

/** Property "anything": every part drawn on its own, whatever the others are. */
export const anyRequestArb: fc.Arbitrary<RequestSpec> = fc.record({
  method: methodArb,
  target: targetArb(anyPathArb, queryArb, 'any'),
  head: headArb({ host: weighted<HostSpec>([12, fc.constant({ kind: 'real' as const })], [1, hostArb()]), version: rarely('HTTP/1.1', oddVersionArb), contentType: contentTypeArb, odd: false }),
  auth: anyAuthArb,
  body: anyBodyArb,
  framing: rarely<Framing>({ kind: 'length', delta: 0 }, framingArb),
  trailing: rarely<string | null>(null, trailingArb),
});

/** A request of an operation sent with odd HTTP: version, Host, target form, framing, Expect, header syntax, trailing bytes. */
const oddHttpArb: fc.Arbitrary<RequestSpec> = fc
  .record({
    base: routeRequestArb,
    method: weighted<string | undefined>([12, fc.constant(undefined)], [1, fc.constantFrom('CONNECT', 'connect', 'TRACE', 'PRI', 'OPTIONS')]),
    head: headArb({ host: hostArb(), version: oddVersionArb, contentType: fc.constant(null), odd: true }),
    form: weighted<TargetSpec['form']>([6, fc.constant('origin')], [3, fc.constant('absolute')], [1, fc.constant('asterisk')]),
    authority: authorityArb,
    framing: framingArb,
    trailing: trailingArb,
  })
  .map(({ base, method, head, form, authority, framing, trailing }) => ({
    ...base,
    method: method ?? base.method,
    target: form === 'absolute' ? { ...base.target, form, authority } : { ...base.target, form },
    head: { ...head, contentType: base.head.contentType },
    framing,
    trailing,
  }));

/** A well-formed request of an operation followed by more bytes on the same connection: a body longer than its Content-Length, or trailing bytes. */
const pipelinedArb: fc.Arbitrary<RequestSpec> = fc
  .record({
    base: routeRequestArb,
    delta: weighted<number>([3, fc.constant(0)], [1, fc.integer({ min: -3, max: -1 })]),
    trailing: trailingArb.filter((bytes) => bytes !== null),
  })
  .map(({ base, delta, trailing }) => ({ ...base, framing: { kind: 'length' as const, delta }, trailing }));

/** A well-formed request of an operation that names its server otherwise: another or an invalid Host, none (HTTP/1.0), an absolute target. */
const addressedArb: fc.Arbitrary<RequestSpec> = fc
  .record({
    base: routeRequestArb,
    host: hostArb(2),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
    form: weighted<TargetSpec['form']>([3, fc.constant('origin')], [1, fc.constant('absolute')]),
    authority: authorityArb,
  })
  .map(({ base, host, version, form, authority }) => ({
    ...base,
    target: form === 'absolute' ? { ...base.target, form, authority } : base.target,
    head: { ...base.head, host, version },
  }));

/** Property "protocol": odd HTTP around the operations, more than one message on a connection, other names for the server. */
export const protocolRequestArb: fc.Arbitrary<RequestSpec> = weighted<RequestSpec>([4, oddHttpArb], [1, pipelinedArb], [1, addressedArb]);
