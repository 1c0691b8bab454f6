import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

/** Where the Prometheus text format is served. */
export const METRICS_PATH = '/metrics';

/** What the HTTP layer needs to serve /metrics. */
export interface MetricsEndpointOptions {
  registry: Registry;
  /** AUDITHOOK_METRICS_TOKEN: when set, scrapes must present it as `Authorization: Bearer <token>`. */
  token: string | null;
}

/** Compares digests, so the time taken says nothing about the token's content or length. */
function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

function plain(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** Serves GET/HEAD /metrics: checks the bearer token when one is configured, then renders the registry. */
export async function serveMetrics(request: IncomingMessage, response: ServerResponse, options: MetricsEndpointOptions): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return plain(response, 405, 'use GET\n', { allow: 'GET, HEAD' });
  if (options.token !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(String(request.headers.authorization ?? '').trim());
    if (!match || !tokenMatches(match[1]!, options.token)) {
      return plain(response, 401, 'a valid metrics token is required (Authorization: Bearer <AUDITHOOK_METRICS_TOKEN>)\n', { 'www-authenticate': 'Bearer realm="metrics"' });
    }
  }
  const text = await options.registry.metrics();
  response.writeHead(200, { 'content-type': options.registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  response.end(request.method === 'HEAD' ? undefined : text);
}
