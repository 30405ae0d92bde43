/**
 * Bulk test data for measurements at scale: `npm run seed -- --users 100000 --rooms 1000000`.
 * Writes into the database named by DATABASE_URL (migrating it first). Users are
 * seed-<n>@seed.example; room n is owned by user n mod users, so each user owns about
 * rooms/users rooms; timestamps are spread one millisecond apart, newest last. Slugs and
 * PINs are derived from the row number, so they are unique without lookups.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { sql } from 'kysely';
import { openDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { emailLookupKey } from '../validation.js';

const BATCH = 1000;

function slugFor(n: number): string {
  let letters = '';
  let rest = n;
  for (let i = 0; i < 10; i++) {
    letters = String.fromCharCode(97 + (rest % 26)) + letters;
    rest = Math.floor(rest / 26);
  }
  return `${letters.slice(0, 3)}-${letters.slice(3, 7)}-${letters.slice(7)}`;
}

export const seedEmail = (n: number): string => `seed-${n}@seed.example`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { users: { type: 'string', default: '1000' }, rooms: { type: 'string', default: '10000' } },
  });
  const users = Number(values.users);
  const rooms = Number(values.rooms);
  if (!Number.isInteger(users) || users < 1 || !Number.isInteger(rooms) || rooms < 0) {
    throw new Error('--users must be a positive integer and --rooms a non-negative integer');
  }
  const config = loadConfig();
  // Bulk rows for measurements go into this server's own tables, never into a Meet deployment's.
  if (config.databaseLayout !== 'native') throw new Error('seed fills the native layout only: unset DATABASE_LAYOUT');
  if (10 ** config.telephony.pinLength < rooms * 2) throw new Error('ROOM_TELEPHONY_PIN_LENGTH is too short for that many rooms');
  const database = openDatabase(config);
  const { db } = database;
  try {
    await migrateToLatest(db);
    // Rows go in 1,000 users or 10,000 rooms per transaction: a few hundred durable
    // commits for a million rooms, so seeding needs no weaker synchronous setting.
    const started = Date.now();
    const userIds: string[] = [];
    const base = Date.now() - rooms - users;
    for (let from = 0; from < users; from += BATCH) {
      const rows = [];
      for (let n = from; n < Math.min(users, from + BATCH); n++) {
        const id = randomUUID();
        userIds.push(id);
        const at = new Date(base + n).toISOString();
        rows.push({ id, email: seedEmail(n), email_lookup: emailLookupKey(seedEmail(n)), is_active: 1, created_at: at, updated_at: at });
      }
      await db.insertInto('users').values(rows).execute();
    }
    process.stderr.write(`users: ${users} in ${Date.now() - started} ms\n`);

    // Offset by the rooms already there, so seeding twice adds rooms instead of colliding.
    const existing = Number((await db.selectFrom('rooms').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const roomsStarted = Date.now();
    for (let from = 0; from < rooms; from += BATCH * 10) {
      await db.transaction().execute(async (trx) => {
        for (let chunk = from; chunk < Math.min(rooms, from + BATCH * 10); chunk += BATCH) {
          const roomRows = [];
          const accessRows = [];
          for (let n = chunk; n < Math.min(rooms, chunk + BATCH); n++) {
            const id = randomUUID();
            const at = new Date(base + users + n).toISOString();
            const serial = existing + n;
            const slug = slugFor(serial);
            roomRows.push({
              id,
              name: slug,
              slug,
              configuration: '{}',
              pin_code: String(serial).padStart(config.telephony.pinLength, '0'),
              access_level: 'trusted',
              created_by_client_id: null,
              created_at: at,
              updated_at: at,
            });
            accessRows.push({ id: randomUUID(), room_id: id, user_id: userIds[n % users]!, role: 'owner', created_at: at, room_created_at: at });
          }
          await trx.insertInto('rooms').values(roomRows).execute();
          await trx.insertInto('room_accesses').values(accessRows).execute();
        }
      });
      const done = Math.min(rooms, from + BATCH * 10);
      if (done % 100_000 === 0 || done === rooms) process.stderr.write(`rooms: ${done}/${rooms} (${Date.now() - roomsStarted} ms)\n`);
    }
    // Fresh statistics after a bulk load, so the planner picks the indexes at once.
    await sql`analyze`.execute(db);
    process.stdout.write(`${JSON.stringify({ users, rooms, store: database.dialect, ms: Date.now() - started })}\n`);
  } finally {
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`seed: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
