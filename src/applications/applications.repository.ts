import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { ApplicationRow, Database } from '../db/schema.js';
import { fromBoolean, nowIso, toBoolean } from '../db/convert.js';
import { PreparedQuery } from '../db/prepared-query.js';

export interface Application {
  id: string;
  name: string;
  clientId: string;
  secretHash: string;
  scopes: string[];
  domains: string[];
  isActive: boolean;
}

type Db = Kysely<Database> | Transaction<Database>;

function parseScopes(json: string): string[] {
  const parsed: unknown = JSON.parse(json);
  return Array.isArray(parsed) ? parsed.filter((s): s is string => typeof s === 'string') : [];
}

function toApplication(row: ApplicationRow, domains: string[]): Application {
  return {
    id: row.id,
    name: row.name,
    clientId: row.client_id,
    secretHash: row.client_secret_hash,
    scopes: parseScopes(row.scopes),
    domains,
    isActive: toBoolean(row.is_active),
  };
}

async function domainsOf(db: Db, applicationIds: string[]): Promise<Map<string, string[]>> {
  const byApp = new Map<string, string[]>(applicationIds.map((id) => [id, []]));
  if (applicationIds.length === 0) return byApp;
  const rows = await db
    .selectFrom('application_domains')
    .select(['application_id', 'domain'])
    .where('application_id', 'in', applicationIds)
    .orderBy('domain')
    .execute();
  for (const row of rows) byApp.get(row.application_id)?.push(row.domain);
  return byApp;
}

// One row per allowed domain (one row with a null domain when there is none): the
// application and its domains in a single round trip, on either store.
const applicationWithDomains = new PreparedQuery<{ clientId: string }, ApplicationRow & { domain: string | null }>((db, param) =>
  db
    .selectFrom('applications')
    .leftJoin('application_domains', 'application_domains.application_id', 'applications.id')
    .selectAll('applications')
    .select('application_domains.domain')
    .where('applications.client_id', '=', param('clientId'))
    .orderBy('application_domains.domain'),
);

export async function findApplicationByClientId(db: Kysely<Database>, clientId: string): Promise<Application | undefined> {
  const rows = await applicationWithDomains.execute(db, { clientId });
  const first = rows[0];
  if (first === undefined) return undefined;
  const domains = rows.flatMap((row) => (row.domain === null ? [] : [row.domain]));
  return toApplication(first, domains);
}

export async function listApplications(db: Db): Promise<Application[]> {
  const rows = await db.selectFrom('applications').selectAll().orderBy('created_at').orderBy('id').execute();
  const domains = await domainsOf(db, rows.map((r) => r.id));
  return rows.map((row) => toApplication(row, domains.get(row.id) ?? []));
}

export async function insertApplication(
  trx: Transaction<Database>,
  app: Omit<Application, 'id'>,
): Promise<Application> {
  const now = nowIso();
  const id = randomUUID();
  await trx
    .insertInto('applications')
    .values({
      id,
      name: app.name,
      client_id: app.clientId,
      client_secret_hash: app.secretHash,
      scopes: JSON.stringify(app.scopes),
      is_active: fromBoolean(app.isActive),
      created_at: now,
      updated_at: now,
    })
    .execute();
  await replaceDomains(trx, id, app.domains);
  return { ...app, id };
}

export type ApplicationChanges = Partial<Pick<Application, 'name' | 'secretHash' | 'scopes' | 'isActive' | 'domains'>>;

/**
 * Writes only the fields that change, so two operators changing different things at once
 * (say, a rename and a secret rotation) do not undo each other.
 */
export async function updateApplication(trx: Transaction<Database>, id: string, changes: ApplicationChanges): Promise<void> {
  await trx
    .updateTable('applications')
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.secretHash === undefined ? {} : { client_secret_hash: changes.secretHash }),
      ...(changes.scopes === undefined ? {} : { scopes: JSON.stringify(changes.scopes) }),
      ...(changes.isActive === undefined ? {} : { is_active: fromBoolean(changes.isActive) }),
      updated_at: nowIso(),
    })
    .where('id', '=', id)
    .execute();
  if (changes.domains !== undefined) await replaceDomains(trx, id, changes.domains);
}

async function replaceDomains(trx: Transaction<Database>, applicationId: string, domains: string[]): Promise<void> {
  await trx.deleteFrom('application_domains').where('application_id', '=', applicationId).execute();
  if (domains.length === 0) return;
  await trx
    .insertInto('application_domains')
    .values(domains.map((domain) => ({ id: randomUUID(), application_id: applicationId, domain })))
    .execute();
}

export async function deleteApplication(db: Db, id: string): Promise<void> {
  await db.deleteFrom('applications').where('id', '=', id).execute();
}

/** What a bearer check needs, read in one query: the application and (when asked) the user. */
export interface AuthSubjects {
  application: { scopes: string[]; isActive: boolean } | undefined;
  user: { id: string; isActive: boolean } | undefined;
}

const applicationScopes = new PreparedQuery<{ clientId: string }, { scopes: string; is_active: number | boolean }>((db, param) =>
  db.selectFrom('applications').select(['scopes', 'is_active']).where('client_id', '=', param('clientId')),
);

// A left join from the application to the user (unrelated tables, joined on the given id)
// fetches both in one round trip; each side may be missing.
const applicationAndUser = new PreparedQuery<
  { clientId: string; userId: string },
  { app_scopes: string; app_active: number | boolean; user_id: string | null; user_active: number | boolean | null }
>((db, param) =>
  db
    .selectFrom('applications')
    .leftJoin('users', (join) => join.on('users.id', '=', param('userId')))
    .select(['applications.scopes as app_scopes', 'applications.is_active as app_active', 'users.id as user_id', 'users.is_active as user_active'])
    .where('applications.client_id', '=', param('clientId')),
);

export async function findAuthSubjects(db: Kysely<Database>, clientId: string, userId: string | undefined): Promise<AuthSubjects> {
  if (userId === undefined) {
    const app = await applicationScopes.executeTakeFirst(db, { clientId });
    return { application: app && { scopes: parseScopes(app.scopes), isActive: toBoolean(app.is_active) }, user: undefined };
  }
  const row = await applicationAndUser.executeTakeFirst(db, { clientId, userId });
  if (row) {
    return {
      application: { scopes: parseScopes(row.app_scopes), isActive: toBoolean(row.app_active) },
      user: row.user_id !== null && row.user_active !== null ? { id: row.user_id, isActive: toBoolean(row.user_active) } : undefined,
    };
  }
  return { application: undefined, user: undefined };
}

/**
 * Every query on applications and their domains. One implementation per database layout
 * (db/layout.ts picks it): this file's functions for the native tables, meet/ for Meet's.
 */
export interface ApplicationsRepository {
  /** The application with its domains, in one round trip (the token endpoint's hot path). */
  findApplicationByClientId(db: Kysely<Database>, clientId: string): Promise<Application | undefined>;
  listApplications(db: Db): Promise<Application[]>;
  /** Throws the database's unique violation when the client id is taken. */
  insertApplication(trx: Transaction<Database>, app: Omit<Application, 'id'>): Promise<Application>;
  updateApplication(trx: Transaction<Database>, id: string, changes: ApplicationChanges): Promise<void>;
  /** Deletes the application and its domains. */
  deleteApplication(db: Kysely<Database>, id: string): Promise<void>;
  /** What a bearer check needs (the application, and the user when asked), in one query. */
  findAuthSubjects(db: Kysely<Database>, clientId: string, userId: string | undefined): Promise<AuthSubjects>;
}

/** The native layout: this server's own tables. */
export const nativeApplicationsRepository: ApplicationsRepository = {
  findApplicationByClientId,
  listApplications,
  insertApplication,
  updateApplication,
  deleteApplication,
  findAuthSubjects,
};
