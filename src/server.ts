/**
 * The process: read the configuration, open and migrate the database, build the app,
 * listen; on SIGTERM/SIGINT finish in-flight requests, then close the database.
 */
import cluster from 'node:cluster';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import { createLogger } from './logger.js';
import { resolveJwtSecret } from './tokens/jwt-key.js';

export async function startServer(config: Config): Promise<{ url: string; close: () => Promise<void> }> {
  const logger = createLogger(config.logLevel);
  const database = openDatabase(config);
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database schema migrated');
    const jwtSecret = resolveJwtSecret(config, database.dataDir, logger, { quiet: cluster.isWorker });
    const app = await buildApp({ config, database, logger, jwtSecret });
    app.addHook('onClose', async () => {
      await database.close();
    });
    const url = await app.listen({ port: config.port, host: config.host });
    logger.info({ url, store: database.dialect }, 'meet-api listening');
    return { url, close: () => app.close() };
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

/**
 * WORKERS=N > 1: the primary prepares what must happen once (schema, generated key), then
 * forks N workers that each serve the same port (node:cluster shares the socket). On
 * SIGTERM/SIGINT it passes the signal on and exits when every worker has finished.
 */
async function runPrimary(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const database = openDatabase(config);
  try {
    const applied = await migrateToLatest(database.db);
    if (applied.length > 0) logger.info({ migrations: applied }, 'database schema migrated');
    resolveJwtSecret(config, database.dataDir, logger);
  } finally {
    await database.close();
  }

  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    logger.error({ worker_pid: worker.process.pid, code, signal }, 'worker died; starting another');
    fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`meet-api: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config);
  const server = await startServer(config);
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) process.stderr.write(`meet-api: stopping after an unexpected error: ${err.stack ?? err.message}\n`);
    else if (signal) process.stderr.write(`meet-api: ${signal} received, finishing in-flight requests\n`);
    await server.close();
  });
}

// Run when executed directly (npm start), not when imported by the CLI's `serve`.
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`meet-api: failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
