/**
 * The token endpoint's rules (docs/api.md, "Token endpoint"), as a list of named
 * checks in their order. Client authentication has already been unpacked by client-auth.ts: this service
 * only sees the four fields, whatever the transport.
 */
import type { Logger } from 'pino';
import type { LogSink } from '../logger.js';
import type { Config } from '../config.js';
import type { ApplicationsService } from '../applications/applications.service.js';
import type { UsersService } from '../users/users.service.js';
import { ApiError, oauthError } from '../errors.js';
import { emailDomain, isValidEmail } from '../validation.js';
import type { JwtCodec } from './jwt.js';
import type { TokenRequest, TokenResponse } from './token.schemas.js';

export const INVALID_CREDENTIALS = 'Invalid credentials';
export const INACTIVE_APPLICATION = 'Application is inactive';
export const INVALID_SCOPE = 'Scope should be a valid email address.';
export const DOMAIN_NOT_ALLOWED = 'This application is not authorized for this email domain.';
export const USER_NOT_FOUND = 'User not found.';
export const GRANT_TYPE = 'client_credentials';

export class TokenService {
  constructor(
    private readonly applications: ApplicationsService,
    private readonly users: UsersService,
    private readonly jwt: JwtCodec,
    private readonly config: Pick<Config, 'allowUserCreation' | 'jwt'>,
    private readonly logger: Logger,
  ) {}

  /**
   * The fields have been checked against TokenRequestSchema already (present, text, not
   * blank, trimmed). The grant type is checked here, after them, as the contract orders.
   */
  /** `log`: the request's logger, so a refusal's line carries its request id. */
  async issueToken(request: TokenRequest, log: LogSink = this.logger): Promise<TokenResponse> {
    if (request.grant_type !== GRANT_TYPE) {
      throw new ApiError(400, { grant_type: [`"${request.grant_type}" is not a valid choice.`] });
    }

    const application = await this.applications.authenticateClient(request.client_id, request.client_secret);
    if (!application) {
      // The caller learns nothing more; the log says which half was wrong for the operator.
      log.info({ event: 'token.denied', reason: 'invalid_credentials', client_id: request.client_id }, 'token refused');
      throw oauthError(401, INVALID_CREDENTIALS);
    }
    if (!application.isActive) throw oauthError(401, INACTIVE_APPLICATION);

    const email = request.scope;
    if (!isValidEmail(email)) throw oauthError(400, INVALID_SCOPE);

    if (application.domains.length > 0 && !application.domains.includes(emailDomain(email))) {
      throw oauthError(403, DOMAIN_NOT_ALLOWED);
    }

    const user = await this.users.findOrProvisionUser(email, this.config.allowUserCreation);
    if (!user) throw oauthError(400, USER_NOT_FOUND);

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
