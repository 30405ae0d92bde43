/** The token endpoint's shapes (RFC 6749 §4.4): one declaration for validation, types and the served description. */
import { Type, type Static } from 'typebox';

const field = (description: string, example: string) => Type.String({ minLength: 1, description, examples: [example] });

export const TokenRequestSchema = Type.Object(
  {
    client_id: field('The application\'s client id (or in an HTTP Basic header instead).', '550e8400-e29b-41d4-a716-446655440000'),
    client_secret: field('The application\'s client secret (or in an HTTP Basic header instead).', '1234567890abcdefghijklmnopqrstuvwxyz'),
    grant_type: field('Always `client_credentials`.', 'client_credentials'),
    scope: field('The email of the user the application acts for.', 'user@example.com'),
  },
  {
    $id: 'TokenRequest',
    description:
      'As JSON or as a form. Values are trimmed; a number is read as its text. With HTTP Basic client authentication, ' +
      '`client_id` and `client_secret` come from the header and are left out of the body.',
  },
);
export type TokenRequest = Static<typeof TokenRequestSchema>;

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT to send as `Authorization: Bearer <token>`.', examples: ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...'] }),
    token_type: Type.String({ examples: ['Bearer'] }),
    expires_in: Type.Integer({ description: 'Seconds until the token expires.', examples: [3600] }),
    scope: Type.Optional(
      Type.String({
        description: 'The application\'s scopes in the order they were granted, space-separated; absent when it has none.',
        examples: ['rooms:list rooms:retrieve rooms:create'],
      }),
    ),
  },
  { $id: 'TokenResponse', description: 'A delegation token.' },
);
export type TokenResponse = Static<typeof TokenResponseSchema>;

export const TOKEN_SCHEMAS = [TokenRequestSchema, TokenResponseSchema];
