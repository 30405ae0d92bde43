/**
 * Prometheus metrics (prom-client), served on their own port (METRICS_PORT), never on the
 * API's. Routes are labelled by their template (`/external-api/v1.0/rooms/:id/`), never by
 * the raw URL, so a client cannot make up label values.
 */
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DatabaseHandle } from './db/database.js';

/** How a token request ended, read from its status. */
function tokenOutcome(status: number): string {
  if (status === 200) return 'issued';
  if (status === 401) return 'invalid_credentials';
  if (status === 403) return 'refused';
  if (status === 429) return 'throttled';
  return status >= 500 ? 'unavailable' : 'invalid_request';
}

export class Metrics {
  readonly registry = new Registry();
  private readonly httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer, by route template',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly tokenRequests = new Counter({
    name: 'token_requests_total',
    help: 'Token endpoint requests, by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly roomsCreated = new Counter({ name: 'rooms_created_total', help: 'Rooms created through the API', registers: [this.registry] });

  constructor(database: DatabaseHandle) {
    new Gauge({
      name: 'db_connections',
      help: 'Store connections: open, idle, and callers waiting for one',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const use = database.connectionUse();
        this.set({ state: 'open' }, use.open);
        this.set({ state: 'idle' }, use.idle);
        this.set({ state: 'waiting' }, use.waiting);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** One answered request; `route` is the template, or `not_found` for a path the server does not serve. */
  answered(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.inc({ method, route, status });
    this.httpDuration.observe({ route }, seconds);
  }

  tokenAnswered(status: number): void {
    this.tokenRequests.inc({ outcome: tokenOutcome(status) });
  }

  roomCreated(): void {
    this.roomsCreated.inc();
  }
}

/** GET /metrics on its own port; anything else is a JSON 404. `collect` gives the text (one registry, or a cluster's). */
export async function serveMetrics(collect: () => Promise<string>, contentType: string, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'GET' || (path !== '/metrics' && path !== '/metrics/')) {
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ detail: 'Not found.' }));
      return;
    }
    collect().then(
      (text) => response.writeHead(200, { 'content-type': contentType }).end(text),
      () => response.writeHead(503, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ detail: 'Service temporarily unavailable.' })),
    );
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
  return server;
}
