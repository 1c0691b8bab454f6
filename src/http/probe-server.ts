import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../lib/logger.js';
import type { HealthReport } from './server.js';
import type { AppMetrics } from '../metrics/metrics.js';
import { METRICS_PATH, serveMetrics } from '../metrics/metrics-endpoint.js';

/** The HTTP side of a worker process: health and metrics for its supervisor and scraper, nothing else. */
export interface ProbeServerHandle {
  /** The base URL (http://host:port/). */
  url: string;
  port: number;
  /** Stops accepting and closes idle connections. */
  close(): Promise<void>;
}

/** What the probe server answers with. */
export interface ProbeServerOptions {
  logger: Logger;
  /** What /healthz reports: the database and the job store, each answering or not. */
  healthCheck: () => Promise<HealthReport>;
  metrics: { metrics: AppMetrics; token: string | null };
}

/**
 * Serves only GET /healthz and GET /metrics (role worker): a worker has no GraphQL, WebSocket or
 * console, so nothing on its port can read or change data.
 */
export async function startProbeServer(options: ProbeServerOptions, listen: { host: string; port: number }): Promise<ProbeServerHandle> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = async () => {
      if (url.pathname === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
        const report = await options.healthCheck().catch(() => ({ status: 'unavailable' as const }));
        const text = JSON.stringify({ ...report, role: 'worker' });
        response.writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        response.end(text);
        return;
      }
      if (url.pathname === METRICS_PATH) return serveMetrics(request, response, { registry: options.metrics.metrics.registry, token: options.metrics.token });
      const text = JSON.stringify({ errors: [{ message: `nothing at ${url.pathname}: this is a worker (AUDITHOOK_ROLE=worker); it serves only /healthz and ${METRICS_PATH}`, extensions: { code: 'NOT_FOUND' } }] });
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      response.end(text);
    };
    route().catch((error: unknown) => {
      options.logger.error({ err: error, path: url.pathname }, 'unhandled error in HTTP request');
      if (!response.headersSent) response.writeHead(500).end();
      else response.destroy();
    });
  });
  // A WebSocket upgrade gets no answer but a closed socket: there is no GraphQL here.
  server.on('upgrade', (_request, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
