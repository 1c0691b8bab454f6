import { readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { RouteHandler } from '../http/server.js';
import { packageRoot } from '../lib/package-info.js';

/** Where the admin console's client routes live; any path under these serves the console's index.html. */
export const CONSOLE_CLIENT_ROUTES = ['/webhook', '/deliveries', '/audit-log', '/tokens'] as const;

/** Paths of the API itself: an unknown path under these keeps the server's JSON 404, never the console's page. */
const API_PATH_PREFIXES = ['/graphql', '/healthz'] as const;

/** Where GraphiQL is served (the second Vite entry). */
export const GRAPHIQL_PATH = '/graphiql';

/** Files under this folder of the build carry a content hash in their name, so they may be cached for a year. */
const HASHED_ASSETS_PREFIX = '/assets/';

/** How long a browser may keep a hashed asset: a year, the longest HTTP caches honour. */
const IMMUTABLE_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;

/** How long a browser may keep an unhashed static file (the favicon) before asking again. */
const STATIC_MAX_AGE_SECONDS = 60 * 60;

/** Text files smaller than this are sent as they are: gzip would not pay for itself. */
const GZIP_MIN_BYTES = 1024;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt', '.ttf']);

/** Which HTML page is answered, since the console and GraphiQL need different style rules. */
type Page = 'console' | 'graphiql';

/** A host as browsers send it (name or IP, optional port); anything else is left out of the CSP. */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The Content-Security-Policy of an HTML page: only this origin's scripts, styles, images, fonts and
 * workers; GraphQL over HTTP to this origin and graphql-ws to this same host only.
 */
export function contentSecurityPolicy(page: Page, host: string | undefined): string {
  // 'self' already covers ws(s) to the same host in current browsers (CSP3); naming the host keeps older ones working
  // without opening connect-src to every WebSocket host (a bare `ws: wss:` would).
  const sameHostSockets = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  const directives = [
    "default-src 'self'",
    "script-src 'self'",
    // The console's own styles are all in its stylesheet; React sets style properties through the CSSOM, which CSP allows.
    // GraphiQL's editor (Monaco) and its UI library (Radix/framer-motion) create <style> elements and style="" attributes
    // at run time that carry no nonce, so GraphiQL's page needs 'unsafe-inline' for styles (never for scripts).
    page === 'graphiql' ? "style-src 'self' 'unsafe-inline'" : "style-src 'self'",
    // Monaco's stylesheet draws a few icons as data: SVGs.
    page === 'graphiql' ? "img-src 'self' data:" : "img-src 'self'",
    // GraphiQL's stylesheet embeds its fonts (and Monaco's codicon icon font) as data: URLs; the console uses system fonts.
    page === 'graphiql' ? "font-src 'self' data:" : "font-src 'self'",
    `connect-src 'self'${sameHostSockets}`,
    // Monaco's language workers are separate same-origin files built by Vite.
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ];
  return directives.join('; ');
}

/** Headers every response of the console carries; HTML adds the CSP and X-Frame-Options. */
function securityHeaders(): Record<string, string> {
  return { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
}

/**
 * Whether an unknown path should get the console's page: a browser navigation (it accepts text/html) outside the
 * API's own paths. API clients (Accept: application/json or *\/*) keep the server's JSON 404.
 */
function wantsPage(request: IncomingMessage, pathname: string): boolean {
  if (API_PATH_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`))) return false;
  return /\btext\/html\b/.test(String(request.headers.accept ?? ''));
}

/** The default build output of `vite build --config src/console/vite.config.ts`. */
export function defaultConsoleDistDir(): string {
  return join(packageRoot(), 'dist', 'console');
}

interface CachedFile {
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
  mtimeMs: number;
}

function sendText(response: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...securityHeaders(),
    ...extra,
  });
  response.end(text);
}

/**
 * Serves the Vite-built admin console (`/`, its client routes) and GraphiQL (`/graphiql`) from `distDir`
 * (default dist/console), with content types, caching of hashed assets, and the CSP and security headers on HTML.
 * An unknown path opened by a browser gets the console's page with status 404 (the console shows "page not found");
 * other unknown paths fall through (false) to the server's JSON 404.
 */
export function createConsoleRoutes(options: { distDir?: string } = {}): RouteHandler {
  const distDir = resolve(options.distDir ?? defaultConsoleDistDir());
  const cache = new Map<string, CachedFile>();

  /** Reads (and caches, until the file changes) a file that is known to be inside distDir. */
  const load = (file: string): CachedFile | null => {
    let stats;
    try {
      stats = statSync(file);
    } catch {
      return null;
    }
    if (!stats.isFile()) return null;
    const cached = cache.get(file);
    if (cached && cached.mtimeMs === stats.mtimeMs && cached.body.length === stats.size) return cached;
    const body = readFileSync(file);
    const gzip = COMPRESSIBLE.has(extname(file)) && body.length >= GZIP_MIN_BYTES ? gzipSync(body) : null;
    const entry = { body, gzip, etag: `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`, mtimeMs: stats.mtimeMs };
    cache.set(file, entry);
    return entry;
  };

  /** The file for a URL path, or null when it would leave distDir, names a dotfile, or does not exist. */
  const fileFor = (pathname: string): string | null => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return null;
    }
    if (decoded.includes('\0') || decoded.includes('\\')) return null;
    if (decoded.split('/').some((segment) => segment.startsWith('.'))) return null;
    const file = resolve(distDir, `.${decoded}`);
    if (!file.startsWith(distDir + sep)) return null;
    return file;
  };

  const send = (request: IncomingMessage, response: ServerResponse, file: string, entry: CachedFile, headers: Record<string, string>, status = 200): void => {
    const common: Record<string, string> = {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      etag: entry.etag,
      vary: 'Accept-Encoding',
      ...securityHeaders(),
      ...headers,
    };
    if (status === 200 && request.headers['if-none-match'] === entry.etag) {
      response.writeHead(304, common);
      response.end();
      return;
    }
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const body = entry.gzip && acceptsGzip ? entry.gzip : entry.body;
    response.writeHead(status, { ...common, ...(body === entry.gzip ? { 'content-encoding': 'gzip' } : {}), 'content-length': String(body.length) });
    response.end(request.method === 'HEAD' ? undefined : body);
  };

  const sendPage = (request: IncomingMessage, response: ServerResponse, page: Page, status = 200): void => {
    const name = page === 'graphiql' ? 'graphiql.html' : 'index.html';
    const file = join(distDir, name);
    const entry = load(file);
    if (!entry) {
      sendText(
        response,
        404,
        `The ${page === 'graphiql' ? 'GraphiQL playground' : 'admin console'} is not built: ${file} is missing.\n` +
          'Run `npm run build` (npm ci runs it too), then reload. The GraphQL API itself is at /graphql.\n',
      );
      return;
    }
    send(
      request,
      response,
      file,
      entry,
      {
        'cache-control': 'no-cache',
        'content-security-policy': contentSecurityPolicy(page, request.headers.host),
        'x-frame-options': 'DENY',
      },
      status,
    );
  };

  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname === '/' || pathname === '/index.html') {
      sendPage(request, response, 'console');
      return true;
    }
    if (pathname === GRAPHIQL_PATH || pathname === `${GRAPHIQL_PATH}/` || pathname === '/graphiql.html') {
      sendPage(request, response, 'graphiql');
      return true;
    }
    if (CONSOLE_CLIENT_ROUTES.some((route) => pathname === route || pathname.startsWith(`${route}/`))) {
      sendPage(request, response, 'console');
      return true;
    }
    const file = fileFor(pathname);
    const entry = file && extname(file) !== '.html' ? load(file) : null;
    if (!file || !entry) {
      if (pathname.startsWith(HASHED_ASSETS_PREFIX)) {
        // An asset of another build (a page loaded before a redeploy): say so plainly rather than JSON.
        sendText(response, 404, `${pathname} is not part of the current console build; reload the page.\n`);
        return true;
      }
      if (wantsPage(request, pathname)) {
        // A browser opening a path the console has no page for: the console itself says so (status 404).
        sendPage(request, response, 'console', 404);
        return true;
      }
      return false;
    }
    const cacheControl = pathname.startsWith(HASHED_ASSETS_PREFIX)
      ? `public, max-age=${IMMUTABLE_MAX_AGE_SECONDS}, immutable`
      : `public, max-age=${STATIC_MAX_AGE_SECONDS}`;
    send(request, response, file, entry, { 'cache-control': cacheControl });
    return true;
  };
}
