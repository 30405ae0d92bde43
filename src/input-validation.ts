/**
 * Request validation from the route schemas, answered in the reference's words.
 *
 * Fastify hands each route's params, querystring and body schema to `validatorCompiler`.
 * Before a part is checked it is read the way the Django reference reads input, which
 * JSON Schema cannot state (these are the only hand-written steps):
 *  - in a body, a text field (a string without a fixed set of values) is trimmed, and a
 *    number sent for one is read as its decimal text (DRF's CharField);
 *  - in the query string, text is trimmed, an empty parameter counts as absent (so its
 *    default applies), and an integer parameter is read from its digits (" +5 " is 5,
 *    "5.0" and "1e2" are not integers).
 * Then Ajv checks the part against the schema, and every failure is put into words by one
 * mapping (`validationError`), whatever the route: the Django REST framework's messages
 * for a field, pydantic's for the inside of an object field (upstream validates room
 * configuration with a pydantic model).
 */
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import type { Static, TSchema } from 'typebox';
import { ApiError } from './errors.js';
import { isUuid, isValidEmail } from './validation.js';

type Schema = AnySchemaObject;
type Fields = Record<string, unknown>;

/** Schemas shared between routes (registered by $id), so a $ref can be followed while reading. */
const sharedSchemas = new Map<string, Schema>();

const ajv = new Ajv({
  // Every bad field is named in one answer, as DRF does.
  allErrors: true,
  // errors carry the failing schema and value: the messages need both.
  verbose: true,
  // The OpenAPI keywords (example, x-...) are annotations here.
  strict: false,
});
ajv.addFormat('email', { type: 'string', validate: isValidEmail });
ajv.addFormat('uuid', { type: 'string', validate: isUuid });
ajv.addFormat('uri', { type: 'string', validate: (value: string) => URL.canParse(value) });

/** Makes a shared schema known to request validation (app.addSchema does the same for Fastify). */
export function addSharedSchema(schema: TSchema): void {
  const { $id } = schema as Schema;
  if (typeof $id !== 'string') throw new Error('a shared schema needs an $id');
  if (sharedSchemas.has($id)) return;
  sharedSchemas.set($id, schema as Schema);
  ajv.addSchema(schema as Schema);
}

function resolve(schema: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  const target = sharedSchemas.get(ref.replace(/#$/, ''));
  if (!target) throw new Error(`unknown shared schema ${ref}`);
  return target;
}

function typesOf(schema: Schema): string[] {
  const { type } = schema;
  return Array.isArray(type) ? type : typeof type === 'string' ? [type] : [];
}

function isObject(value: unknown): value is Fields {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A free text field: trimmed, and a number sent for it is read as text. */
function isText(schema: Schema): boolean {
  return typesOf(schema).includes('string') && schema.enum === undefined && schema.const === undefined;
}

function readText(schema: Schema, value: unknown): unknown {
  if (!isText(schema)) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value === 'string' ? value.trim() : value;
}

/** Reads a body's fields in place (see the header); anything else is left for Ajv to judge. */
function readBody(schema: Schema, data: unknown): unknown {
  const properties = resolve(schema).properties as Record<string, Schema> | undefined;
  if (!isObject(data) || properties === undefined) return data;
  for (const [name, declared] of Object.entries(properties)) {
    if (!Object.hasOwn(data, name)) continue;
    const property = resolve(declared);
    const value = data[name];
    if (Array.isArray(value) && property.items !== undefined) {
      const items = resolve(property.items as Schema);
      data[name] = value.map((item) => readText(items, item));
    } else if (typesOf(property).includes('object')) {
      readBody(property, value);
    } else {
      data[name] = readText(property, value);
    }
  }
  return data;
}

const INTEGER_TEXT = /^[-+]?\d+$/;

/**
 * An integer of any length, as Python reads it: one too large for a double stays a huge
 * integer (past every bound) rather than becoming Infinity, which is no integer at all.
 */
function readInteger(text: string): number {
  const value = Number(text);
  return Number.isFinite(value) ? value : Math.sign(value) * Number.MAX_VALUE;
}

/** Reads query parameters in place (see the header). A repeated parameter stays a list, which no schema accepts. */
function readQuery(schema: Schema, query: unknown): unknown {
  const properties = resolve(schema).properties as Record<string, Schema> | undefined;
  if (!isObject(query) || properties === undefined) return query;
  for (const [name, declared] of Object.entries(properties)) {
    const value = query[name];
    if (typeof value !== 'string') continue;
    const trimmed = value.trim();
    if (trimmed === '') delete query[name];
    else if (typesOf(resolve(declared)).includes('integer') && INTEGER_TEXT.test(trimmed)) query[name] = readInteger(trimmed);
    else query[name] = trimmed;
  }
  return query;
}

/**
 * Fastify's validator compiler: read, check, and on failure answer with the mapped error
 * (an ApiError, which the error handler sends as it is).
 */
export const validatorCompiler: FastifySchemaCompiler<Schema> = ({ schema, httpPart }) => {
  const validate = ajv.compile(schema);
  const read = httpPart === 'querystring' ? readQuery : httpPart === 'body' ? readBody : (_: Schema, data: unknown) => data;
  return (data: unknown) => {
    const value = read(schema, data);
    if (validate(value)) return { value };
    return { error: validationError(validate, schema) };
  };
};

const compiledInputs = new WeakMap<TSchema, ValidateFunction>();

/**
 * Checks input that did not come through HTTP (the command line) against the same schema,
 * read and answered in the same words as a request body; throws the same 400.
 */
export function checkInput<T extends TSchema>(schema: T, data: unknown): Static<T> {
  let validate = compiledInputs.get(schema);
  if (validate === undefined) {
    validate = ajv.compile(schema);
    compiledInputs.set(schema, validate);
  }
  const value = readBody(schema, data);
  if (!validate(value)) throw validationError(validate, schema);
  return value as Static<T>;
}

// ---------------------------------------------------------------------------------------
// The one mapping from schema failures to the contract's messages.

/** An answer about the body as a whole (not an object): said before anything else about it. */
export class InvalidBodyShapeError extends ApiError {}

/** JavaScript's name for a value's kind, as the messages say it ("array", "null", "string"...). */
function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** What a list holds, named in "Expected a list of ... but got ...". */
const LIST_NOUNS: Record<string, string> = { email: 'email addresses' };
/** What a value that fails a format is told. */
const FORMAT_MESSAGES: Record<string, string> = { email: 'Enter a valid email address.', uuid: 'Must be a valid UUID.' };

const DRF_TYPE_MESSAGES: Record<string, (error: ErrorObject) => string> = {
  string: () => 'Not a valid string.',
  integer: () => 'A valid integer is required.',
  number: () => 'A valid number is required.',
  boolean: () => 'Must be a valid boolean.',
  array: (error) => {
    const items = error.parentSchema?.items as Schema | undefined;
    const noun = (items && LIST_NOUNS[resolve(items).format as string]) ?? 'items';
    return `Expected a list of ${noun} but got type "${kindOf(error.data)}".`;
  },
  object: (error) => `Expected a dictionary of items but got type "${kindOf(error.data)}".`,
};

/** Python's str() of a number or a boolean, as DRF quotes a refused choice. */
function pythonText(value: number | boolean): string {
  return typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
}

/** Django REST framework's wording for a field's problem. */
function drfMessage(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  const format = error.parentSchema?.format;
  // A value that must have a format is told so, whatever else is wrong with it.
  if (typeof format === 'string' && FORMAT_MESSAGES[format] && error.keyword !== 'required') return FORMAT_MESSAGES[format];
  switch (error.keyword) {
    case 'required':
      return 'This field is required.';
    case 'type': {
      if (error.data === null) return 'This field may not be null.';
      // A choice field reads a number or a boolean as its text (DRF: str(value)), which is no choice.
      if (Array.isArray(error.parentSchema?.enum) && (typeof error.data === 'number' || typeof error.data === 'boolean')) {
        return `"${pythonText(error.data)}" is not a valid choice.`;
      }
      const expected = typesOf(error.parentSchema ?? {}).find((t) => t !== 'null') ?? 'string';
      return (DRF_TYPE_MESSAGES[expected] ?? DRF_TYPE_MESSAGES.string!)(error);
    }
    case 'minLength':
      return params.limit === 1 ? 'This field may not be blank.' : `Ensure this field has at least ${params.limit} characters.`;
    case 'maxLength':
      return `Ensure this field has no more than ${params.limit} characters.`;
    case 'minimum':
      return `Ensure this value is greater than or equal to ${params.limit}.`;
    case 'maximum':
      return `Ensure this value is less than or equal to ${params.limit}.`;
    case 'minItems':
      return `Ensure this field has at least ${params.limit} elements.`;
    case 'maxItems':
      return `Ensure this field has no more than ${params.limit} elements.`;
    case 'enum':
    case 'const':
      return `"${String(error.data)}" is not a valid choice.`;
    default:
      return error.message ?? 'Invalid value.';
  }
}

const PYDANTIC_TYPE_MESSAGES: Record<string, string> = {
  string: 'Input should be a valid string',
  integer: 'Input should be a valid integer',
  number: 'Input should be a valid number',
  boolean: 'Input should be a valid boolean',
  array: 'Input should be a valid list',
  object: 'Input should be a valid dictionary',
};

/** 'a', 'b' or 'c' */
function choices(values: readonly unknown[]): string {
  const quoted = values.map((v) => `'${String(v)}'`);
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/** pydantic's wording, for what is wrong inside an object field (a room's configuration). */
function pydanticMessage(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return 'Extra inputs are not permitted';
    case 'required':
      return 'Field required';
    case 'type': {
      const expected = typesOf(error.parentSchema ?? {}).find((t) => t !== 'null') ?? 'string';
      return PYDANTIC_TYPE_MESSAGES[expected] ?? PYDANTIC_TYPE_MESSAGES.string!;
    }
    case 'enum':
      return `Input should be ${choices(params.allowedValues as unknown[])}`;
    case 'maxItems':
      return `List should have at most ${params.limit} items after validation, not ${(error.data as unknown[]).length}`;
    default:
      return error.message ?? 'Invalid value';
  }
}

/** The JSON-pointer path of the value an error is about, as segments, with the missing or extra key appended. */
function pathOf(error: ErrorObject): string[] {
  const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') segments.push(String(params.missingProperty));
  if (error.keyword === 'additionalProperties') segments.push(String(params.additionalProperty));
  return segments;
}

/** Which of several errors on one value is told: a missing value first, then a wrong type, then the rest in order. */
function mostTelling(errors: ErrorObject[]): ErrorObject {
  return errors.find((e) => e.keyword === 'required') ?? errors.find((e) => e.keyword === 'type') ?? errors[0]!;
}

/**
 * The contract's 400 for a failed validation. The body as a whole not being an object is
 * `{"detail": "Invalid data. Expected a JSON object, but got <kind>."}`; otherwise one key
 * per bad field: `["message"]` for the field itself, `{"<index>": ["message"]}` for bad
 * entries of a list (DRF's ListField), `["<key>: <reason>"]` for what is wrong inside an
 * object (pydantic). A problem with a list as a whole is told instead of its entries'.
 */
function validationError(validate: ValidateFunction, schema: Schema): ApiError {
  const errors = validate.errors ?? [];
  const root = errors.find((e) => e.instancePath === '' && e.keyword === 'type');
  if (root) return new InvalidBodyShapeError(400, { detail: `Invalid data. Expected a JSON object, but got ${kindOf(root.data)}.` });

  const byField = new Map<string, { rest: string[]; error: ErrorObject }[]>();
  for (const error of errors) {
    const [field, ...rest] = pathOf(error);
    if (field === undefined) continue;
    byField.set(field, [...(byField.get(field) ?? []), { rest, error }]);
  }
  const properties = (resolve(schema).properties ?? {}) as Record<string, Schema>;
  const body: Record<string, unknown> = {};
  for (const [field, problems] of byField) {
    const declared = properties[field];
    const isObjectField = declared !== undefined && typesOf(resolve(declared)).includes('object');
    const own = problems.filter((p) => p.rest.length === 0).map((p) => p.error);
    if (own.length > 0) {
      const error = mostTelling(own);
      body[field] = [isObjectField && error.keyword === 'type' && error.data !== null ? pydanticMessage(error) : drfMessage(error)];
    } else if (isObjectField) {
      // One entry per place at fault, as pydantic reports one error per location: an entry
      // that must be one of a set of strings is told the set, whatever its type.
      const byPlace = new Map<string, ErrorObject[]>();
      for (const { rest, error } of problems) byPlace.set(rest.join('.'), [...(byPlace.get(rest.join('.')) ?? []), error]);
      body[field] = [...byPlace].map(([place, errors]) => `${place}: ${pydanticMessage(errors.find((e) => e.keyword === 'enum') ?? mostTelling(errors))}`);
    } else {
      const byEntry: Record<string, ErrorObject[]> = {};
      for (const { rest, error } of problems) (byEntry[rest[0]!] ??= []).push(error);
      body[field] = Object.fromEntries(Object.entries(byEntry).map(([entry, entryErrors]) => [entry, [drfMessage(mostTelling(entryErrors))]]));
    }
  }
  return new ApiError(400, body);
}
