/**
 * docs/api.md, "Conventions": no request, however malformed, gets a 5xx or a non-JSON
 * body, and none changes data unless it succeeded. Requests that fetch refuses to send
 * go over a raw socket.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { API, call, useServer, userWithToken, type Client, type TestServer } from './helpers.js';
import { storedCounts } from './support/stored.js';
import { hostOf, rawHttp, rawRequest, type RawAnswer } from './support/raw-http.js';

const JSON_TYPE = 'application/json; charset=utf-8';

function expectRaw4xxJson(answer: RawAnswer, status?: number): void {
  expect(answer.statusLine).toMatch(/^HTTP\/1\.[01] 4\d\d /);
  if (status !== undefined) expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toBe(JSON_TYPE);
  expect(() => JSON.parse(answer.body)).not.toThrow();
  expect(typeof JSON.parse(answer.body)).toBe('object');
}

function expect4xxJson(result: Awaited<ReturnType<typeof call>>, status?: number): void {
  expect(result.status).toBeGreaterThanOrEqual(400);
  expect(result.status).toBeLessThan(500);
  if (status !== undefined) expect(result.status).toBe(status);
  expect(result.headers.get('content-type')).toBe(JSON_TYPE);
  expect(() => JSON.parse(result.text)).not.toThrow();
  expect(typeof result.json).toBe('object');
  expect(result.json).not.toBeNull();
}

async function rowCounts(server: TestServer) {
  return storedCounts(server);
}

describe('malformed input: always a 4xx JSON answer, never a 5xx, never a write', () => {
  const server = useServer();
  let token: string;
  let client: Client;
  let email: string;
  let before: Awaited<ReturnType<typeof rowCounts>>;
  let logLinesBefore: number;

  const ROOMS = `${API}/rooms/`;
  const TOKEN = `${API}/application/token/`;

  beforeAll(async () => {
    const subject = await userWithToken(server, 'ada@example.com');
    token = subject.token;
    client = subject.client;
    email = subject.email;
  });

  beforeEach(async () => {
    before = await rowCounts(server);
    logLinesBefore = server.logs.lines.length;
  });
  afterEach(async () => {
    // Nothing written, and nothing the server considered its own failure.
    expect(await rowCounts(server)).toEqual(before);
    const errors = server.logs.lines.slice(logLinesBefore).filter((line) => Number(line.level) >= 50);
    expect(errors).toEqual([]);
  });

  function validTokenFields() {
    return { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: email };
  }

  it('broken JSON: 400 on POST /rooms/ and on the token endpoint', async () => {
    const bodies = ['{', '{"a":', "{'a': 1}", '{"a":1,}', '{"a":1}}', 'nul', 'undefined', 'NaN', '{"a":01}', '\u0000', '{"a":"\\x"}', '{"a":"\ud800"', '\uFEFF{}x', '}{'];
    for (const body of bodies) {
      for (const path of [ROOMS, TOKEN]) {
        const result = await call(server, 'POST', path, { token: path === ROOMS ? token : undefined, body, headers: { 'content-type': 'application/json' } });
        expect({ path, body, status: result.status }).toEqual({ path, body, status: 400 });
        expect4xxJson(result, 400);
      }
    }
  });

  it('a JSON value that is not an object: 400 on POST /rooms/ and on the token endpoint', async () => {
    for (const body of ['[]', '[{}]', '"text"', '""', '42', '-1.5e3', 'null', 'true', 'false', JSON.stringify([validTokenFields()])]) {
      for (const path of [ROOMS, TOKEN]) {
        const result = await call(server, 'POST', path, { token: path === ROOMS ? token : undefined, body, headers: { 'content-type': 'application/json' } });
        expect({ path, body: body.slice(0, 20), status: result.status }).toEqual({ path, body: body.slice(0, 20), status: 400 });
        expect4xxJson(result, 400);
      }
    }
  });

  it('wrong types in token fields: 400 naming each bad field', async () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ ...validTokenFields(), client_id: {} }, ['client_id']],
      [{ ...validTokenFields(), client_secret: ['x'] }, ['client_secret']],
      [{ ...validTokenFields(), grant_type: true }, ['grant_type']],
      [{ ...validTokenFields(), scope: null }, ['scope']],
      [{ ...validTokenFields(), scope: [email] }, ['scope']],
      [{ ...validTokenFields(), scope: { email } }, ['scope']],
      [{ client_id: false, client_secret: null, grant_type: [], scope: {} }, ['client_id', 'client_secret', 'grant_type', 'scope']],
      [{}, ['client_id', 'client_secret', 'grant_type', 'scope']],
    ];
    for (const [json, bad] of cases) {
      const result = await call(server, 'POST', TOKEN, { json });
      expect4xxJson(result, 400);
      expect(Object.keys(result.json).sort()).toEqual(bad);
      for (const field of bad) {
        expect(Array.isArray(result.json[field])).toBe(true);
        expect(typeof result.json[field][0]).toBe('string');
      }
    }
  });

  it('a body over 64 KiB: 413, on both routes, whatever its content', async () => {
    const big = JSON.stringify({ padding: 'x'.repeat(70 * 1024) });
    const rooms = await call(server, 'POST', ROOMS, { token, body: big, headers: { 'content-type': 'application/json' } });
    expect4xxJson(rooms, 413);
    const tokenJson = await call(server, 'POST', TOKEN, { body: JSON.stringify({ ...validTokenFields(), padding: 'x'.repeat(70 * 1024) }), headers: { 'content-type': 'application/json' } });
    expect4xxJson(tokenJson, 413);
    const form = new URLSearchParams({ ...validTokenFields(), padding: 'x'.repeat(70 * 1024) }).toString();
    const tokenForm = await call(server, 'POST', TOKEN, { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect4xxJson(tokenForm, 413);
    const oneMegabyte = await call(server, 'POST', ROOMS, { token, body: '['.repeat(1024 * 1024), headers: { 'content-type': 'application/json' } });
    expect4xxJson(oneMegabyte, 413);
  });

  it('a body over 64 KiB sent chunked (no Content-Length): 413', async () => {
    const chunk = Buffer.from(`{"padding":"${'y'.repeat(70 * 1024)}"}`);
    const chunked = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n0\r\n\r\n')]);
    const answer = await rawRequest(
      server,
      rawHttp(server, `POST ${ROOMS} HTTP/1.1`, [`Authorization: Bearer ${token}`, 'Content-Type: application/json', 'Transfer-Encoding: chunked'], chunked),
    );
    expectRaw4xxJson(answer, 413);
  });

  it('deeply nested JSON within the size limit: 400, never a crash', async () => {
    const arrays = '['.repeat(10_000) + ']'.repeat(10_000);
    const unclosed = '['.repeat(60_000);
    const objectsInArray = '[' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) + ']';
    const mixed = '{"a":['.repeat(5_000) + ']}'.repeat(5_000);
    for (const body of [arrays, unclosed, objectsInArray]) {
      expect(Buffer.byteLength(body)).toBeLessThan(64 * 1024);
      for (const path of [ROOMS, TOKEN]) {
        const result = await call(server, 'POST', path, { token: path === ROOMS ? token : undefined, body, headers: { 'content-type': 'application/json' } });
        expect4xxJson(result, 400);
      }
    }
    // An object whose fields are deep: the token endpoint finds none of its fields (or a wrong type).
    const nestedObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    expect(Buffer.byteLength(nestedObject)).toBeLessThan(64 * 1024);
    const deepTop = await call(server, 'POST', TOKEN, { body: nestedObject, headers: { 'content-type': 'application/json' } });
    expect4xxJson(deepTop, 400);
    expect(deepTop.json).toEqual({
      client_id: ['This field is required.'],
      client_secret: ['This field is required.'],
      grant_type: ['This field is required.'],
      scope: ['This field is required.'],
    });
    const deepMixed = await call(server, 'POST', TOKEN, { body: mixed, headers: { 'content-type': 'application/json' } });
    expect4xxJson(deepMixed, 400);
    const deepField = `{"client_id":${'{"a":'.repeat(9_000)}1${'}'.repeat(9_000)},"client_secret":"${client.secret}","grant_type":"client_credentials","scope":"${email}"}`;
    const deepFieldAnswer = await call(server, 'POST', TOKEN, { body: deepField, headers: { 'content-type': 'application/json' } });
    expect4xxJson(deepFieldAnswer, 400);
    expect(Object.keys(deepFieldAnswer.json)).toEqual(['client_id']);
  });

  it('content types other than JSON on POST /rooms/: 415', async () => {
    const cases: Array<[string, string]> = [
      ['text/plain', '{}'],
      ['text/plain;charset=UTF-8', '{}'],
      ['multipart/form-data; boundary=XyZ', '--XyZ\r\nContent-Disposition: form-data; name="slug"\r\n\r\nabc\r\n--XyZ--\r\n'],
      ['application/xml', '<room><slug>abc</slug></room>'],
      ['text/xml', '<room/>'],
      ['application/x-www-form-urlencoded', 'slug=abc'],
      ['application/octet-stream', '{}'],
      ['text/html', '<html></html>'],
      ['application/jsonx', '{}'],
      ['image/png', '\u0089PNG'],
      ['garbage', '{}'],
    ];
    for (const [type, body] of cases) {
      const result = await call(server, 'POST', ROOMS, { token, body, headers: { 'content-type': type } });
      expect({ type, status: result.status }).toEqual({ type, status: 415 });
      expect4xxJson(result, 415);
    }
  });

  it('JSON declared in a charset other than UTF-8: 415 on POST /rooms/ and on the token endpoint', async () => {
    // RFC 8259 §8.1: JSON between systems is UTF-8; a body declared otherwise is not read as if it were.
    const answers: Array<{ path: string; type: string; status: number }> = [];
    for (const type of ['application/json; charset=latin1', 'application/json; charset=iso-8859-1', 'application/json; charset=utf-16']) {
      const rooms = await call(server, 'POST', ROOMS, { token, body: '{}', headers: { 'content-type': type } });
      const tokens = await call(server, 'POST', TOKEN, { body: JSON.stringify(validTokenFields()), headers: { 'content-type': type } });
      expect(rooms.headers.get('content-type')).toBe(JSON_TYPE);
      expect(tokens.headers.get('content-type')).toBe(JSON_TYPE);
      answers.push({ path: 'rooms', type, status: rooms.status }, { path: 'token', type, status: tokens.status });
    }
    expect(answers).toEqual(answers.map((a) => ({ ...a, status: 415 })));
  });

  it('content types other than JSON and forms on the token endpoint: 415', async () => {
    const fields = validTokenFields();
    const cases: Array<[string, string]> = [
      ['text/plain', JSON.stringify(fields)],
      ['multipart/form-data; boundary=XyZ', Object.entries(fields).map(([k, v]) => `--XyZ\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join('') + '--XyZ--\r\n'],
      ['application/xml', `<token><client_id>${fields.client_id}</client_id></token>`],
      ['application/octet-stream', JSON.stringify(fields)],
      ['application/jsonx', JSON.stringify(fields)],
    ];
    for (const [type, body] of cases) {
      const result = await call(server, 'POST', TOKEN, { body, headers: { 'content-type': type } });
      expect({ type, status: result.status }).toEqual({ type, status: 415 });
      expect4xxJson(result, 415);
      expect(result.json.access_token).toBeUndefined();
    }
  });

  it('a body without any Content-Type: 415 (raw socket)', async () => {
    for (const [path, auth] of [
      [ROOMS, [`Authorization: Bearer ${token}`]],
      [TOKEN, []],
    ] as const) {
      const body = path === ROOMS ? '{}' : JSON.stringify(validTokenFields());
      const answer = await rawRequest(server, rawHttp(server, `POST ${path} HTTP/1.1`, [...auth, `Content-Length: ${Buffer.byteLength(body)}`], body));
      expectRaw4xxJson(answer, 415);
    }
  });

  it('latin-1 bytes declared as UTF-8 JSON: 400, never a 5xx (raw socket)', async () => {
    const body = Buffer.concat([Buffer.from('{"client_id":"caf'), Buffer.from([0xe9]), Buffer.from('","client_secret":"x","grant_type":"client_credentials","scope":"a@b.org"}')]);
    const answer = await rawRequest(server, rawHttp(server, `POST ${TOKEN} HTTP/1.1`, ['Content-Type: application/json', `Content-Length: ${body.length}`], body));
    expectRaw4xxJson(answer);
  });

  it('odd Authorization headers: 401 with the contract detail', async () => {
    const cases: Array<[string, string]> = [
      ['', 'Authentication credentials were not provided.'],
      ['   ', 'Authentication credentials were not provided.'],
      ['\t', 'Authentication credentials were not provided.'],
      ['Basic YWRhOnNlY3JldA==', 'Authentication credentials were not provided.'],
      ['Token abc', 'Authentication credentials were not provided.'],
      ['Bearer', 'Invalid token header.'],
      ['bearer', 'Invalid token header.'],
      ['Bearer   ', 'Invalid token header.'],
      ['Bearer\t', 'Invalid token header.'],
      [`Bearer ${token} extra`, 'Invalid token header.'],
      [`Bearer ${token}\tother`, 'Invalid token header.'],
      [`Bearer ${'a'.repeat(8 * 1024)}`, 'Invalid token.'],
      [`Bearer ${'eyJ'.repeat(2731)}`, 'Invalid token.'],
      ['Bearer ...', 'Invalid token.'],
      ['Bearer a.b.c', 'Invalid token.'],
      [`Bearer ${token.slice(0, -2)}`, 'Invalid token.'],
    ];
    for (const [header, detail] of cases) {
      for (const method of ['GET', 'POST']) {
        const result = await call(server, method, ROOMS, { headers: { authorization: header } });
        expect({ header: header.slice(0, 40), method, status: result.status, body: result.json }).toEqual({
          header: header.slice(0, 40),
          method,
          status: 401,
          body: { detail },
        });
        expect(result.headers.get('www-authenticate') ?? '').toMatch(/^Bearer/);
        expect(result.headers.get('content-type')).toBe(JSON_TYPE);
      }
    }
  });

  it('the scheme is case-insensitive and any whitespace separates it from the token', async () => {
    for (const header of [`bearer ${token}`, `BEARER ${token}`, `Bearer\t${token}`, `Bearer  ${token}`]) {
      const result = await call(server, 'GET', ROOMS, { headers: { authorization: header } });
      expect({ header: header.slice(0, 10), status: result.status }).toEqual({ header: header.slice(0, 10), status: 200 });
    }
  });

  it('non-ASCII and control bytes in Authorization: 4xx JSON (raw socket)', async () => {
    const utf8Token = Buffer.from(`GET ${ROOMS} HTTP/1.1\r\nHost: ${hostOf(server)}\r\nConnection: close\r\nAuthorization: Bearer t\u00f6k\u00e9n\u2603\r\n\r\n`, 'utf8');
    const utf8Answer = await rawRequest(server, utf8Token);
    expectRaw4xxJson(utf8Answer);
    if (utf8Answer.status === 401) expect(JSON.parse(utf8Answer.body)).toEqual({ detail: 'Invalid token.' });

    const utf8Scheme = Buffer.from(`GET ${ROOMS} HTTP/1.1\r\nHost: ${hostOf(server)}\r\nConnection: close\r\nAuthorization: B\u00e9arer ${token}\r\n\r\n`, 'utf8');
    const schemeAnswer = await rawRequest(server, utf8Scheme);
    expectRaw4xxJson(schemeAnswer);

    const latin1 = Buffer.concat([Buffer.from(`GET ${ROOMS} HTTP/1.1\r\nHost: ${hostOf(server)}\r\nConnection: close\r\nAuthorization: Bearer `), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('\r\n\r\n')]);
    expectRaw4xxJson(await rawRequest(server, latin1));

    const control = Buffer.from(`GET ${ROOMS} HTTP/1.1\r\nHost: ${hostOf(server)}\r\nConnection: close\r\nAuthorization: Bearer a\u0001b\r\n\r\n`, 'latin1');
    expectRaw4xxJson(await rawRequest(server, control));

    const nul = Buffer.from(`POST ${ROOMS} HTTP/1.1\r\nHost: ${hostOf(server)}\r\nConnection: close\r\nAuthorization: Bearer ${token}\u0000\r\nContent-Length: 0\r\n\r\n`, 'latin1');
    expectRaw4xxJson(await rawRequest(server, nul));
  });

  it('an Authorization header too large for the server: 431 JSON (raw socket)', async () => {
    const answer = await rawRequest(server, rawHttp(server, `GET ${ROOMS} HTTP/1.1`, [`Authorization: Bearer ${'a'.repeat(64 * 1024)}`]));
    expectRaw4xxJson(answer, 431);
  });

  it('__proto__ and constructor keys in JSON are refused with 400', async () => {
    const bodies = [
      '{"__proto__": {"access_level": "public"}}',
      '{"a": {"__proto__": {"x": 1}}}',
      '{"constructor": {"prototype": {"x": 1}}}',
      '[{"__proto__": null}]',
    ];
    for (const body of bodies) {
      const rooms = await call(server, 'POST', ROOMS, { token, body, headers: { 'content-type': 'application/json' } });
      expect({ body, status: rooms.status }).toEqual({ body, status: 400 });
      expect4xxJson(rooms, 400);
    }
    const fields = validTokenFields();
    const poisoned = `{"client_id":"${fields.client_id}","client_secret":"${fields.client_secret}","grant_type":"client_credentials","__proto__":{"scope":"${email}"}}`;
    const tokenAnswer = await call(server, 'POST', TOKEN, { body: poisoned, headers: { 'content-type': 'application/json' } });
    expect4xxJson(tokenAnswer, 400);
    expect(tokenAnswer.json.access_token).toBeUndefined();
  });

  it('__proto__ in a form body neither fills a field nor pollutes anything', async () => {
    const fields = validTokenFields();
    for (const extra of [`__proto__=${encodeURIComponent(email)}`, `__proto__[scope]=${encodeURIComponent(email)}`, `constructor[prototype][scope]=${encodeURIComponent(email)}`]) {
      const body = `client_id=${fields.client_id}&client_secret=${fields.client_secret}&grant_type=client_credentials&${extra}`;
      const result = await call(server, 'POST', TOKEN, { body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect4xxJson(result, 400);
      expect(result.json).toEqual({ scope: ['This field is required.'] });
    }
    // And the server still tells a missing field from a present one afterwards.
    const missing = await call(server, 'POST', TOKEN, { json: { client_id: fields.client_id } });
    expect(missing.json).toEqual({
      client_secret: ['This field is required.'],
      grant_type: ['This field is required.'],
      scope: ['This field is required.'],
    });
  });

  it('duplicate query parameters: 400 naming the parameter', async () => {
    for (const [query, name] of [
      ['page=1&page=2', 'page'],
      ['page=1&page=1', 'page'],
      ['page_size=5&page_size=10', 'page_size'],
    ] as const) {
      const result = await call(server, 'GET', `${ROOMS}?${query}`, { token });
      expect({ query, status: result.status }).toEqual({ query, status: 400 });
      expect4xxJson(result, 400);
      expect(Object.keys(result.json)).toEqual([name]);
    }
  });

  it('odd query strings never reach a 5xx', async () => {
    for (const query of ['page=%FF', 'page=%', 'page=%E0%A4%A', 'page=1%00', 'page=%2B1', 'page_size=9999999999999999999999', 'page=9007199254740993', '%%%=%%%', '&&&', '=1', 'page']) {
      const result = await call(server, 'GET', `${ROOMS}?${query}`, { token });
      expect(result.status, query).not.toBeGreaterThanOrEqual(500);
      expect(result.headers.get('content-type'), query).toBe(JSON_TYPE);
      expect(() => JSON.parse(result.text)).not.toThrow();
    }
  });

  it('percent-encoded junk in paths: 4xx JSON with a detail', async () => {
    const paths = [
      `${API}/rooms/%E0%A4%A/`,
      `${API}/rooms/%E0%A4%A`,
      `${API}/rooms/%/`,
      `${API}/rooms/%ZZ/`,
      `${API}/rooms/%00/`,
      `${API}/rooms/%C0%AF/`,
      `${API}/rooms/%FF%FE/`,
      `${API}/rooms/..%2F..%2Fhealthz/`,
      `${API}/%E0%A4%A/`,
      '/%E0%A4%A',
    ];
    const answers = [];
    for (const path of paths) {
      const result = await call(server, 'GET', path, { token });
      expect(() => JSON.parse(result.text), path).not.toThrow();
      answers.push({ path, is4xx: result.status >= 400 && result.status < 500, type: result.headers.get('content-type'), detail: typeof result.json.detail });
    }
    expect(answers).toEqual(paths.map((path) => ({ path, is4xx: true, type: JSON_TYPE, detail: 'string' })));
  });

  it('raw bytes that are not valid in a request line: 400 JSON (raw socket)', async () => {
    for (const target of [`${API}/rooms/\u00e9/`, `${API}/rooms/a b/`, `${API}/rooms/\u0001/`]) {
      const answer = await rawRequest(server, Buffer.concat([Buffer.from(`GET `), Buffer.from(target, 'utf8'), Buffer.from(` HTTP/1.1\r\nHost: ${hostOf(server)}\r\nConnection: close\r\nAuthorization: Bearer ${token}\r\n\r\n`)]));
      expectRaw4xxJson(answer);
    }
  });

  it('broken HTTP framing: 400 JSON (raw socket)', async () => {
    const requests = [
      Buffer.from('GARBAGE\r\n\r\n'),
      Buffer.from(`POST ${ROOMS} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`),
      Buffer.from(`POST ${ROOMS} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`),
      Buffer.from(`POST ${ROOMS} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`),
      Buffer.from(`GET ${ROOMS} HTTP/9.9\r\nHost: x\r\n\r\n`),
      Buffer.from(`GET ${ROOMS} HTTP/1.1\r\nBad Header Name: x\r\n\r\n`),
    ];
    for (const request of requests) {
      const answer = await rawRequest(server, request);
      expectRaw4xxJson(answer);
    }
  });

  it('a very long URL: 4xx JSON', async () => {
    // A long room id is an id that is not a UUID: 404 Not found, like a short one.
    const ids = ['b'.repeat(101), 'a'.repeat(10_000)];
    const answers = [];
    for (const id of ids) {
      const result = await call(server, 'GET', `${API}/rooms/${id}/`, { token });
      answers.push({ length: id.length, status: result.status, body: result.json, type: result.headers.get('content-type') });
    }
    expect(answers).toEqual(ids.map((id) => ({ length: id.length, status: 404, body: { detail: 'Not found.' }, type: JSON_TYPE })));

    const huge = await rawRequest(server, rawHttp(server, `GET ${API}/rooms/?x=${'c'.repeat(100_000)} HTTP/1.1`, [`Authorization: Bearer ${token}`]));
    expectRaw4xxJson(huge);
    const hugePath = await rawRequest(server, rawHttp(server, `POST ${API}/rooms/${'d'.repeat(100_000)}/ HTTP/1.1`, [`Authorization: Bearer ${token}`, 'Content-Length: 0']));
    expectRaw4xxJson(hugePath);
  });

  it('malformed requests without a token are refused before anything else, still in JSON', async () => {
    const result = await call(server, 'POST', ROOMS, { body: '{broken', headers: { 'content-type': 'application/json' } });
    expect4xxJson(result, 401);
    expect(result.json).toEqual({ detail: 'Authentication credentials were not provided.' });
  });
});
