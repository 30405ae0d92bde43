/**
 * Prints the API description exactly as the server serves it (GET openapi.json), without
 * listening: `node dist/tools/export-openapi.js [--internal-api] > openapi.json`. The typed
 * client's build generates its types from this output. The application is built over a
 * throw-away SQLite file; describing routes runs no query.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { OPENAPI_PATH } from '../http/paths.js';
import { createLogger } from '../logger.js';

export async function servedDescription(options: { internalApi?: boolean } = {}): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meet-api-describe-'));
  const config = loadConfig({
    DATABASE_URL: `sqlite:${path.join(dir, 'describe.db')}`,
    APPLICATION_JWT_SECRET_KEY: 'only-used-to-describe-the-routes-0123456789',
    ...(options.internalApi ? { INTERNAL_API_TOKEN: 'only-used-to-describe-the-routes-0123456789' } : {}),
  });
  const database = openDatabase(config);
  try {
    const app = await buildApp({ config, database, logger: createLogger('silent'), jwtSecret: config.jwt.secretKey! });
    const answer = await app.inject({ method: 'GET', url: OPENAPI_PATH });
    await app.close();
    return answer.body;
  } finally {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === `file://${path.resolve(process.argv[1])}`) {
  const { values } = parseArgs({ options: { 'internal-api': { type: 'boolean', default: false } } });
  process.stdout.write(`${await servedDescription({ internalApi: values['internal-api'] })}\n`);
}
