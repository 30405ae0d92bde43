/**
 * Response schemas: Fastify serialises with them (fast), and they whitelist the fields a
 * room may show, so nothing internal can leak even if a service returned more.
 */
export const roomSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    slug: { type: 'string' },
    access_level: { type: 'string' },
    url: { type: 'string' },
    telephony: {
      type: 'object',
      properties: {
        enabled: { type: 'boolean' },
        pin_code: { type: 'string' },
        phone_number: { type: 'string', nullable: true },
        default_country: { type: 'string' },
      },
      required: ['enabled', 'pin_code', 'phone_number', 'default_country'],
    },
    attendees: { type: 'array', items: { type: 'string' } },
  },
  required: ['id', 'slug', 'access_level', 'attendees'],
} as const;

export const roomListSchema = {
  type: 'object',
  properties: {
    count: { type: 'integer' },
    next: { type: 'string', nullable: true },
    previous: { type: 'string', nullable: true },
    results: { type: 'array', items: roomSchema },
  },
  required: ['count', 'next', 'previous', 'results'],
} as const;

export const admissionSchema = {
  type: 'object',
  properties: {
    decision: { type: 'string' },
    reason: { type: 'string' },
  },
  required: ['decision', 'reason'],
} as const;
