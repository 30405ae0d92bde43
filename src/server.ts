/**
 * The process: read the configuration, open and migrate the database, build the app,
 * listen; on SIGTERM/SIGINT finish in-flight requests, then close the database.
 */
import cluster from 'node:cluster';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import closeWithGrace from 'close-with-grace';
import { AggregatorRegistry } from 'prom-client';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { prepareDatabase } from './db/layout.js';
import { createLogger } from './logger.js';
import { serveMetrics } from './metrics.js';
import { resolveJwtSecret } from './tokens/jwt-key.js';

/** The schema this layout needs (db/layout.ts): migrated, and beside Meet, Meet's checked first. */
async function migrate(database: DatabaseHandle, config: Config, logger: Logger): Promise<void> {
  const applied = await prepareDatabase(database, config);
  if (applied.length > 0) logger.info({ migrations: applied, layout: config.databaseLayout }, 'database schema migrated');
}

export async function startServer(config: Config): Promise<{ url: string; close: () => Promise<void> }> {
  const logger = createLogger(config.logLevel);
  const database = openDatabase(config);
  try {
    await migrate(database, config, logger);
    const jwtSecret = resolveJwtSecret(config, database.dataDir, logger, { quiet: cluster.isWorker });
    const app = await buildApp({ config, database, logger, jwtSecret });
    app.addHook('onClose', async () => {
      await database.close();
    });
    const url = await app.listen({ port: config.port, host: config.host });
    logger.info({ url, store: database.dialect, layout: config.databaseLayout }, 'meet-api listening');
    if (cluster.isWorker) {
      // The primary serves every worker's metrics, summed (see main()).
      if (config.metricsPort !== undefined) AggregatorRegistry.setRegistries([app.metrics.registry]);
      return { url, close: () => app.close() };
    }
    const { metricsPort } = config;
    const metrics =
      metricsPort === undefined ? undefined : await startMetricsServer(() => app.metrics.registry.metrics(), app.metrics.registry.contentType, config, metricsPort, logger);
    return {
      url,
      close: async () => {
        await app.close();
        metrics?.close();
      },
    };
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
}

/**
 * WORKERS=N > 1: the primary prepares what must happen once (schema, generated key), then
 * forks N workers that each serve the same port (node:cluster shares the socket). On
 * SIGTERM/SIGINT it asks every worker to stop over IPC (a worker may also get the signal
 * itself, from a terminal or a service manager: stopping is idempotent), then exits,
 * non-zero if a worker failed. A worker that dies is replaced after a pause; workers
 * that keep dying right after start stop the server instead of looping.
 */
const RESTART_DELAY_MS = 1000;
const EARLY_DEATH_MS = 10_000;
const MAX_EARLY_DEATHS = 5;

async function runPrimary(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const database = openDatabase(config);
  try {
    await migrate(database, config, logger);
    resolveJwtSecret(config, database.dataDir, logger);
  } finally {
    await database.close();
  }

  let stopping = false;
  let failed = false;
  let earlyDeaths = 0;
  const startedAt = new Map<number, number>();
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.send(SHUTDOWN_MESSAGE);
  };
  for (let i = 0; i < config.workers; i++) fork();
  if (config.metricsPort !== undefined) {
    const aggregator = new AggregatorRegistry();
    await startMetricsServer(() => aggregator.clusterMetrics(), aggregator.contentType, config, config.metricsPort, logger);
  }
  cluster.on('exit', (worker, code, signal) => {
    if (code !== 0) failed = true;
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    const early = Date.now() - (startedAt.get(worker.id) ?? 0) < EARLY_DEATH_MS;
    earlyDeaths = early ? earlyDeaths + 1 : 0;
    if (earlyDeaths >= MAX_EARLY_DEATHS) {
      logger.fatal({ code, signal }, `workers died right after start ${MAX_EARLY_DEATHS} times in a row; stopping`);
      stop('workers keep failing');
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(1);
      return;
    }
    logger.error({ worker_pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(() => stopping || fork(), RESTART_DELAY_MS);
  });
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
}

const SHUTDOWN_MESSAGE = 'meet-api:shutdown';

async function startMetricsServer(collect: () => Promise<string>, contentType: string, config: Config, port: number, logger: Logger) {
  const server = await serveMetrics(collect, contentType, config.host, port);
  logger.info({ url: `http://${config.host}:${port}/metrics` }, 'metrics served');
  return server;
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
  // A worker answers the primary's requests for metrics (prom-client's cluster support)
  // from its first moment, so a scrape while it starts gets an answer, not a timeout.
  if (cluster.isWorker && config.metricsPort !== undefined) new AggregatorRegistry();
  const server = await startServer(config);
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= server.close());
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) process.stderr.write(`meet-api: stopping after an unexpected error: ${err.stack ?? err.message}\n`);
    else if (signal) process.stderr.write(`meet-api: ${signal} received, finishing in-flight requests\n`);
    await close();
  });
  if (cluster.isWorker) {
    process.on('message', (message) => {
      if (message === SHUTDOWN_MESSAGE) void close().then(() => process.exit(0));
    });
  }
}

// Run when executed directly (npm start), not when imported by the CLI's `serve`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  main().catch((error: unknown) => {
    // A database that is not what the configuration says (Meet's schema, checked at start): the reason, not a stack.
    if (error instanceof ConfigError) {
      process.stderr.write(`meet-api: configuration error: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`meet-api: failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
