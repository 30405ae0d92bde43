/**
 * The rooms API's shapes: a room as the API shows it (and nothing more: the response
 * schema whitelists its fields, so nothing internal can leak even if a service returned
 * more), a page of rooms, and what clients may send. One declaration each, for validation,
 * serialisation, the handlers' types, the CLI's checks and the served description.
 */
import { Type, type Static } from 'typebox';
import { nullable, ref } from '../http/schemas.js';
import { DEFAULT_PAGE_SIZE, FIRST_PAGE, MAX_PAGE_SIZE } from './pagination.js';
import { ACCESS_LEVELS } from './rooms.repository.js';

export const MAX_ATTENDEES = 1000;

const ROOM_ID_EXAMPLE = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
export const ROOM_SLUG_EXAMPLE = 'aae-erez-aaz';

export const AccessLevelSchema = Type.Enum(ACCESS_LEVELS, {
  type: 'string',
  description: '`public`: anyone joins; `trusted`: any authenticated user joins; `restricted`: only users holding a role on the room.',
});

/** What a participant may publish (LiveKit's track sources). */
export const MEDIA_SOURCES = ['camera', 'microphone', 'screen_share', 'screen_share_audio'] as const;

/** The options a room's configuration may hold (upstream Meet's RoomConfiguration). */
const configurationOptions = {
  can_publish_sources: Type.Optional(
    nullable(
      Type.Array(Type.Enum(MEDIA_SOURCES, { type: 'string' }), {
        description: 'What participants may publish; null or absent: everything.',
        examples: [['camera', 'microphone']],
      }),
    ),
  ),
  everyone_can_mute: Type.Optional(nullable(Type.Boolean({ description: 'Whether every participant may mute the others.' }))),
};

/** A room's configuration as stored and shown: the options above, and any other key a Meet deployment keeps there. */
export const RoomConfigurationSchema = Type.Object(configurationOptions, {
  $id: 'RoomConfiguration',
  additionalProperties: true,
  description: 'The room\'s options; `{}` until set.',
});
export type RoomConfiguration = Static<typeof RoomConfigurationSchema>;

/**
 * A stored configuration as it may be shown. Meet's own column is free JSON, so a room made
 * elsewhere may hold a known option of another type (`"can_publish_sources": "camera"`):
 * such an option is left out of the answer rather than break it (the answer's schema
 * cannot serialise it), and every other key is shown as stored.
 */
export function showableConfiguration(stored: unknown): Record<string, unknown> {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return {};
  const configuration = stored as Record<string, unknown>;
  const sources = configuration.can_publish_sources;
  const mute = configuration.everyone_can_mute;
  const sourcesFit = sources === undefined || sources === null || (Array.isArray(sources) && sources.every((source) => (MEDIA_SOURCES as readonly unknown[]).includes(source)));
  const muteFit = mute === undefined || mute === null || typeof mute === 'boolean';
  if (sourcesFit && muteFit) return configuration;
  const shown = { ...configuration };
  if (!sourcesFit) delete shown.can_publish_sources;
  if (!muteFit) delete shown.everyone_can_mute;
  return shown;
}

/** A configuration a client sends: only the known options, checked strictly; `null` reads as `{}`. */
const ConfigurationInputSchema = nullable(
  Type.Object(configurationOptions, {
    additionalProperties: false,
    description: 'Replaces the room\'s configuration. Unknown keys and bad values are refused, each named; `null` reads as `{}`.',
    examples: [{ can_publish_sources: ['camera', 'microphone'], everyone_can_mute: false }],
  }),
);

export const TelephonySchema = Type.Object(
  {
    enabled: Type.Boolean(),
    pin_code: nullable(
      Type.String({
        description:
          'Digits to type after dialling in. Always set in the native layout; null beside Meet (DATABASE_LAYOUT=meet) for a room Meet made while telephony was off.',
        examples: ['0123456789'],
      }),
    ),
    phone_number: nullable(Type.String({ description: 'The number to dial; null while the server has none configured.' })),
    default_country: Type.String({ description: 'ISO 3166-1 alpha-2 country of the phone number.', examples: ['US'] }),
  },
  { $id: 'Telephony', description: 'Dial-in details; present only while the server has telephony enabled.' },
);

export const AttendeesSchema = Type.Array(Type.String({ format: 'email' }), {
  maxItems: MAX_ATTENDEES,
  description:
    '**v1.1** Emails allowed to skip the lobby, in the order given. Entries are trimmed and de-duplicated case-insensitively ' +
    `(the first spelling wins); at most ${MAX_ATTENDEES}.`,
  examples: [['ada@example.com', 'bob@example.org']],
});

export const RoomSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid', examples: [ROOM_ID_EXAMPLE] }),
    name: Type.String({ description: 'The room\'s name; a generated room\'s name is its slug.', examples: [ROOM_SLUG_EXAMPLE] }),
    slug: Type.String({ description: 'Three groups of lowercase letters, `xxx-xxxx-xxx`.', examples: [ROOM_SLUG_EXAMPLE] }),
    access_level: AccessLevelSchema,
    configuration: ref(RoomConfigurationSchema),
    url: Type.Optional(
      Type.String({
        format: 'uri',
        description: 'Where participants join: the web app\'s origin and the slug. Present only while the server has one configured.',
        examples: [`https://meet.example.org/${ROOM_SLUG_EXAMPLE}`],
      }),
    ),
    attendees: AttendeesSchema,
    telephony: Type.Optional(ref(TelephonySchema)),
  },
  { $id: 'Room', description: 'A room as the API shows it.' },
);
export type RoomView = Static<typeof RoomSchema>;

export const RoomListSchema = Type.Object(
  {
    count: Type.Integer({ description: 'How many rooms the user holds a role on (with the filter, if any).' }),
    next: nullable(Type.String({ format: 'uri', description: 'The next page\'s absolute URL, keeping the other parameters; null on the last page.' })),
    previous: nullable(Type.String({ format: 'uri', description: 'The previous page\'s absolute URL; null on the first page.' })),
    results: Type.Array(ref(RoomSchema)),
  },
  { $id: 'RoomList', description: 'One page of the rooms on which the user holds a role, newest first.' },
);
export type RoomListView = Static<typeof RoomListSchema>;

export const RoomListQuerySchema = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, default: FIRST_PAGE, description: 'Page number (an empty value means the default).' })),
  page_size: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Rooms per page (an empty value means the default).' }),
  ),
  slug: Type.Optional(
    Type.String({ description: '**v1.1** Only the room with this slug (case-insensitive), if the user holds a role on it.', examples: [ROOM_SLUG_EXAMPLE] }),
  ),
});

export const RoomKeyParamsSchema = Type.Object({
  id: Type.String({
    description: 'The room\'s UUID (case-insensitive) or, since v1.1, its slug. Anything else, or no such room, is `404`.',
    examples: [ROOM_ID_EXAMPLE, ROOM_SLUG_EXAMPLE],
  }),
});

const accessLevelOption = Type.Optional(AccessLevelSchema);

export const RoomCreateSchema = Type.Object(
  { access_level: accessLevelOption, configuration: Type.Optional(ConfigurationInputSchema) },
  {
    description:
      'Optional: no body, an empty body or a JSON object. Only the room options are read; every other field (`id`, `slug`, `name`, `pin_code`...) is ignored and generated.',
    additionalProperties: true,
    examples: [{}, { access_level: 'restricted', configuration: { everyone_can_mute: false } }],
  },
);
export type RoomCreate = Static<typeof RoomCreateSchema>;

export const RoomUpdateSchema = Type.Object(
  { access_level: accessLevelOption, configuration: Type.Optional(ConfigurationInputSchema), attendees: Type.Optional(AttendeesSchema) },
  {
    description: 'Each field present replaces the stored value; those absent stay as they are. Other fields are ignored.',
    additionalProperties: true,
    examples: [{ attendees: ['ada@example.com'] }, { access_level: 'restricted', configuration: { can_publish_sources: ['camera', 'microphone'] } }],
  },
);
export type RoomUpdate = Static<typeof RoomUpdateSchema>;

export const ADMISSION_REASONS = [
  { reason: 'public_room', decision: 'join', rule: 'a public room admits everyone' },
  { reason: 'authentication_required', decision: 'lobby', rule: 'otherwise, an unauthenticated caller waits' },
  { reason: 'attendee', decision: 'join', rule: 'an authenticated caller whose email is on the attendee list (case-insensitive) joins any room' },
  { reason: 'authenticated_in_trusted_room', decision: 'join', rule: 'a trusted room admits any authenticated caller' },
  { reason: 'member_of_restricted_room', decision: 'join', rule: 'a restricted room admits an authenticated caller whose user holds a role on it' },
  { reason: 'not_invited', decision: 'lobby', rule: 'everyone else waits in the lobby' },
] as const;
export type AdmissionReason = (typeof ADMISSION_REASONS)[number]['reason'];

export const AdmissionRequestSchema = Type.Object(
  {
    email: Type.Optional(nullable(Type.String({ format: 'email', description: 'The caller\'s email, when known.' }))),
    authenticated: Type.Boolean({ description: 'Whether the caller has logged in.' }),
  },
  { description: 'Who asks to join.' },
);
export type AdmissionRequest = Static<typeof AdmissionRequestSchema>;

export const AdmissionDecisionSchema = Type.Object(
  {
    decision: Type.Enum(['join', 'lobby'], { type: 'string' }),
    reason: Type.Enum(ADMISSION_REASONS.map((r) => r.reason), { type: 'string' }),
  },
  { $id: 'AdmissionDecision', description: 'Whether the caller joins at once or waits in the lobby, and the rule that decided.' },
);
export type AdmissionDecision = Static<typeof AdmissionDecisionSchema>;

export const ROOM_SCHEMAS = [RoomConfigurationSchema, TelephonySchema, RoomSchema, RoomListSchema];
/** Described only while the internal admission route is mounted. */
export const ADMISSION_SCHEMAS = [AdmissionDecisionSchema];
