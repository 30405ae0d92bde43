import { describe, expect, it } from 'vitest';
import { API, call, useServer, userWithToken } from './helpers.js';

describe('smoke: from credentials to a created room over a real port', () => {
  const server = useServer();

  it('issues a token, creates a room, lists it and retrieves it', async () => {
    const { token } = await userWithToken(server, 'ada@example.com');
    const created = await call(server, 'POST', `${API}/rooms/`, { token });
    expect(created.status).toBe(201);
    expect(created.json.access_level).toBe('trusted');
    expect(created.json.slug).toMatch(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    expect(created.headers.get('location')).toBe(`${server.origin}${API}/rooms/${created.json.id}/`);

    const listed = await call(server, 'GET', `${API}/rooms/`, { token });
    expect(listed.status).toBe(200);
    expect(listed.json).toEqual({ count: 1, next: null, previous: null, results: [created.json] });

    const retrieved = await call(server, 'GET', `${API}/rooms/${created.json.id}`, { token });
    expect(retrieved.status).toBe(200);
    expect(retrieved.json).toEqual(created.json);
  });
});
