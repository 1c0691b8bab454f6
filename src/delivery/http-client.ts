// Sends one webhook POST and reports what happened as a value. One client per process: it owns
// keep-alive agents whose `lookup` is the destination guard, so every connection is re-checked.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import got, { type Response } from 'got';
import {
  DESTINATION_NOT_ALLOWED,
  createGuardedLookup,
  isPublicAddress,
  unbracketHost,
  type ResolveHost,
} from './destination.js';
import { parseRetryAfterMs } from './retry-policy.js';

/** Default cap on how much of a receiver's response body we keep (it is for diagnostics only). */
export const DEFAULT_MAX_RESPONSE_BYTES = 4096;

/** One webhook HTTP request, already serialised and signed by the caller. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * What one attempt produced. `error` is a short code: `HTTP_<status>` (any non-2xx, redirects
 * included — they are never followed), `TIMEOUT`, `CONNECTION_REFUSED`, `CONNECTION_RESET`,
 * `DNS_LOOKUP_FAILED`, `TLS_ERROR`, `DESTINATION_NOT_ALLOWED`, `INVALID_URL` (not an http(s) URL),
 * or `NETWORK_ERROR` (anything else). When a failure happens after the status line arrived
 * (e.g. the body times out, or the connection drops mid-body: `CONNECTION_RESET`, chunked or with a
 * Content-Length), `statusCode`/`responseBody` carry what was received.
 */
export type SendOutcome =
  | { ok: true; statusCode: number; responseBody: string; durationMs: number }
  | {
      ok: false;
      statusCode: number | null;
      error: string;
      responseBody: string | null;
      durationMs: number;
      retryAfterMs: number | null;
    };

/** Options for createWebhookClient; all config is passed in. */
export interface WebhookClientOptions {
  timeoutMs: number;
  allowPrivateDestinations: boolean;
  userAgent: string;
  maxResponseBytes?: number;
  /** Replaces the OS resolver in the connect-time guard (tests, custom DNS). */
  resolveHost?: ResolveHost;
}

/** The delivery HTTP client: `send` never throws; `close` destroys pooled sockets. */
export interface WebhookClient {
  send(request: WebhookRequest): Promise<SendOutcome>;
  close(): void;
}

// Extra time past timeoutMs before our own watchdog gives up, should got's timer ever not fire.
const WATCHDOG_GRACE_MS = 1_000;

const DNS_ERROR_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL', 'ENONAME']);
// A body that ends early after the headers is a reset too: chunked bodies surface as ECONNRESET,
// bodies with a Content-Length as got's ERR_HTTP_CONTENT_LENGTH_MISMATCH (fewer bytes than announced).
const RESET_ERROR_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
]);
const TIMEOUT_ERROR_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const TLS_ERROR_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const { code, name } = current as { code?: unknown; name?: unknown };
    if (name === 'TimeoutError') codes.push('ETIMEDOUT');
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

/** Maps a transport error (got, net, tls, dns, or our lookup guard) to a SendOutcome error code. */
export function classifyTransportError(error: unknown): string {
  const codes = errorCodes(error);
  for (const code of codes) {
    if (code === DESTINATION_NOT_ALLOWED) return DESTINATION_NOT_ALLOWED;
    if (TIMEOUT_ERROR_CODES.has(code)) return 'TIMEOUT';
    if (code === 'ECONNREFUSED') return 'CONNECTION_REFUSED';
    if (RESET_ERROR_CODES.has(code)) return 'CONNECTION_RESET';
    if (DNS_ERROR_CODES.has(code)) return 'DNS_LOOKUP_FAILED';
    if (TLS_ERROR_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return 'TLS_ERROR';
  }
  return 'NETWORK_ERROR';
}

function elapsedMs(startedAt: number): number {
  return Math.round(performance.now() - startedAt);
}

function withUserAgent(headers: Record<string, string>, userAgent: string): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'user-agent') merged[name] = value;
  }
  merged['user-agent'] = userAgent;
  return merged;
}

/**
 * Creates the webhook HTTP client (got, no retries, no redirects, keep-alive agents with the
 * destination guard as `lookup`; IP-literal hosts, which Node never passes to `lookup`, are checked
 * before connecting). The configured user agent replaces any `user-agent` in the request headers.
 * At most maxResponseBytes (default 4096) of the body are read, then the response is destroyed;
 * the whole exchange, body included, must finish within timeoutMs or the outcome is TIMEOUT.
 */
export function createWebhookClient(options: WebhookClientOptions): WebhookClient {
  const { timeoutMs, allowPrivateDestinations, userAgent } = options;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const lookup = createGuardedLookup(allowPrivateDestinations, options.resolveHost);
  const agents = {
    http: new http.Agent({ keepAlive: true, lookup }),
    https: new https.Agent({ keepAlive: true, lookup }),
  };
  const client = got.extend({
    agent: agents,
    dnsLookup: lookup,
    retry: { limit: 0 },
    followRedirect: false,
    throwHttpErrors: false,
    timeout: { request: timeoutMs },
    http2: false,
  });

  async function send(request: WebhookRequest): Promise<SendOutcome> {
    const startedAt = performance.now();
    const failure = (error: string, statusCode: number | null = null, responseBody: string | null = null): SendOutcome => ({
      ok: false,
      statusCode,
      error,
      responseBody,
      durationMs: elapsedMs(startedAt),
      retryAfterMs: null,
    });

    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return failure('INVALID_URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return failure('INVALID_URL');
    const host = unbracketHost(url.hostname);
    if (!allowPrivateDestinations && net.isIP(host) !== 0 && !isPublicAddress(host)) {
      return failure(DESTINATION_NOT_ALLOWED);
    }

    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      let response: Response | undefined;
      const chunks: Buffer[] = [];
      let receivedBytes = 0;

      const body = (): string => Buffer.concat(chunks).subarray(0, maxResponseBytes).toString('utf8');

      const stream = client.stream.post(url, {
        body: request.body,
        headers: withUserAgent(request.headers, userAgent),
      });

      const finish = (outcome: SendOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        resolve(outcome);
      };

      const finishWithResponse = (): void => {
        if (response === undefined) {
          finish(failure('NETWORK_ERROR'));
          return;
        }
        const statusCode = response.statusCode;
        const responseBody = body();
        if (statusCode >= 200 && statusCode < 300) {
          finish({ ok: true, statusCode, responseBody, durationMs: elapsedMs(startedAt) });
          return;
        }
        const header = response.headers['retry-after'];
        const retryAfterMs =
          statusCode === 429 || statusCode === 503 ? parseRetryAfterMs(typeof header === 'string' ? header : undefined, Date.now()) : null;
        finish({
          ok: false,
          statusCode,
          error: `HTTP_${statusCode}`,
          responseBody,
          durationMs: elapsedMs(startedAt),
          retryAfterMs,
        });
      };

      const watchdog = setTimeout(() => {
        stream.destroy();
        finish(failure('TIMEOUT', response?.statusCode ?? null, response === undefined ? null : body()));
      }, timeoutMs + WATCHDOG_GRACE_MS);
      watchdog.unref();

      stream.on('response', (received: Response) => {
        response = received;
      });
      stream.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (receivedBytes <= maxResponseBytes) chunks.push(chunk);
        receivedBytes += chunk.length;
        if (receivedBytes > maxResponseBytes) {
          // Enough for diagnostics: stop reading (this also frees us from never-ending bodies).
          finishWithResponse();
          stream.destroy();
        }
      });
      stream.on('end', finishWithResponse);
      stream.on('error', (error: unknown) => {
        finish(failure(classifyTransportError(error), response?.statusCode ?? null, response === undefined ? null : body()));
      });
    });
  }

  return {
    send: async (request) => {
      const startedAt = performance.now();
      try {
        return await send(request);
      } catch {
        // got validates options synchronously; anything thrown here is still just a failed attempt.
        return { ok: false, statusCode: null, error: 'NETWORK_ERROR', responseBody: null, durationMs: elapsedMs(startedAt), retryAfterMs: null };
      }
    },
    close: () => {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
