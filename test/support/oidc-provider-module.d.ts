/**
 * oidc-provider ships no type declarations and the project does not install
 * @types/oidc-provider: this is the part of its v9 API the test harness uses, typed from
 * its README and lib/ sources.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { JWK } from 'jose';

  /** Client metadata, as registered (snake_case, as in OpenID Connect Dynamic Registration). */
  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    introspection_signed_response_alg?: string;
    introspection_encrypted_response_alg?: string;
    introspection_encrypted_response_enc?: string;
    jwks?: { keys: JWK[] };
  }

  export interface Feature {
    enabled: boolean;
  }

  export interface Configuration {
    clients?: ClientMetadata[];
    jwks?: { keys: JWK[] };
    features?: {
      devInteractions?: Feature;
      encryption?: Feature;
      introspection?: Feature & {
        allowedPolicy?: (ctx: KoaContext, client: Client, token: AccessToken) => Promise<boolean> | boolean;
      };
      jwtIntrospection?: Feature;
    };
  }

  /** The slice of a Koa context the harness reads. */
  export interface KoaContext {
    method: string;
    path: string;
    status: number;
  }

  export interface Client {
    clientId: string;
  }

  export interface AccessTokenInit {
    accountId?: string;
    clientId: string;
    scope?: string;
    expiresIn?: number;
  }

  export interface AccessToken {
    clientId: string;
    /** Stores the token; resolves with its value (the opaque bearer string). */
    save(): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface AccessTokenClass {
    new (init: AccessTokenInit): AccessToken;
    find(value: string): Promise<AccessToken | undefined>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly AccessToken: AccessTokenClass;
    /** A Node request listener (Provider is a Koa application). */
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): this;
  }
}
