/** The API description this server implements, served at /external-api/v1.0/openapi.json. */
export const openApiDocument = {
  openapi: '3.0.3',
  info: { title: 'Meet External API', version: '1.0.0' },
  paths: {},
} as const;
