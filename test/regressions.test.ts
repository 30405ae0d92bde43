/** Bugs found in review, each with the test that would have caught it. */
import { describe, expect, it } from 'vitest';
import { API, TEST_LAYOUT, call, createClient, useServer, userWithToken } from './helpers.js';
import { setStoredSecretHash } from './support/stored.js';

describe('review regressions', () => {
  const server = useServer();

  it('a NUL byte in client_id is an unknown client (401), never a database error', async () => {
    await server.services.users.createUser({ email: 'nul@example.com' });
    for (const request of [
      { json: { client_id: 'abc\u0000', client_secret: 'x', grant_type: 'client_credentials', scope: 'nul@example.com' } },
      { body: 'client_id=%00&client_secret=x&grant_type=client_credentials&scope=nul%40example.com', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    ]) {
      const answer = await call(server, 'POST', `${API}/application/token/`, request);
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: 'Invalid credentials' });
    }
  });

  it('?slug= with a NUL byte or junk matches nothing (200, count 0)', async () => {
    const { token } = await userWithToken(server);
    await call(server, 'POST', `${API}/rooms/`, { token });
    for (const slug of ['%00', 'abc-defg-hi%00', 'not a slug']) {
      const answer = await call(server, 'GET', `${API}/rooms/?slug=${slug}`, { token });
      expect(answer.status, slug).toBe(200);
      expect(answer.json.count).toBe(0);
    }
  });

  it('a stored secret hash of another shape never matches and never throws', async () => {
    const client = await createClient(server);
    // Beside Meet a PBKDF2 hash is the expected shape: another Django hasher's stands in there.
    await setStoredSecretHash(server, client.clientId, TEST_LAYOUT === 'meet' ? 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA' : 'pbkdf2_sha256$1000000$salt$hash=');
    const answer = await call(server, 'POST', `${API}/application/token/`, {
      json: { client_id: client.clientId, client_secret: client.secret, grant_type: 'client_credentials', scope: 'nul@example.com' },
    });
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: 'Invalid credentials' });
  });

  it('the access log carries the path without the query string', async () => {
    await call(server, 'GET', '/healthz?access_token=leaked-value-123');
    const line = server.logs.lines.find((l) => l.msg === 'request' && l.path === '/healthz');
    expect(line).toBeDefined();
    expect(server.logs.raw.join('\n')).not.toContain('leaked-value-123');
  });
});
