/**
 * The shapes the HTTP API shares between routes, declared once. Fastify validates and
 * serialises with them, the handlers are typed from them, and @fastify/swagger publishes
 * them under #/components/schemas by their $id. Routes refer to them with `ref()`.
 *
 * Also here: how a route declares an answer (`answer()`), with named examples whose
 * messages come from the code that sends them.
 */
import { Type, type Static, type TSchema, type TUnsafe } from 'typebox';

/** A reference to a shared schema (one declared with an $id), typed as the schema's static type. */
export function ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  const { $id } = schema as { $id?: unknown };
  if (typeof $id !== 'string') throw new Error('ref() takes a shared schema, declared with an $id');
  return Type.Unsafe<Static<T>>({ $ref: `${$id}#` });
}

/** `type: [X, 'null']`: null or the schema's type, one set of keywords for both (simpler errors than anyOf). */
export function nullable<T extends TSchema>(schema: T): TUnsafe<Static<T> | null> {
  const { type } = schema as { type?: string };
  if (typeof type !== 'string') throw new Error('nullable() takes a schema with a single type');
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [type, 'null'] });
}

export const ErrorSchema = Type.Object(
  { detail: Type.String({ description: 'What went wrong, in one sentence.' }) },
  { $id: 'Error', description: 'The rooms API\'s and the framework\'s error body.' },
);

export const OAuthErrorSchema = Type.Object(
  { error: Type.String({ description: 'What went wrong.' }) },
  { $id: 'OAuthError', description: 'The token endpoint\'s error body.' },
);

export const FieldErrorsSchema = Type.Record(
  Type.String(),
  Type.Union([Type.Array(Type.String()), Type.Record(Type.String(), Type.Array(Type.String()))]),
  {
    $id: 'FieldErrors',
    description:
      'One key per invalid field, each with its messages. A list whose entries are invalid names each bad entry by its ' +
      'index instead: `{"attendees": {"2": ["Enter a valid email address."]}}`.',
  },
);

export const HealthSchema = Type.Object(
  { status: Type.String(), detail: Type.Optional(Type.String()) },
  { $id: 'HealthStatus', description: 'Liveness or readiness.' },
);

/** Every schema above and in the routes' modules that carries an $id; registered once by the app. */
export const SHARED_SCHEMAS: TSchema[] = [ErrorSchema, OAuthErrorSchema, FieldErrorsSchema, HealthSchema];

type Example = { summary: string; value: unknown };
export type Examples = Record<string, Example>;

/** A named example of a `{"detail": message}` body. */
export function detailExample(summary: string, message: string): Example {
  return { summary, value: { detail: message } };
}

export interface HeaderDeclaration {
  description: string;
  type: 'string' | 'integer';
  example?: string | number;
}

/**
 * An answer of a route: the body's schema, a description, named examples, and the headers
 * it carries. Declared in OpenAPI's `content` form so the examples keep their names.
 */
export function answer(
  description: string,
  schema: TSchema | { $ref: string },
  examples?: Examples,
  headers?: Record<string, HeaderDeclaration>,
) {
  return {
    description,
    ...(headers === undefined ? {} : { headers }),
    content: { 'application/json': { schema, ...(examples === undefined ? {} : { examples }) } },
  };
}

export const RETRY_AFTER: HeaderDeclaration = { description: 'Seconds to wait before trying again.', type: 'integer', example: 5 };
