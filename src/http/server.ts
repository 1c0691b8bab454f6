import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { DEFAULT_WS_LIMITS, WsSessions, type WsSession, type WsSessionLimits } from './ws-sessions.js';
import { AppError } from '../lib/app-error.js';
import type { Logger } from '../lib/logger.js';
import { createLoaders } from '../modules/loaders.js';
import type { RequestContext } from '../modules/request-context.js';
import type { Services } from '../modules/services.js';
import { createErrorFormatter } from '../graphql/errors.js';
import { documentTooDeep, MAX_DOCUMENT_DEPTH } from '../graphql/input-guard.js';
import { limitedWsOperation, limitParseOptions, limitValidationRules, queryCostPlugin } from '../graphql/limits.js';
import { operationLoggingPlugin } from '../graphql/logging-plugin.js';
import { operationMetricsPlugin } from '../graphql/metrics-plugin.js';
import type { AppMetrics } from '../metrics/metrics.js';
import { METRICS_PATH, serveMetrics } from '../metrics/metrics-endpoint.js';

/** Request bodies above this are refused with 413 before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Where GraphQL (HTTP and graphql-ws) is served. */
export const GRAPHQL_PATH = '/graphql';

/** A WebSocket that has not sent `connection_init` by then is closed (4408). */
export const WS_CONNECTION_INIT_TIMEOUT_MS = 3_000;

/** Extra routes (the console, later) tried before the 404; return true when handled. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

/** The body of /healthz: 200 when every part answers, 503 naming the one that does not. */
export interface HealthReport {
  /** 'ok' only when the database (and the job backend, where this process runs one) answer. */
  status: 'ok' | 'unavailable';
  database: { kind: 'sqlite' | 'postgresql'; status: 'ok' | 'unavailable' };
  /** null in a process that runs no delivery. */
  jobs: { backend: string; status: 'ok' | 'unavailable' } | null;
}

/** What the HTTP layer needs from the rest of the app. */
export interface HttpServerOptions {
  schema: GraphQLSchema;
  services: Services;
  logger: Logger;
  /** What /healthz reports: the database and the job backend, each answering or not. */
  healthCheck: () => Promise<HealthReport>;
  routes?: RouteHandler[];
  /** WebSocket bounds; unset fields take DEFAULT_WS_LIMITS (lifetime: 1 h). */
  ws?: Partial<WsSessionLimits>;
  /** Served at /metrics (and counts GraphQL operations); `token`, when set, is required as a Bearer token. */
  metrics?: { metrics: AppMetrics; token: string | null };
}

/** The running HTTP server; `close` stops accepting and waits for requests in flight. */
export interface HttpServerHandle {
  server: Server;
  url: string;
  port: number;
  /** Open WebSocket connections (tests and metrics read it). */
  sessions: WsSessions;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

function requestError(response: ServerResponse, status: number, code: string, message: string): void {
  sendJson(response, status, { errors: [{ message, extensions: { code } }] });
}

type BodyResult = { ok: true; text: string } | { ok: false; status: number; message: string };

async function readBody(request: IncomingMessage): Promise<BodyResult> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return { ok: false, status: 413, message: `request body is larger than ${MAX_BODY_BYTES} bytes (1 MiB)` };
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > MAX_BODY_BYTES) return { ok: false, status: 413, message: `request body is larger than ${MAX_BODY_BYTES} bytes (1 MiB)` };
    chunks.push(chunk as Buffer);
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}

/** The caller's principal from an `Authorization: Bearer` value (HTTP header or graphql-ws param). */
async function authenticate(services: Services, authorization: unknown): Promise<Pick<RequestContext, 'principal' | 'authFailure'>> {
  if (typeof authorization !== 'string' || authorization.trim() === '') return { principal: null, authFailure: null };
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  if (!match) return { principal: null, authFailure: 'the Authorization header must be "Bearer <API token>"' };
  const result = await services.apiTokens.authenticate(match[1]!);
  return result.ok ? { principal: result.principal, authFailure: null } : { principal: null, authFailure: result.reason };
}

/** Starts Apollo over node:http with graphql-ws on the same port and path, /healthz, and graceful close. */
export async function startHttpServer(options: HttpServerOptions, listen: { host: string; port: number }): Promise<HttpServerHandle> {
  const { schema, services, logger } = options;
  const httpServer = createServer();
  const formatError = createErrorFormatter(logger);
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  const sessions = new WsSessions(services.apiTokens, { maxLifetimeMs: 3_600_000, ...DEFAULT_WS_LIMITS, ...options.ws }, logger);
  const wsCleanup = useServer<Record<string, unknown>, { session?: WsSession }>(
    {
      schema,
      connectionInitWaitTimeout: WS_CONNECTION_INIT_TIMEOUT_MS,
      onConnect: async (ctx) => {
        const auth = await authenticate(services, ctx.connectionParams?.authorization);
        if (!auth.principal) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.session = sessions.open(auth.principal, (code, reason) => ctx.extra.socket.close(code, reason));
        return true;
      },
      // Every operation re-reads the token (a socket opened before a revocation cannot run anything
      // after it), then passes the same parse, validation and cost limits as over HTTP (limits.ts).
      onSubscribe: async (ctx, _id, payload) => {
        const check = await ctx.extra.session!.recheck();
        if (!check.ok) return [new GraphQLError(check.reason, { originalError: new AppError('UNAUTHENTICATED', check.reason) })];
        if (typeof payload.query === 'string' && documentTooDeep(payload.query)) {
          const message = `the document nests brackets deeper than ${MAX_DOCUMENT_DEPTH} levels`;
          return [new GraphQLError(message, { originalError: new AppError('BAD_USER_INPUT', message) })];
        }
        return limitedWsOperation(schema, payload);
      },
      context: (ctx): RequestContext => ({
        principal: ctx.extra.session!.principal,
        authFailure: null,
        services,
        loaders: createLoaders(services),
        subscriptions: ctx.extra.session!,
      }),
      onClose: (ctx) => {
        if (ctx.extra.session) sessions.remove(ctx.extra.session);
      },
      // graphql-ws bypasses Apollo's formatError: shape its errors the same way (codes, fields, masking).
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error)),
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors || result.errors.length === 0) return undefined;
        return { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) };
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // The CLI owns SIGTERM/SIGINT: it stops HTTP, then delivery, then the database, in that order.
    stopOnTerminationSignals: false,
    formatError,
    // Query limits (src/graphql/limits.ts): tokens while parsing, shape in validation, cost before execution.
    parseOptions: limitParseOptions,
    validationRules: limitValidationRules,
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      operationLoggingPlugin(logger),
      ...(options.metrics ? [operationMetricsPlugin(options.metrics.metrics)] : []),
      queryCostPlugin(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              sessions.dispose();
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
    logger: {
      debug: (m) => logger.debug(m),
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
  });
  await apollo.start();

  const handleGraphql = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    let body: unknown = undefined;
    if (request.method === 'POST') {
      const read = await readBody(request);
      if (!read.ok) return requestError(response, read.status, read.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', read.message);
      const contentType = String(request.headers['content-type'] ?? '');
      if (contentType.includes('json')) {
        try {
          body = read.text.length > 0 ? JSON.parse(read.text) : undefined;
        } catch (error) {
          return requestError(response, 400, 'BAD_REQUEST', `the request body is not valid JSON: ${(error as Error).message}`);
        }
      } else {
        body = read.text;
      }
    }
    // graphql-js parses and validates recursively: refuse absurdly nested documents before they reach it.
    const query = request.method === 'POST' ? (typeof body === 'object' && body !== null ? (body as { query?: unknown }).query : undefined) : url.searchParams.get('query');
    if (typeof query === 'string' && documentTooDeep(query)) {
      return sendJson(response, 400, { errors: [{ message: `the document nests brackets deeper than ${MAX_DOCUMENT_DEPTH} levels`, extensions: { code: 'BAD_USER_INPUT' } }] });
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
      context: async () => ({ ...(await authenticate(services, request.headers.authorization)), services, loaders: createLoaders(services) }),
    });
    for (const [key, value] of result.headers) response.setHeader(key, value);
    response.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      response.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) response.write(chunk);
      response.end();
    }
  };

  httpServer.on('request', (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = async () => {
      if (url.pathname === GRAPHQL_PATH) return handleGraphql(request, response, url);
      if (url.pathname === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
        const report = await options.healthCheck().catch(() => ({ status: 'unavailable' as const }));
        return sendJson(response, report.status === 'ok' ? 200 : 503, report);
      }
      if (url.pathname === METRICS_PATH && options.metrics) {
        return serveMetrics(request, response, { registry: options.metrics.metrics.registry, token: options.metrics.token });
      }
      for (const handler of options.routes ?? []) if (await handler(request, response)) return;
      return requestError(response, 404, 'NOT_FOUND', `nothing at ${url.pathname}; GraphQL is at ${GRAPHQL_PATH}`);
    };
    route().catch((error: unknown) => {
      logger.error({ err: error, path: url.pathname }, 'unhandled error in HTTP request');
      if (!response.headersSent) requestError(response, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      else response.destroy();
    });
  });

  httpServer.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== GRAPHQL_PATH) {
      socket.destroy();
      return;
    }
    wsServer.handleUpgrade(request, socket, head, (ws) => wsServer.emit('connection', ws, request));
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(listen.port, listen.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const address = httpServer.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server: httpServer,
    sessions,
    port: address.port,
    url: `http://${host}:${address.port}${GRAPHQL_PATH}`,
    async close() {
      await apollo.stop();
    },
  };
}
