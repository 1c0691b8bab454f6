import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentSecurityPolicy, createConsoleRoutes } from '../../src/web/console-routes.js';
import type { TestServer } from '../support/server.js';
import { startConsoleServer } from './support/browser.js';
import { tempDir } from '../support/temp-dir.js';

// The static handler on its own (a fake build in a temp folder) and as the real server serves the real build.

/** A node:http server around one RouteHandler, answering 404 "fallthrough" when it returns false. */
async function serve(distDir: string): Promise<{ origin: string; server: Server }> {
  const handler = createConsoleRoutes({ distDir });
  const server = createServer((request, response) => {
    void Promise.resolve(handler(request, response)).then((handled) => {
      if (!handled) {
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('fallthrough');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** What a browser sends when it opens a page. */
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

/** A GET with the path sent exactly as given (fetch would normalize `..` away). */
function rawGet(origin: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('createConsoleRoutes with a fake build', () => {
  let root: string;
  let distDir: string;
  let origin: string;
  let server: Server;

  beforeAll(async () => {
    root = tempDir('audithook-console-');
    distDir = join(root, 'dist', 'console');
    mkdirSync(join(distDir, 'assets'), { recursive: true });
    writeFileSync(join(distDir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(distDir, 'graphiql.html'), '<!doctype html><title>graphiql</title>');
    writeFileSync(join(distDir, 'assets', 'app-abc123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
    writeFileSync(join(distDir, 'assets', 'app-abc123.css'), 'body{}');
    writeFileSync(join(distDir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    writeFileSync(join(root, 'secret.txt'), 'outside the build');
    writeFileSync(join(distDir, '.env'), 'SECRET=1');
    ({ origin, server } = await serve(distDir));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the console at / and its client routes, GraphiQL at /graphiql, with the security headers', async () => {
    for (const [path, title] of [
      ['/', 'console'],
      ['/webhook', 'console'],
      ['/deliveries/dlv_123', 'console'],
      ['/audit-log', 'console'],
      ['/tokens', 'console'],
      ['/graphiql', 'graphiql'],
    ] as const) {
      const response = await fetch(origin + path);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toContain(`<title>${title}</title>`);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      const csp = response.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);
      expect(csp).toContain(`connect-src 'self' ws://${new URL(origin).host} wss://${new URL(origin).host}`);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
    }
  });

  it("keeps 'unsafe-inline' styles to GraphiQL's page only", async () => {
    const consoleCsp = (await fetch(origin + '/')).headers.get('content-security-policy')!;
    const graphiqlCsp = (await fetch(origin + '/graphiql')).headers.get('content-security-policy')!;
    expect(consoleCsp).toContain("style-src 'self';");
    expect(consoleCsp).not.toContain('unsafe-inline');
    expect(consoleCsp).not.toContain('data:');
    expect(graphiqlCsp).toContain("style-src 'self' 'unsafe-inline'");
    expect(graphiqlCsp).toContain("worker-src 'self'");
  });

  it('leaves a Host it cannot trust out of the CSP', () => {
    expect(contentSecurityPolicy('console', 'evil.example; script-src *')).toContain("connect-src 'self';");
    expect(contentSecurityPolicy('console', undefined)).toContain("connect-src 'self';");
    expect(contentSecurityPolicy('console', '[::1]:4000')).toContain('ws://[::1]:4000 wss://[::1]:4000');
  });

  it('serves hashed assets with their content type, a year of caching, gzip and ETag revalidation', async () => {
    const response = await fetch(origin + '/assets/app-abc123.js', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(await response.text()).toContain('console.log');
    const etag = response.headers.get('etag')!;
    const again = await fetch(origin + '/assets/app-abc123.js', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);

    const css = await fetch(origin + '/assets/app-abc123.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const icon = await fetch(origin + '/favicon.svg');
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('public, max-age=3600');
    const head = await fetch(origin + '/assets/app-abc123.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('never serves outside the build folder, dotfiles, or HTML by another path', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/assets/../../secret.txt', '/.env', '/assets/..%5c..%5csecret.txt', '/%00', '/%E0%A4%A']) {
      const response = await rawGet(origin, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain('outside the build');
      expect(response.body, path).not.toContain('SECRET');
    }
    // Unknown paths are left to the server's own 404; an unknown hashed asset gets a plain explanation.
    expect(await (await fetch(origin + '/nope')).text()).toBe('fallthrough');
    const stale = await fetch(origin + '/assets/old-123.js');
    expect(stale.status).toBe(404);
    expect(await stale.text()).toMatch(/not part of the current console build/);
    // Only GET and HEAD.
    expect(await (await fetch(origin + '/', { method: 'POST', body: 'x' })).text()).toBe('fallthrough');
  });

  it('answers a browser opening an unknown path with the console (status 404), leaving API paths and other clients alone', async () => {
    for (const path of ['/nope', '/settings/billing', '/webhooks', '/favicon.png']) {
      const response = await fetch(origin + path, { headers: { accept: BROWSER_ACCEPT } });
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).toContain('<title>console</title>');
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self';");
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('cache-control')).toBe('no-cache');
    }
    // The API's own paths keep the server's JSON 404, whatever the client accepts.
    for (const path of ['/graphql/nope', '/healthz/deep']) {
      expect(await (await fetch(origin + path, { headers: { accept: BROWSER_ACCEPT } })).text(), path).toBe('fallthrough');
    }
    // API clients (no text/html) keep it too; a stale asset keeps its plain explanation.
    expect(await (await fetch(origin + '/nope', { headers: { accept: 'application/json' } })).text()).toBe('fallthrough');
    expect(await (await fetch(origin + '/assets/old-123.js', { headers: { accept: BROWSER_ACCEPT } })).text()).toMatch(/not part of the current console build/);
    // Paths that would leave the build get the console page at most, never the file.
    for (const path of ['/../secret.txt', '/.env', '/%2e%2e/secret.txt']) {
      const response = await rawGet(origin, path, { accept: BROWSER_ACCEPT });
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain('outside the build');
      expect(response.body, path).not.toContain('SECRET');
    }
  });

  it('says clearly when the console is not built', async () => {
    const empty = tempDir('audithook-console-empty-');
    const { origin: bare, server: bareServer } = await serve(join(empty, 'missing'));
    try {
      for (const path of ['/', '/graphiql', '/deliveries']) {
        const response = await fetch(bare + path);
        expect(response.status, path).toBe(404);
        expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(await response.text()).toMatch(/not built.*\n.*npm run build/);
      }
    } finally {
      await new Promise<void>((resolve) => bareServer.close(() => resolve()));
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('the real server with the real build', () => {
  let server: TestServer & { origin: string };
  beforeAll(async () => {
    server = await startConsoleServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves the built console and GraphiQL, whose scripts and styles are all same-origin files', async () => {
    for (const path of ['/', '/graphiql']) {
      const response = await fetch(server.origin + path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
      const html = await response.text();
      const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(urls.length).toBeGreaterThan(1);
      for (const url of urls) {
        expect(url, 'no other host').toMatch(/^\/[^/]/);
        const asset = await fetch(server.origin + url);
        expect(asset.status, url).toBe(200);
      }
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  it('serves /favicon.ico (browsers and GraphiQL ask for it) and /favicon.svg', async () => {
    const ico = await fetch(server.origin + '/favicon.ico');
    expect(ico.status).toBe(200);
    expect(ico.headers.get('content-type')).toBe('image/x-icon');
    expect(Buffer.from(await ico.arrayBuffer()).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
    expect((await fetch(server.origin + '/favicon.svg')).headers.get('content-type')).toBe('image/svg+xml');
  });

  it('keeps /graphql, /healthz and the JSON 404 working', async () => {
    expect((await fetch(server.origin + '/healthz')).status).toBe(200);
    const missing = await fetch(server.origin + '/nope');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('NOT_FOUND');
    const underApi = await fetch(server.origin + '/graphql/nope', { headers: { accept: BROWSER_ACCEPT } });
    expect(underApi.status).toBe(404);
    expect(((await underApi.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('NOT_FOUND');
    const page = await fetch(server.origin + '/nope', { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('<div id="root">');
    const viewer = await server.gql('query { viewer { role } }');
    expect(viewer.data?.viewer.role).toBe('ADMIN');
  });
});
