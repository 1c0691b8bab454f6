import { rmSync } from 'node:fs';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startApp, type App, type AppOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/lib/logger.js';
import { tempDir } from './temp-dir.js';
import { testDatabaseUrl } from './test-database.js';

/** A GraphQL response as the client sees it. */
export interface GqlResult<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string } }[];
}

/** A real audithook on an ephemeral loopback port over a fresh database (SQLite file or throwaway PostgreSQL database), with one organization. */
export interface TestServer {
  app: App;
  config: Config;
  dir: string;
  url: string;
  wsUrl: string;
  orgId: string;
  adminToken: string;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GqlResult<T>>;
  /** A graphql-ws client authenticating with `token` (connection params). */
  wsClient(token: string | null, options?: { onClosed?: (event: unknown) => void }): Client;
  createOrg(name: string): Promise<{ orgId: string; adminToken: string }>;
  /** Log lines written by the server (only with `captureLogs`). */
  logs: string[];
  stop(): Promise<void>;
}

/** Environment for tests: loopback receivers allowed, quiet logs, fast delivery. */
export const TEST_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'silent',
  AUDITHOOK_ALLOW_HTTP: 'true',
  AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'true',
  AUDITHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
  AUDITHOOK_REQUEST_TIMEOUT: '2s',
  AUDITHOOK_RETRY_DELAYS: '100ms,200ms,300ms',
  AUDITHOOK_TEST_DELAY: '300ms',
};

/** Starts a server; `env` overrides TEST_ENV, `dir` reuses a data folder (restarts; on PostgreSQL, the same database). */
export async function startTestServer(env: Record<string, string> = {}, options: AppOptions & { dir?: string; captureLogs?: boolean } = {}): Promise<TestServer> {
  const dir = options.dir ?? tempDir('audithook-test-');
  const databaseUrl = env.DATABASE_URL ?? (await testDatabaseUrl(dir));
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: databaseUrl, ...(options.captureLogs ? { LOG_LEVEL: 'debug' } : {}), ...env }, dir);
  const logs: string[] = [];
  const logger = options.captureLogs ? createLogger(config.logLevel, { write: (line: string) => void logs.push(line) }) : createLogger(config.logLevel);
  const app = await startApp(config, logger, options);
  const url = app.url;
  const wsUrl = url.replace(/^http/, 'ws');
  const clients: Client[] = [];
  const created = await app.services.organizations.create('Acme');

  const gql: TestServer['gql'] = async (query, variables = {}, token = created.token) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GqlResult, 'status'>;
    return { status: response.status, ...body } as GqlResult<any>;
  };

  return {
    app,
    config,
    dir,
    url,
    wsUrl,
    orgId: created.organization.id,
    adminToken: created.token,
    logs,
    gql,
    wsClient(token, wsOptions = {}) {
      const client = createClient({
        url: wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: token ? { authorization: `Bearer ${token}` } : {},
        on: wsOptions.onClosed ? { closed: wsOptions.onClosed } : {},
      });
      clients.push(client);
      return client;
    },
    async createOrg(name) {
      const other = await app.services.organizations.create(name);
      return { orgId: other.organization.id, adminToken: other.token };
    },
    async stop() {
      await Promise.all(clients.map((c) => c.dispose()));
      await app.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Collects `count` results of a graphql-ws subscription (or fails after timeoutMs). */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown>, count: number, timeoutMs = 20_000) {
  const results: T[] = [];
  const errors: unknown[] = [];
  let unsubscribe: () => void = () => {};
  const done = new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`subscription gave ${results.length} of ${count} results in ${timeoutMs} ms; errors: ${JSON.stringify(errors)}`));
    }, timeoutMs);
    unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) errors.push(...value.errors);
          if (value.data) results.push(value.data as T);
          if (results.length >= count || value.errors) {
            clearTimeout(timer);
            unsubscribe();
            if (value.errors && results.length < count) reject(Object.assign(new Error('subscription error'), { errors: value.errors }));
            else resolve(results);
          }
        },
        error: (error) => {
          clearTimeout(timer);
          reject(error);
        },
        complete: () => {
          clearTimeout(timer);
          resolve(results);
        },
      },
    );
  });
  return { done, results, unsubscribe: () => unsubscribe() };
}

/** Polls `check` until it returns a truthy value (or throws after timeoutMs). */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
