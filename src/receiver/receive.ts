// `audithook receive`: a webhook receiver for operators trying audithook on their own machine. It checks
// what a real receiver should (the Basic credential, the Standard Webhooks signature), prints one line per
// event, and can pass verified requests on. It needs no database, GraphQL or job queue: only node:http.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../delivery/signing.js';

/** Most event ids remembered for duplicate marking; past this the oldest is forgotten. */
export const SEEN_EVENT_IDS_LIMIT = 100_000;

/** Largest body accepted (bytes); audithook's own requests are far smaller. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** How long a forwarded request may take before it counts as failed (and audithook is told to retry). */
const FORWARD_TIMEOUT_MS = 10_000;

/** What `audithook receive` was asked for. */
export interface ReceiveOptions {
  /** Port on 127.0.0.1; 0 picks a free one (printed on the first line). */
  port: number;
  /** The webhook's `whsec_` signing secret; null skips signature checks (with a warning). */
  secret: string | null;
  /** `user:pass` the Authorization header must carry; null accepts any. */
  basic: string | null;
  /** Where verified requests are passed on (the operator's own URL); null keeps them here. */
  forwardUrl: string | null;
  /** One JSON object per line instead of text. */
  json: boolean;
  /** Where event lines go (stdout). */
  out: (line: string) => void;
  /** Where rejections and warnings go (stderr). */
  err: (line: string) => void;
}

/** A running receiver. */
export interface Receiver {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface WireEvent {
  id?: unknown;
  attributes?: { time?: unknown; action?: unknown; actor?: { id?: unknown; name?: unknown; type?: unknown } };
}

/** Starts the receiver on loopback and prints its URL first. */
export async function startReceiver(options: ReceiveOptions): Promise<Receiver> {
  const seen = new Set<string>();
  const expectedAuthorization = options.basic === null ? null : Buffer.from(`Basic ${Buffer.from(options.basic, 'utf8').toString('base64')}`, 'utf8');

  const print = (line: Record<string, unknown>, text: string, to: 'out' | 'err') => options[to](options.json ? JSON.stringify(line) : text);
  const reject = (response: ServerResponse, status: number, reason: string, deliveryId: string | undefined) => {
    print({ rejected: status, reason, ...(deliveryId ? { deliveryId } : {}) }, `rejected ${status}${deliveryId ? ` ${deliveryId}` : ''}: ${reason}`, 'err');
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${reason}\n`);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const deliveryId = headerOf(request, 'webhook-id');
    if (request.method !== 'POST') return reject(response, 405, `method ${request.method ?? '?'} not allowed; webhooks are POSTed`, deliveryId);
    const body = await readBody(request);
    if (body === null) return reject(response, 413, `body larger than ${MAX_BODY_BYTES} bytes`, deliveryId);
    if (expectedAuthorization) {
      const given = request.headers.authorization;
      if (!given) return reject(response, 401, 'missing Authorization header', deliveryId);
      const givenBytes = Buffer.from(given, 'utf8');
      if (givenBytes.length !== expectedAuthorization.length || !timingSafeEqual(givenBytes, expectedAuthorization)) {
        return reject(response, 401, 'wrong Authorization credential (expected the --basic user:pass)', deliveryId);
      }
    }
    if (options.secret !== null) {
      const verified = verifySignature({
        webhookId: deliveryId,
        timestamp: headerOf(request, 'webhook-timestamp'),
        signature: headerOf(request, 'webhook-signature'),
        body,
        secret: options.secret,
      });
      if (!verified.ok) return reject(response, 400, `bad signature: ${verified.reason}`, deliveryId);
    }
    let payload: { id?: unknown; type?: unknown; data?: unknown };
    try {
      payload = JSON.parse(body.toString('utf8')) as typeof payload;
    } catch {
      return reject(response, 400, 'body is not JSON', deliveryId);
    }
    if (typeof payload !== 'object' || payload === null || !Array.isArray(payload.data)) {
      return reject(response, 400, 'body has no "data" list of events', deliveryId);
    }
    if (options.forwardUrl !== null) {
      const failure = await forward(options.forwardUrl, request, body);
      if (failure) return reject(response, 502, `forward to ${options.forwardUrl} failed: ${failure}`, deliveryId);
    }
    // Only events of answered requests count as seen: a request refused here is retried, and is not a duplicate.
    for (const event of payload.data as WireEvent[]) {
      const id = typeof event?.id === 'string' ? event.id : '?';
      const duplicate = seen.has(id);
      remember(seen, id);
      const attributes = event?.attributes ?? {};
      const time = typeof attributes.time === 'string' ? attributes.time : '?';
      const action = typeof attributes.action === 'string' ? attributes.action : '?';
      const actor = describeActor(attributes.actor);
      print(
        { time, action, actor, id, duplicate, deliveryId: deliveryId ?? null, ...(payload.type === 'audit_log.test' ? { test: true } : {}) },
        `${time}  ${action}  ${actor}  ${id}${duplicate ? '  dup' : ''}${payload.type === 'audit_log.test' ? '  (test)' : ''}`,
        'out',
      );
    }
    if (payload.data.length === 0) print({ deliveryId: deliveryId ?? null, events: 0 }, `${deliveryId ?? '?'}: no events`, 'out');
    response.writeHead(204).end();
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.err(`error handling a request: ${(error as Error).message}`);
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  print({ listening: url }, `audithook receive: listening on ${url}`, 'out');
  if (options.secret === null) options.err('warning: no --secret given: signatures are NOT verified');
  if (options.basic === null) options.err('warning: no --basic given: any Authorization is accepted');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function remember(seen: Set<string>, id: string): void {
  seen.delete(id);
  if (seen.size >= SEEN_EVENT_IDS_LIMIT) seen.delete(seen.values().next().value!);
  seen.add(id);
}

function describeActor(actor: { id?: unknown; name?: unknown; type?: unknown } | undefined): string {
  if (!actor || typeof actor !== 'object') return '?';
  const id = typeof actor.id === 'string' ? actor.id : '?';
  const who = typeof actor.name === 'string' ? `${actor.name} (${id})` : id;
  return typeof actor.type === 'string' ? `${actor.type}:${who}` : who;
}

/** The body, or null when it is larger than MAX_BODY_BYTES. */
async function readBody(request: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Passes a verified request on to the operator's URL with its body and Standard Webhooks headers (not this hop's
 * Authorization). Redirects are never followed. Returns null on a 2xx answer, else why it failed.
 */
async function forward(url: string, request: IncomingMessage, body: Buffer): Promise<string | null> {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const value = headerOf(request, name);
    if (value !== undefined) headers[name] = value;
  }
  try {
    const response = await fetch(url, { method: 'POST', headers, body: Uint8Array.from(body), redirect: 'manual', signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS) });
    await response.arrayBuffer().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return null;
    if (response.status >= 300 && response.status < 400) return `answered ${response.status} (redirects are not followed)`;
    return `answered ${response.status}`;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return (error as Error).name === 'TimeoutError' ? `no answer within ${FORWARD_TIMEOUT_MS} ms` : `${(error as Error).message}${cause ? ` (${cause})` : ''}`;
  }
}
