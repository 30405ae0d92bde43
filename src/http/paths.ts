/** Where each route is mounted. The external API answers under API_BASE; every path also answers without its trailing slash. */
export const API_BASE = '/external-api/v1.0';
export const TOKEN_PATH = `${API_BASE}/application/token/`;
export const ROOMS_PATH = `${API_BASE}/rooms/`;
export const ROOM_PATH = `${API_BASE}/rooms/:id/`;
export const OPENAPI_PATH = `${API_BASE}/openapi.json`;
export const DOCS_PATH = `${API_BASE}/docs`;
export const ADMISSION_PATH = '/internal-api/v1.0/rooms/:idOrSlug/admission';
