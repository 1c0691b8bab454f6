import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyTransportError, createWebhookClient, type WebhookClient, type WebhookRequest } from '../../src/delivery/http-client.js';
import { closedPort, startLocalServer, type LocalHandler, type LocalServer } from './local-server.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function server(handler: LocalHandler, host: '127.0.0.1' | '::1' = '127.0.0.1'): Promise<LocalServer> {
  const started = await startLocalServer(handler, host);
  cleanups.push(() => started.close());
  return started;
}

function client(options: Partial<Parameters<typeof createWebhookClient>[0]> = {}): WebhookClient {
  const created = createWebhookClient({ timeoutMs: 2_000, allowPrivateDestinations: true, userAgent: 'audithook-test/1.0', ...options });
  cleanups.push(() => created.close());
  return created;
}

function post(url: string, headers: Record<string, string> = {}): WebhookRequest {
  return { url, headers: { 'content-type': 'application/json', ...headers }, body: '{"hello":"world"}' };
}

const reply =
  (statusCode: number, body = '', headers: http.OutgoingHttpHeaders = {}): LocalHandler =>
  (_req, res) => {
    res.writeHead(statusCode, headers);
    res.end(body);
  };

describe('createWebhookClient: responses', () => {
  it('2xx is ok, with the body and the request as sent', async () => {
    const target = await server(reply(202, 'accepted'));
    const outcome = await client().send(
      post(`${target.origin}/hooks?x=1`, { authorization: 'Bearer s3cret', 'webhook-id': 'msg_1', 'User-Agent': 'ignored/0' }),
    );
    expect(outcome).toEqual({ ok: true, statusCode: 202, responseBody: 'accepted', durationMs: expect.any(Number) });
    expect(Number.isInteger(outcome.durationMs)).toBe(true);
    expect(target.requests).toHaveLength(1);
    const [received] = target.requests;
    expect(received).toMatchObject({ method: 'POST', url: '/hooks?x=1', body: '{"hello":"world"}' });
    expect(received?.headers).toMatchObject({
      authorization: 'Bearer s3cret',
      'webhook-id': 'msg_1',
      'content-type': 'application/json',
      'user-agent': 'audithook-test/1.0',
      'content-length': '17',
    });
  });

  it('500 → HTTP_500 with the body; Retry-After ignored outside 429/503', async () => {
    const target = await server(reply(500, 'database on fire', { 'retry-after': '5' }));
    const outcome = await client().send(post(target.origin));
    expect(outcome).toEqual({
      ok: false,
      statusCode: 500,
      error: 'HTTP_500',
      responseBody: 'database on fire',
      durationMs: expect.any(Number),
      retryAfterMs: null,
    });
  });

  it('302 → HTTP_302; the redirect is not followed', async () => {
    const elsewhere = await server(reply(200, 'should never be reached'));
    const target = await server(reply(302, 'moved', { location: `${elsewhere.origin}/other` }));
    const outcome = await client().send(post(target.origin));
    expect(outcome).toMatchObject({ ok: false, statusCode: 302, error: 'HTTP_302', responseBody: 'moved' });
    expect(elsewhere.connectionCount()).toBe(0);
    expect(elsewhere.requests).toHaveLength(0);
  });

  it('429 with Retry-After seconds → retryAfterMs', async () => {
    const target = await server(reply(429, 'slow down', { 'retry-after': '7' }));
    const outcome = await client().send(post(target.origin));
    expect(outcome).toMatchObject({ ok: false, statusCode: 429, error: 'HTTP_429', retryAfterMs: 7_000 });
  });

  it('503 with Retry-After HTTP-date → retryAfterMs until that date', async () => {
    const target = await server((_req, res) => {
      res.writeHead(503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
      res.end();
    });
    const outcome = await client().send(post(target.origin));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome).toMatchObject({ statusCode: 503, error: 'HTTP_503', responseBody: '' });
    expect(outcome.retryAfterMs).toBeGreaterThan(27_000);
    expect(outcome.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('503 without a usable Retry-After → retryAfterMs null', async () => {
    const target = await server(reply(503, '', { 'retry-after': 'soon' }));
    expect(await client().send(post(target.origin))).toMatchObject({ error: 'HTTP_503', retryAfterMs: null });
  });
});

describe('createWebhookClient: response body limit', () => {
  it('keeps only the first 4096 bytes of a large body', async () => {
    const target = await server(reply(200, 'a'.repeat(100_000)));
    const outcome = await client().send(post(target.origin));
    expect(outcome).toMatchObject({ ok: true, statusCode: 200 });
    expect(outcome.responseBody).toBe('a'.repeat(4096));
  });

  it('a body of exactly the limit is kept whole', async () => {
    const target = await server(reply(400, 'b'.repeat(4096)));
    const outcome = await client().send(post(target.origin));
    expect(outcome).toMatchObject({ ok: false, error: 'HTTP_400', responseBody: 'b'.repeat(4096) });
  });

  it('cuts a multibyte character cleanly (replacement char) and honours maxResponseBytes', async () => {
    const target = await server(reply(200, `x${'é'.repeat(100)}`)); // 201 bytes
    const outcome = await client({ maxResponseBytes: 10 }).send(post(target.origin));
    // bytes: x + 4×é (9 bytes) + first byte of é → replacement char
    expect(outcome.responseBody).toBe(`x${'é'.repeat(4)}\uFFFD`);
  });

  it('a never-ending body does not hang: reading stops after the limit', async () => {
    const target = await server((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('z'.repeat(1024)), 5);
      res.on('close', () => clearInterval(timer));
    });
    const outcome = await client({ timeoutMs: 10_000 }).send(post(target.origin));
    expect(outcome).toMatchObject({ ok: true, statusCode: 200, responseBody: 'z'.repeat(4096) });
    expect(outcome.durationMs).toBeLessThan(2_000);
  });

  it('a body that trickles past the deadline → TIMEOUT, keeping the status and partial body', async () => {
    const target = await server((_req, res) => {
      res.writeHead(200);
      res.write('partial');
      const timer = setInterval(() => res.write('.'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const outcome = await client({ timeoutMs: 300 }).send(post(target.origin));
    expect(outcome).toMatchObject({ ok: false, error: 'TIMEOUT', statusCode: 200, retryAfterMs: null });
    expect(outcome.responseBody).toMatch(/^partial\.*$/);
  });
});

describe('createWebhookClient: transport failures', () => {
  it('server never answers → TIMEOUT after about timeoutMs', async () => {
    const target = await server(() => {
      /* never respond */
    });
    const outcome = await client({ timeoutMs: 300 }).send(post(target.origin));
    expect(outcome).toMatchObject({ ok: false, error: 'TIMEOUT', statusCode: null, responseBody: null, retryAfterMs: null });
    expect(outcome.durationMs).toBeGreaterThanOrEqual(250);
    expect(outcome.durationMs).toBeLessThan(1_200);
  });

  it('nothing listening → CONNECTION_REFUSED', async () => {
    const port = await closedPort();
    const outcome = await client().send(post(`http://127.0.0.1:${port}/`));
    expect(outcome).toMatchObject({ ok: false, error: 'CONNECTION_REFUSED', statusCode: null, responseBody: null });
  });

  it('server drops the connection → CONNECTION_RESET', async () => {
    const target = await server((req) => req.socket.destroy());
    const outcome = await client().send(post(target.origin));
    expect(outcome).toMatchObject({ ok: false, error: 'CONNECTION_RESET', statusCode: null });
  });

  // The receiver answers, starts the body, then drops the socket: the status arrived but the
  // exchange did not complete, so it is a reset whether the body was chunked or had a length.
  const headersThenDrop =
    (headers: http.OutgoingHttpHeaders): LocalHandler =>
    (_req, res) => {
      res.writeHead(200, headers);
      res.write('0123456789', () => res.socket?.destroy());
    };

  it.each([
    ['with Content-Length', { 'content-length': '100' }],
    ['chunked', { 'content-type': 'text/plain' }],
  ] as const)('body cut short after headers (%s) → CONNECTION_RESET, keeping status and partial body', async (_label, headers) => {
    const target = await server(headersThenDrop(headers));
    const outcome = await client().send(post(target.origin));
    expect(outcome).toEqual({
      ok: false,
      error: 'CONNECTION_RESET',
      statusCode: 200,
      responseBody: '0123456789',
      durationMs: expect.any(Number),
      retryAfterMs: null,
    });
  });

  it('https to a server that does not speak TLS → TLS_ERROR', async () => {
    const target = await server(reply(200, 'plain'));
    const outcome = await client().send(post(`https://127.0.0.1:${target.port}/`));
    expect(outcome).toMatchObject({ ok: false, error: 'TLS_ERROR', statusCode: null });
  });

  it('host that does not resolve → DNS_LOOKUP_FAILED', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    const failing = client({ resolveHost: () => Promise.reject(notFound) });
    expect(await failing.send(post('http://hooks.example.test/'))).toMatchObject({ ok: false, error: 'DNS_LOOKUP_FAILED' });
    const empty = client({ resolveHost: async () => [] });
    expect(await empty.send(post('http://hooks.example.test/'))).toMatchObject({ ok: false, error: 'DNS_LOOKUP_FAILED' });
  });

  it('a URL that is not http(s) → INVALID_URL without any request', async () => {
    const c = client();
    expect(await c.send(post('not a url'))).toMatchObject({ ok: false, error: 'INVALID_URL', statusCode: null });
    expect(await c.send(post('ftp://127.0.0.1/x'))).toMatchObject({ ok: false, error: 'INVALID_URL' });
  });

  it('classifies wrapped error codes', () => {
    expect(classifyTransportError({ code: 'ERR_GOT_REQUEST_ERROR', cause: { code: 'ECONNREFUSED' } })).toBe('CONNECTION_REFUSED');
    expect(classifyTransportError({ name: 'TimeoutError' })).toBe('TIMEOUT');
    expect(classifyTransportError({ code: 'CERT_HAS_EXPIRED' })).toBe('TLS_ERROR');
    expect(classifyTransportError({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' })).toBe('TLS_ERROR');
    expect(classifyTransportError({ code: 'EAI_AGAIN' })).toBe('DNS_LOOKUP_FAILED');
    expect(classifyTransportError({ name: 'ReadError', code: 'ERR_HTTP_CONTENT_LENGTH_MISMATCH' })).toBe('CONNECTION_RESET');
    expect(classifyTransportError(new Error('weird'))).toBe('NETWORK_ERROR');
    expect(classifyTransportError('not even an error')).toBe('NETWORK_ERROR');
  });
});

describe('createWebhookClient: connections', () => {
  it('reuses one keep-alive connection across sends', async () => {
    const target = await server(reply(200, 'ok'));
    const c = client();
    for (let i = 0; i < 4; i += 1) {
      expect(await c.send(post(target.origin))).toMatchObject({ ok: true });
    }
    expect(target.requests).toHaveLength(4);
    expect(target.connectionCount()).toBe(1);
    expect(new Set(target.requests.map((r) => r.remotePort)).size).toBe(1);
  });

  it('close() destroys pooled sockets', async () => {
    let serverSocketClosed = false;
    const target = await server((req, res) => {
      req.socket.once('close', () => {
        serverSocketClosed = true;
      });
      res.end('ok');
    });
    const c = createWebhookClient({ timeoutMs: 2_000, allowPrivateDestinations: true, userAgent: 'audithook-test/1.0' });
    expect(await c.send(post(target.origin))).toMatchObject({ ok: true });
    expect(serverSocketClosed).toBe(false);
    c.close();
    await expect.poll(() => serverSocketClosed, { timeout: 2_000 }).toBe(true);
  });
});

describe('createWebhookClient: destination guard (allowPrivateDestinations=false)', () => {
  it.each([
    ['localhost', (port: number) => `http://localhost:${port}/`],
    ['LOCALHOST. with trailing dot', (port: number) => `http://LOCALHOST.:${port}/`],
    ['sub.localhost', (port: number) => `http://api.localhost:${port}/`],
    ['127.0.0.1', (port: number) => `http://127.0.0.1:${port}/`],
    ['0x7f.1 (normalised to 127.0.0.1)', (port: number) => `http://0x7f.1:${port}/`],
    ['2130706433 (decimal 127.0.0.1)', (port: number) => `http://2130706433:${port}/`],
    ['[::ffff:127.0.0.1]', (port: number) => `http://[::ffff:127.0.0.1]:${port}/`],
    ['https://localhost', (port: number) => `https://localhost:${port}/`],
  ])('refuses %s before connecting', async (_label, urlFor) => {
    const target = await server(reply(200, 'nope'));
    const outcome = await client({ allowPrivateDestinations: false }).send(post(urlFor(target.port)));
    expect(outcome).toMatchObject({ ok: false, error: 'DESTINATION_NOT_ALLOWED', statusCode: null, responseBody: null });
    expect(target.connectionCount()).toBe(0);
  });

  it('refuses [::1] before connecting', async () => {
    const target = await server(reply(200, 'nope'), '::1');
    const outcome = await client({ allowPrivateDestinations: false }).send(post(`http://[::1]:${target.port}/`));
    expect(outcome).toMatchObject({ ok: false, error: 'DESTINATION_NOT_ALLOWED' });
    expect(target.connectionCount()).toBe(0);
  });

  it('checks the connect-time DNS answer, not only the registration-time one (rebinding)', async () => {
    const target = await server(reply(200, 'nope'));
    const rebinding = client({ allowPrivateDestinations: false, resolveHost: async () => ['127.0.0.1'] });
    expect(await rebinding.send(post(`http://hooks.example.test:${target.port}/`))).toMatchObject({ error: 'DESTINATION_NOT_ALLOWED' });
    // One bad answer among good ones is enough to refuse (nothing is contacted at all).
    const mixed = client({ allowPrivateDestinations: false, resolveHost: async () => ['8.8.8.8', '::ffff:169.254.169.254'] });
    expect(await mixed.send(post(`http://hooks.example.test:${target.port}/`))).toMatchObject({ error: 'DESTINATION_NOT_ALLOWED' });
    expect(target.connectionCount()).toBe(0);
  });

  it('with allowPrivateDestinations=true the same resolver reaches the loopback server (the guard is the lookup in use)', async () => {
    const target = await server(reply(200, 'hi'));
    const c = client({ allowPrivateDestinations: true, resolveHost: async () => ['127.0.0.1'] });
    expect(await c.send(post(`http://hooks.example.test:${target.port}/`))).toMatchObject({ ok: true, responseBody: 'hi' });
    expect(target.requests[0]?.headers.host).toBe(`hooks.example.test:${target.port}`);
  });

  it('with allowPrivateDestinations=true, [::1] is reachable', async () => {
    const target = await server(reply(204), '::1');
    expect(await client().send(post(`http://[::1]:${target.port}/`))).toMatchObject({ ok: true, statusCode: 204 });
  });
});
