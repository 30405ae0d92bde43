import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { isUniqueViolation } from '../db/database.js';
import { ApiError, detailError } from '../errors.js';
import { normalizeScopes } from '../scopes.js';
import { randomString } from '../secrets.js';
import { isValidDomain } from '../validation.js';
import type { Application, ApplicationChanges, ApplicationsRepository, AuthSubjects } from './applications.repository.js';
import type { SecretScheme } from './secret-scheme.js';

export type { Application };

const CLIENT_ID_PATTERN = /^[A-Za-z0-9._~-]{1,255}$/;
const MIN_SECRET_LENGTH = 32;
const MAX_SECRET_LENGTH = 1024;

/** An application as the operator sees it; `client_secret` only right after it was set. */
export interface ApplicationView {
  id: string;
  name: string;
  client_id: string;
  client_secret?: string;
  scopes: string[];
  domains: string[];
  is_active: boolean;
}

export function viewApplication(app: Application, clearSecret?: string): ApplicationView {
  return {
    id: app.id,
    name: app.name,
    client_id: app.clientId,
    ...(clearSecret === undefined ? {} : { client_secret: clearSecret }),
    scopes: app.scopes,
    domains: app.domains,
    is_active: app.isActive,
  };
}

export interface CreateApplicationInput {
  name: string;
  scopes?: string[];
  domains?: string[];
  clientId?: string;
  secret?: string;
  isActive?: boolean;
}

export interface UpdateApplicationInput {
  name?: string;
  scopes?: string[];
  isActive?: boolean;
  addDomains?: string[];
  removeDomains?: string[];
}

function validName(name: string): string {
  const trimmed = name.trim();
  // eslint-disable-next-line no-control-regex
  if (trimmed === '' || trimmed.length > 255 || /[\u0000-\u001f]/.test(trimmed)) {
    throw new ApiError(400, { name: ['Give a name of 1 to 255 characters, without control characters.'] });
  }
  return trimmed;
}

function normalizeDomains(domains: readonly string[]): string[] {
  const out: string[] = [];
  const bad: string[] = [];
  for (const entry of domains) {
    const domain = entry.trim().toLowerCase().replace(/\.$/, '');
    if (domain === '') continue;
    if (!isValidDomain(domain)) bad.push(entry);
    else if (!out.includes(domain)) out.push(domain);
  }
  if (bad.length > 0) throw new ApiError(400, { domains: bad.map((d) => `"${d}" is not a valid domain name.`) });
  return out;
}

function validSecret(secret: string): string {
  if (secret.length < MIN_SECRET_LENGTH || secret.length > MAX_SECRET_LENGTH || secret.trim() !== secret) {
    throw new ApiError(400, {
      secret: [`A client secret has ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters and no surrounding spaces.`],
    });
  }
  return secret;
}

export class ApplicationsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repos: { applications: ApplicationsRepository; secrets: SecretScheme },
    private readonly config: Pick<Config, 'clientIdLength' | 'clientSecretLength'>,
  ) {}

  private get repo(): ApplicationsRepository {
    return this.repos.applications;
  }

  /** Registers an application; the clear secret is returned here and never again. */
  async createApplication(input: CreateApplicationInput): Promise<{ application: Application; secret: string }> {
    const name = validName(input.name);
    const scopes = normalizeScopes(input.scopes ?? []);
    const domains = normalizeDomains(input.domains ?? []);
    const clientId = input.clientId ?? randomString(this.config.clientIdLength);
    if (!CLIENT_ID_PATTERN.test(clientId)) {
      throw new ApiError(400, { client_id: ['A client id has 1 to 255 characters among A-Z a-z 0-9 . _ ~ -.'] });
    }
    const secret = input.secret === undefined ? randomString(this.config.clientSecretLength) : validSecret(input.secret);
    // Hashed before the transaction opens: a slow hash (the meet layout's) holds no connection.
    const secretHash = await this.repos.secrets.hash(secret);
    try {
      const application = await this.db.transaction().execute((trx) =>
        this.repo.insertApplication(trx, {
          name,
          clientId,
          secretHash,
          scopes,
          domains,
          isActive: input.isActive ?? true,
        }),
      );
      return { application, secret };
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(400, { client_id: ['An application with this client id already exists.'] });
      throw error;
    }
  }

  listApplications(): Promise<Application[]> {
    return this.repo.listApplications(this.db);
  }

  async getApplication(clientId: string): Promise<Application> {
    const application = await this.repo.findApplicationByClientId(this.db, clientId);
    if (!application) throw detailError(404, `No application has the client id ${clientId}.`);
    return application;
  }

  async updateApplication(clientId: string, changes: UpdateApplicationInput): Promise<Application> {
    return this.db.transaction().execute(async (trx) => {
      const current = await this.repo.findApplicationByClientId(trx, clientId);
      if (!current) throw detailError(404, `No application has the client id ${clientId}.`);
      const written: ApplicationChanges = {};
      if (changes.name !== undefined) written.name = validName(changes.name);
      if (changes.scopes !== undefined) written.scopes = normalizeScopes(changes.scopes);
      if (changes.isActive !== undefined) written.isActive = changes.isActive;
      const added = normalizeDomains(changes.addDomains ?? []);
      const removed = normalizeDomains(changes.removeDomains ?? []);
      if (added.length > 0 || removed.length > 0) {
        const domains = [...current.domains];
        for (const domain of added) if (!domains.includes(domain)) domains.push(domain);
        const notListed = removed.filter((d) => !domains.includes(d));
        if (notListed.length > 0) {
          throw new ApiError(400, { domains: notListed.map((d) => `"${d}" is not among the application's domains.`) });
        }
        written.domains = domains.filter((d) => !removed.includes(d)).sort();
      }
      await this.repo.updateApplication(trx, current.id, written);
      return { ...current, ...written };
    });
  }

  async rotateSecret(clientId: string): Promise<{ application: Application; secret: string }> {
    const secret = randomString(this.config.clientSecretLength);
    const secretHash = await this.repos.secrets.hash(secret);
    const application = await this.db.transaction().execute(async (trx) => {
      const current = await this.repo.findApplicationByClientId(trx, clientId);
      if (!current) throw detailError(404, `No application has the client id ${clientId}.`);
      await this.repo.updateApplication(trx, current.id, { secretHash });
      return { ...current, secretHash };
    });
    return { application, secret };
  }

  async deleteApplication(clientId: string): Promise<Application> {
    const application = await this.getApplication(clientId);
    await this.repo.deleteApplication(this.db, application.id);
    return application;
  }

  /**
   * The application whose credentials these are, or undefined. An unknown client id and
   * a wrong secret take the same path (one query, a hash, a constant-time comparison).
   */
  async authenticateClient(clientId: string, secret: string): Promise<Application | undefined> {
    // One query either way (the application with its domains), so a known client id
    // costs no more round trips than an unknown one.
    // PostgreSQL refuses NUL in text; no client id holds one, so such an id is unknown.
    const application = clientId.includes('\u0000') ? undefined : await this.repo.findApplicationByClientId(this.db, clientId);
    // Hashed whether or not the client exists (against a decoy when it does not): an
    // unknown id must not answer faster than a wrong secret.
    const secretIsRight = await this.repos.secrets.verify(clientId, secret, application?.secretHash);
    return application !== undefined && secretIsRight ? application : undefined;
  }

  /** What a bearer check needs: the application, and the user when asked, in one query. */
  findAuthSubjects(clientId: string, userId: string | undefined): Promise<AuthSubjects> {
    return this.repo.findAuthSubjects(this.db, clientId, userId);
  }
}
