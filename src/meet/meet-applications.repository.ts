/**
 * Applications in Meet's meet_application and meet_application_domain (the meet layout):
 * those registered in Meet's admin authenticate here, and those registered here appear
 * there. The secret column holds a Django password hash (applications/secret-scheme.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { nowIso } from '../db/convert.js';
import { PreparedQuery } from '../db/prepared-query.js';
import type { Application, ApplicationChanges, ApplicationsRepository } from '../applications/applications.repository.js';

type Db = Kysely<Database> | Transaction<Database>;

interface ApplicationRow {
  id: string;
  name: string;
  client_id: string;
  client_secret: string;
  scopes: string[];
  is_active: boolean;
}

const applicationColumns = ['id', 'name', 'client_id', 'client_secret', 'scopes', 'is_active'] as const;

function toApplication(row: ApplicationRow, domains: string[]): Application {
  return {
    id: row.id,
    name: row.name,
    clientId: row.client_id,
    secretHash: row.client_secret,
    scopes: Array.isArray(row.scopes) ? row.scopes : [],
    domains,
    isActive: row.is_active,
  };
}

// The application and its domains in one round trip (one row per domain, or one with a
// null domain), as in the native layout.
const applicationWithDomains = new PreparedQuery<{ clientId: string }, ApplicationRow & { domain: string | null }>((db, param) =>
  db
    .selectFrom('meet_application')
    .leftJoin('meet_application_domain', 'meet_application_domain.application_id', 'meet_application.id')
    .select(applicationColumns.map((c) => `meet_application.${c}` as const))
    .select('meet_application_domain.domain')
    .where('meet_application.client_id', '=', param('clientId'))
    .orderBy('meet_application_domain.domain'),
);

const applicationAndUser = new PreparedQuery<
  { clientId: string; userId: string },
  { app_scopes: string[]; app_active: boolean; user_id: string | null; user_active: boolean | null }
>((db, param) =>
  db
    .selectFrom('meet_application')
    .leftJoin('meet_user', (join) => join.on('meet_user.id', '=', param('userId')))
    .select(['meet_application.scopes as app_scopes', 'meet_application.is_active as app_active', 'meet_user.id as user_id', 'meet_user.is_active as user_active'])
    .where('meet_application.client_id', '=', param('clientId')),
);

const applicationScopes = new PreparedQuery<{ clientId: string }, { scopes: string[]; is_active: boolean }>((db, param) =>
  db.selectFrom('meet_application').select(['scopes', 'is_active']).where('client_id', '=', param('clientId')),
);

/** Domains are stored lower-case (Meet's model lower-cases them too). */
async function replaceDomains(trx: Db, applicationId: string, domains: string[]): Promise<void> {
  await trx.deleteFrom('meet_application_domain').where('application_id', '=', applicationId).execute();
  if (domains.length === 0) return;
  const now = nowIso();
  await trx
    .insertInto('meet_application_domain')
    .values(domains.map((domain) => ({ id: randomUUID(), created_at: now, updated_at: now, domain, application_id: applicationId })))
    .execute();
}

export const meetApplicationsRepository: ApplicationsRepository = {
  async findApplicationByClientId(db, clientId) {
    const rows = await applicationWithDomains.execute(db, { clientId });
    const first = rows[0];
    if (first === undefined) return undefined;
    return toApplication(first, rows.flatMap((row) => (row.domain === null ? [] : [row.domain])));
  },

  async listApplications(db) {
    const rows = await db.selectFrom('meet_application').select(applicationColumns).orderBy('created_at').orderBy('id').execute();
    const byApp = new Map<string, string[]>(rows.map((r) => [r.id, []]));
    if (rows.length > 0) {
      const domains = await db
        .selectFrom('meet_application_domain')
        .select(['application_id', 'domain'])
        .where('application_id', 'in', rows.map((r) => r.id))
        .orderBy('domain')
        .execute();
      for (const d of domains) byApp.get(d.application_id)?.push(d.domain);
    }
    return rows.map((row) => toApplication(row, byApp.get(row.id) ?? []));
  },

  async insertApplication(trx, app) {
    const now = nowIso();
    const id = randomUUID();
    await trx
      .insertInto('meet_application')
      .values({
        id,
        created_at: now,
        updated_at: now,
        name: app.name,
        is_active: app.isActive,
        client_id: app.clientId,
        client_secret: app.secretHash,
        scopes: app.scopes,
      })
      .execute();
    await replaceDomains(trx, id, app.domains);
    return { ...app, id };
  },

  async updateApplication(trx, id, changes: ApplicationChanges) {
    await trx
      .updateTable('meet_application')
      .set({
        ...(changes.name === undefined ? {} : { name: changes.name }),
        ...(changes.secretHash === undefined ? {} : { client_secret: changes.secretHash }),
        ...(changes.scopes === undefined ? {} : { scopes: changes.scopes }),
        ...(changes.isActive === undefined ? {} : { is_active: changes.isActive }),
        updated_at: nowIso(),
      })
      .where('id', '=', id)
      .execute();
    if (changes.domains !== undefined) await replaceDomains(trx, id, changes.domains);
  },

  /** Its domains first: Meet's foreign keys carry no ON DELETE (Django cascades in Python). */
  async deleteApplication(db, id) {
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('meet_application_domain').where('application_id', '=', id).execute();
      await trx.deleteFrom('meet_application').where('id', '=', id).execute();
    });
  },

  async findAuthSubjects(db, clientId, userId) {
    if (userId === undefined) {
      const app = await applicationScopes.executeTakeFirst(db, { clientId });
      return { application: app && { scopes: app.scopes, isActive: app.is_active }, user: undefined };
    }
    const row = await applicationAndUser.executeTakeFirst(db, { clientId, userId });
    if (!row) return { application: undefined, user: undefined };
    return {
      application: { scopes: row.app_scopes, isActive: row.app_active },
      user: row.user_id !== null && row.user_active !== null ? { id: row.user_id, isActive: row.user_active } : undefined,
    };
  },
};
