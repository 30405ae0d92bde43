export { MeetClient, type MeetClientOptions } from './client.js';
export { MeetApiError } from './errors.js';
export type { RetryEvent } from './retrying-fetch.js';
export type { Credentials } from './token-source.js';
export type * from './types.js';
