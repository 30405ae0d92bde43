/**
 * The token endpoint's rules (CONTRACT §2.1), as a list of named checks in the contract's
 * order. Client authentication has already been unpacked by client-auth.ts: this service
 * only sees the four fields, whatever the transport.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ApplicationsService } from '../applications/applications.service.js';
import type { UsersService } from '../users/users.service.js';
import { ApiError, oauthError } from '../errors.js';
import { emailDomain, isValidEmail } from '../validation.js';
import type { JwtCodec } from './jwt.js';

export interface TokenRequestFields {
  client_id?: unknown;
  client_secret?: unknown;
  grant_type?: unknown;
  scope?: unknown;
}

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

const FIELD_ORDER = ['client_id', 'client_secret', 'grant_type', 'scope'] as const;
type FieldName = (typeof FIELD_ORDER)[number];

export const INVALID_CREDENTIALS = 'Invalid credentials';

/** Each field as a trimmed, non-blank string, or a 400 with one key per bad field. */
export function requireTokenFields(fields: TokenRequestFields): Record<FieldName, string> {
  const values: Partial<Record<FieldName, string>> = {};
  const problems: Record<string, string[]> = {};
  for (const name of FIELD_ORDER) {
    const value = fields[name];
    if (value === undefined) problems[name] = ['This field is required.'];
    else if (value === null) problems[name] = ['This field may not be null.'];
    else if (typeof value !== 'string' && typeof value !== 'number') problems[name] = ['Not a valid string.'];
    else {
      const trimmed = String(value).trim();
      if (trimmed === '') problems[name] = ['This field may not be blank.'];
      else values[name] = trimmed;
    }
  }
  if (Object.keys(problems).length > 0) throw new ApiError(400, problems);
  return values as Record<FieldName, string>;
}

export class TokenService {
  constructor(
    private readonly applications: ApplicationsService,
    private readonly users: UsersService,
    private readonly jwt: JwtCodec,
    private readonly config: Pick<Config, 'allowUserCreation' | 'jwt'>,
    private readonly logger: Logger,
  ) {}

  async issueToken(fields: TokenRequestFields): Promise<TokenResponse> {
    const request = requireTokenFields(fields);

    if (request.grant_type !== 'client_credentials') {
      throw new ApiError(400, { grant_type: [`"${request.grant_type}" is not a valid choice.`] });
    }

    const application = await this.applications.authenticateClient(request.client_id, request.client_secret);
    if (!application) {
      // The caller learns nothing more; the log says which half was wrong for the operator.
      this.logger.info({ event: 'token.denied', reason: 'invalid_credentials', client_id: request.client_id }, 'token refused');
      throw oauthError(401, INVALID_CREDENTIALS);
    }
    if (!application.isActive) throw oauthError(401, 'Application is inactive');

    const email = request.scope;
    if (!isValidEmail(email)) throw oauthError(400, 'Scope should be a valid email address.');

    if (application.domains.length > 0 && !application.domains.includes(emailDomain(email))) {
      throw oauthError(403, 'This application is not authorized for this email domain.');
    }

    const user = await this.users.findOrProvisionUser(email, this.config.allowUserCreation);
    if (!user) throw oauthError(400, 'User not found.');

    const accessToken = this.jwt.sign({ userId: user.id, clientId: application.clientId, scopes: application.scopes });
    const response: TokenResponse = {
      access_token: accessToken,
      token_type: this.config.jwt.tokenType,
      expires_in: this.config.jwt.expirationSeconds,
    };
    if (application.scopes.length > 0) response.scope = application.scopes.join(' ');
    return response;
  }
}
