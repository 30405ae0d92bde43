/**
 * La Suite Meet's add-on tokens (docs/api.md, "Add-on tokens"): Meet's calendar and mail
 * plug-ins call /rooms with JWTs that Meet signs itself with ADDONS_TOKEN_SECRET_KEY,
 * carrying iss, aud, iat, exp, user_id and scope, and no client_id or delegated claim.
 * Accepted only while ADDONS_ENABLED is true. The bearer checks (bearer-auth.ts) try the
 * application key first and come here only for a token it did not sign, so the
 * application tokens' path costs nothing more.
 */
import type { AddonsConfig } from '../config.js';
import { JwtCodec } from './jwt.js';

/**
 * The creating client recorded on a room made with an add-on token, and the key of the
 * add-ons' request budget per user (`meet:addons:<user id>`). No application can have it:
 * a client id has no colon. So DELETE's "created by this application" rule lets an
 * add-on token delete the rooms made through add-ons, and no application's token can.
 */
export const ADDONS_CLIENT_ID = 'meet:addons';

export interface AddonUser {
  id: string;
  isActive: boolean;
}

/** The user a token's user_id names (a lower-case UUID), or undefined. */
export type AddonUserLookup = (userId: string) => Promise<AddonUser | undefined>;

/** What bearer-auth.ts needs to take add-on tokens. */
export interface AddonTokens {
  /**
   * Checks signature, algorithm, exp, iss and aud, in the order of the application
   * tokens' checks; throws a TokenRefusal (`ours` false for a token the add-on key did not
   * sign). Remembers verified tokens as the application codec does.
   */
  codec: JwtCodec;
  findUser: AddonUserLookup;
}

// The lookup comes from the layout's users repository (app.ts: UsersService.findUserById),
// so add-on users are read from this server's users table or from Meet's meet_user.

export function createAddonTokens(config: AddonsConfig, findUser: AddonUserLookup): AddonTokens {
  const codec = new JwtCodec(config.secretKey, {
    secretKey: config.secretKey,
    fallbackKeys: [],
    algorithm: config.algorithm,
    issuer: config.issuer,
    audience: config.audience,
    // Never used: this server only verifies add-on tokens; Meet issues them.
    expirationSeconds: 1,
    tokenType: 'Bearer',
  });
  return { codec, findUser };
}
