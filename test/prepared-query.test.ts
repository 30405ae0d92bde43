/**
 * PreparedQuery compiles a hot query once and binds each call's values into the
 * placeholders' slots: checked on the real store (SQLite, or PostgreSQL when
 * TEST_DATABASE_URL is set), against the same query built by Kysely each time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PreparedQuery } from '../src/db/prepared-query.js';
import { TEST_LAYOUT, TEST_STORE, useServer } from './helpers.js';

// Queries the native users table; the mechanism is the same in either layout.
describe.runIf(TEST_LAYOUT === 'native')('PreparedQuery', () => {
  const server = useServer();
  const emails = ['ada@example.com', 'bob@example.com', 'cy@example.com', 'dee@example.com'];

  beforeAll(async () => {
    for (const email of emails) await server.services.users.createUser({ email });
    await server.services.users.setUserActive('cy@example.com', false);
  });

  it('binds each call its own values, keeps the constants, and compiles once per database', async () => {
    let builds = 0;
    const activeUsersAfter = new PreparedQuery<{ after: string; limit: number }, { email: string | null }>((db, param) => {
      builds++;
      return db
        .selectFrom('users')
        .select('email')
        .where('email', '>', param('after'))
        .where('is_active', '=', 1) // a constant of the query, between two placeholders
        .orderBy('email')
        .limit(param('limit'));
    });
    const db = server.database.db;
    for (const [after, limit] of [['a', 10], ['ada@example.com', 1], ['b', 2], ['z', 5]] as const) {
      const expected = await db
        .selectFrom('users')
        .select('email')
        .where('email', '>', after)
        .where('is_active', '=', 1)
        .orderBy('email')
        .limit(limit)
        .execute();
      expect(await activeUsersAfter.execute(db, { after, limit })).toEqual(expected);
    }
    expect(await activeUsersAfter.execute(db, { after: 'a', limit: 10 })).toEqual([
      { email: 'ada@example.com' },
      { email: 'bob@example.com' },
      { email: 'dee@example.com' },
    ]);
    expect(await activeUsersAfter.executeTakeFirst(db, { after: 'c', limit: 10 })).toEqual({ email: 'dee@example.com' });
    expect(await activeUsersAfter.executeTakeFirst(db, { after: 'e', limit: 10 })).toBeUndefined();
    expect(builds).toBe(1);
  });

  it('inside transactions reuses the compilation of its database; an instance with plugins compiles its own', async () => {
    const sqlSeen: string[] = [];
    let builds = 0;
    const byEmail = new PreparedQuery<{ email: string }, { email: string | null }>((db, param) => {
      builds++;
      const query = db.selectFrom('users').select('email').where('email', '=', param('email'));
      sqlSeen.push(query.compile().sql);
      return query;
    });
    const db = server.database.db;
    expect(await byEmail.execute(db, { email: 'ada@example.com' })).toEqual([{ email: 'ada@example.com' }]);
    for (const email of ['bob@example.com', 'nobody@example.com', 'dee@example.com']) {
      const inside = await db.transaction().execute((trx) => byEmail.execute(trx, { email }));
      expect(inside).toEqual(email === 'nobody@example.com' ? [] : [{ email }]);
    }
    expect(builds).toBe(1);

    // withSchema installs a plugin that rewrites table names: its SQL differs, so it is compiled apart.
    const schema = TEST_STORE === 'postgres' ? 'public' : 'main';
    expect(await byEmail.execute(db.withSchema(schema), { email: 'bob@example.com' })).toEqual([{ email: 'bob@example.com' }]);
    expect(builds).toBe(2);
    expect(sqlSeen[1]).toContain(`"${schema}"."users"`);
    expect(sqlSeen[0]).not.toContain(`"${schema}"`);
  });

  it('a value bound as SQL data, never as SQL text', async () => {
    const byEmail = new PreparedQuery<{ email: string }, { email: string | null }>((db, param) =>
      db.selectFrom('users').select('email').where('email', '=', param('email')),
    );
    expect(await byEmail.execute(server.database.db, { email: "x' or '1'='1" })).toEqual([]);
    expect(await byEmail.execute(server.database.db, { email: 'bob@example.com' })).toEqual([{ email: 'bob@example.com' }]);
  });

  it('refuses a call that leaves a named value out, rather than binding nothing', async () => {
    const byEmail = new PreparedQuery<{ email: string }, { email: string | null }>((db, param) =>
      db.selectFrom('users').select('email').where('email', '=', param('email')),
    );
    await expect(byEmail.execute(server.database.db, {} as { email: string })).rejects.toThrow(/no value given for "email"/);
  });

  it('declares only rows the builder really returns, and named values cannot be computed with (type checks)', () => {
    const build = () => [
      // @ts-expect-error users have no column "nonexistent": the declared row must match the query's
      new PreparedQuery<{ id: string }, { nonexistent: Date }>((db, param) => db.selectFrom('users').select('email').where('id', '=', param('id'))),
      new PreparedQuery<{ email: string }, { email: string | null }>((db, param) =>
        // @ts-expect-error a named value is an SQL expression, not a string
        db.selectFrom('users').select('email').where('email', '=', param('email').toLowerCase()),
      ),
    ];
    expect(build).not.toThrow(); // constructing compiles nothing; the assertions above are the type checker's
  });

  it('refuses a query where a named value did not become a bound parameter', async () => {
    const broken = new PreparedQuery<{ email: string }, { email: string | null }>((db, param) => {
      param('email'); // asked for, then left out of the query
      return db.selectFrom('users').select('email');
    });
    await expect(broken.execute(server.database.db, { email: 'ada@example.com' })).rejects.toThrow(/"email" is not a bound parameter/);
  });
});
