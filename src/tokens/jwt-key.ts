/**
 * The signing key. Production must configure APPLICATION_JWT_SECRET_KEY (config.ts
 * refuses to start otherwise); elsewhere a key is generated once and kept in the data
 * folder, so restarts and other local workers keep accepting the tokens already issued.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { randomString } from '../secrets.js';

export const GENERATED_KEY_FILE = 'jwt-secret.key';

export function resolveJwtSecret(config: Config, dataDir: string, logger: Logger, options: { quiet?: boolean } = {}): string {
  if (config.jwt.secretKey !== undefined) {
    if (Buffer.byteLength(config.jwt.secretKey) < 32) {
      logger.warn('APPLICATION_JWT_SECRET_KEY is shorter than 32 bytes; production refuses such a key');
    }
    return config.jwt.secretKey;
  }
  const file = path.join(dataDir, GENERATED_KEY_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  // Written aside then hard-linked into place: link fails when the file exists, so
  // concurrent first starts agree on one key and nobody reads a half-written file.
  const draft = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(draft, randomString(64), { mode: 0o600 });
  try {
    fs.linkSync(draft, file);
    logger.warn({ file }, 'APPLICATION_JWT_SECRET_KEY is unset: generated a signing key for this machine (set the variable in production)');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Workers of one server reuse the key their primary generated: it has warned already.
    if (!options.quiet) logger.warn({ file }, 'APPLICATION_JWT_SECRET_KEY is unset: using the generated signing key kept in the data folder');
  } finally {
    fs.rmSync(draft, { force: true });
  }
  const key = fs.readFileSync(file, 'utf8').trim();
  if (key.length < 32) throw new Error(`${file} holds no usable key; delete it to have a new one generated`);
  return key;
}
