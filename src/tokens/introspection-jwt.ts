/**
 * Reading an introspection answer in the JWT format (RFC 9701): a JWT signed by the
 * authorization server, encrypted to this server's key when one is configured, whose
 * `token_introspection` claim holds the introspection data.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { compactDecrypt, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { ResourceServerConfig } from '../config.js';
import { IntrospectionFailure, claimsFrom, type IntrospectionClaims } from './introspection-answer.js';
import { whyUnreachable } from './introspection-http.js';

/** jose's error codes, in the words the logs use. */
const VERIFICATION_REFUSALS: Readonly<Record<string, string>> = {
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'bad signature',
  ERR_JOSE_ALG_NOT_ALLOWED: 'signing algorithm not allowed',
  ERR_JWKS_NO_MATCHING_KEY: 'signing key not in the JWKS',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'signing key ambiguous in the JWKS',
};

export class JwtAnswerReader {
  private readonly signingKeys: JWTVerifyGetKey;
  private readonly decryptionKey: KeyObject | undefined;

  constructor(private readonly config: ResourceServerConfig) {
    if (config.jwksEndpoint === undefined) throw new Error('the jwt introspection format needs the JWKS endpoint');
    const remoteKeys = createRemoteJWKSet(new URL(config.jwksEndpoint), { timeoutDuration: config.timeoutMs });
    this.signingKeys = async (header, token) => {
      try {
        return await remoteKeys(header, token);
      } catch (error) {
        // A key the set lacks is the answer's fault; a set that cannot be fetched is an outage.
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
        throw IntrospectionFailure.unavailable(`JWKS ${whyUnreachable(error)}`);
      }
    };
    // Parsed once, so a malformed key shows at startup rather than at the first token.
    this.decryptionKey = config.privateKeyPem === undefined ? undefined : createPrivateKey(config.privateKeyPem);
  }

  /** The `token_introspection` claims of a verified answer. */
  async read(answer: string): Promise<IntrospectionClaims> {
    const signed = await this.decrypt(answer.trim());
    let payload: IntrospectionClaims;
    try {
      ({ payload } = await jwtVerify(signed, this.signingKeys, {
        algorithms: [this.config.signingAlgorithm],
        issuer: this.config.issuer,
        audience: this.config.clientId,
      }));
    } catch (error) {
      if (error instanceof IntrospectionFailure) throw error;
      throw IntrospectionFailure.badAnswer(whyUnverified(error));
    }
    if (payload.token_introspection === undefined) throw IntrospectionFailure.badAnswer('no token_introspection claim');
    return claimsFrom(payload.token_introspection, 'the token_introspection claim');
  }

  /** The signed JWT inside; with a configured key, the answer must be encrypted to it. */
  private async decrypt(answer: string): Promise<string> {
    if (this.decryptionKey === undefined) return answer;
    if (answer.split('.').length !== 5) throw IntrospectionFailure.badAnswer('answer not encrypted');
    try {
      const { plaintext } = await compactDecrypt(answer, this.decryptionKey, {
        keyManagementAlgorithms: [this.config.encryptionAlgorithm],
        contentEncryptionAlgorithms: [this.config.encryptionEncoding],
      });
      return new TextDecoder().decode(plaintext);
    } catch {
      throw IntrospectionFailure.badAnswer('answer not decryptable');
    }
  }
}

function whyUnverified(error: unknown): string {
  if (error instanceof errors.JWTClaimValidationFailed) return `JWT ${error.claim} claim rejected (${error.reason})`;
  if (error instanceof errors.JOSEError) return VERIFICATION_REFUSALS[error.code] ?? `JWT invalid (${error.code})`;
  return 'JWT invalid';
}
