import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { parseDurationListMs, parseDurationMs } from './delivery/retry-policy.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE, tightenFile } from './lib/private-files.js';

/** A configuration value that cannot start the process; the message names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Where the data lives: an embedded SQLite file (the default) or a PostgreSQL database shared by several processes. */
export type DatabaseConfig = SqliteDatabaseConfig | PostgresDatabaseConfig;

/** DATABASE_URL=sqlite:<path>: one file on this machine. */
export interface SqliteDatabaseConfig {
  kind: 'sqlite';
  path: string;
}

/** DATABASE_URL=postgres://user:password@host:port/database[?sslmode=…]: a server any number of processes share. */
export interface PostgresDatabaseConfig {
  kind: 'postgresql';
  host: string;
  port: number;
  database: string;
  user: string;
  /** Kept in memory only; never logged or printed (see redactedUrl). */
  password: string | null;
  /** libpq's sslmode: disable (plain TCP), require (encrypted, certificate not checked), verify-ca / verify-full (checked). */
  sslMode: PostgresSslMode;
  /** The URL with its password replaced by ***, for messages. */
  redactedUrl: string;
  /** AUDITHOOK_DB_POOL_SIZE: connections this process keeps open at most (the job backend has its own few). */
  poolSize: number;
  /** AUDITHOOK_DB_STATEMENT_TIMEOUT: the server cancels a statement running longer than this. */
  statementTimeoutMs: number;
}

/** The sslmode values DATABASE_URL accepts (libpq's, minus the ones that silently fall back to plain text). */
export type PostgresSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';
const SSL_MODES: readonly PostgresSslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

/** What one `audithook serve` process does: everything, only the API, or only delivery. */
export type ServeRole = 'all' | 'api' | 'worker';
/** The accepted roles, in the order the CLI and errors list them. */
export const SERVE_ROLES: readonly ServeRole[] = ['all', 'api', 'worker'];

/** Everything the process reads from its environment, validated once at start. */
export interface Config {
  /** AUDITHOOK_ROLE (or `serve --role`): api serves GraphQL and sends nothing, worker delivers and serves only /healthz and /metrics. */
  role: ServeRole;
  port: number;
  host: string;
  database: DatabaseConfig;
  secretKey: Buffer;
  /** Keys stored secrets may still be sealed with (AUDITHOOK_SECRET_KEY_PREVIOUS), read during a key rotation. */
  previousSecretKeys: Buffer[];
  allowHttp: boolean;
  allowPrivateDestinations: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** A WebSocket connection is closed after this long, so its token is presented again (AUDITHOOK_WS_MAX_LIFETIME). */
  wsMaxLifetimeMs: number;
  /** AUDITHOOK_METRICS_TOKEN: required as a Bearer token on /metrics when set; kept in memory only, never logged. */
  metricsToken: string | null;
  delivery: DeliveryConfig;
  retention: RetentionConfig;
}

/** How long history is kept, and how often it is pruned (AUDITHOOK_*_RETENTION, AUDITHOOK_PRUNE_INTERVAL). */
export interface RetentionConfig {
  /** Finished deliveries (with their attempts and event links) older than this go; null keeps them forever. */
  deliveryRetentionMs: number | null;
  /** Audit events recorded longer ago than this go; null (the default) keeps them forever. */
  eventRetentionMs: number | null;
  /** How often the prune job runs. */
  pruneIntervalMs: number;
}

/** Delivery tuning: separate so tests and benchmarks can set short delays. */
export interface DeliveryConfig {
  requestTimeoutMs: number;
  retryDelaysMs: number[];
  testDelayMs: number;
  maxBatchSize: number;
  webhookConcurrency: number;
  /** AUDITHOOK_DISABLE_AFTER: a webhook whose every attempt has failed for this long is DISABLED. */
  disableAfterMs: number;
  /** AUDITHOOK_DISABLED_BUFFER: how long a DISABLED webhook's events wait in the outbox before they are dropped. */
  disabledBufferMs: number;
}

const DAY_MS = 86_400_000;

const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', ''].includes(v), 'expected true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const durationMsText = z.string().trim().transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 10s, 5m, 1h or 5d' });
    return z.NEVER;
  }
  return ms;
});

/** A retention: a duration such as 30d, 12h or 90m (at least 1s), or `off` to keep forever (null). */
const retentionText = z.string().trim().transform((v, ctx) => {
  if (v.toLowerCase() === 'off') return null;
  const ms = parseDurationMs(v); // days included (retention is counted in days)
  if (ms === null || !Number.isSafeInteger(ms) || ms < 1_000) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration of at least 1s such as 30d, 12h or 90m, or off' });
    return z.NEVER;
  }
  return ms;
});

const integerText = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `expected a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected a whole number from ${min} to ${max}`);

const envSchema = z.object({
  AUDITHOOK_ROLE: z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => (SERVE_ROLES as readonly string[]).includes(v), `expected one of ${SERVE_ROLES.join(', ')}`)
    .transform((v) => v as ServeRole)
    .default('all'),
  PORT: integerText(0, 65535).default(4000),
  HOST: z.string().trim().min(1, 'expected a host name or address').default('127.0.0.1'),
  DATABASE_URL: z.string().trim().default('sqlite:data/audithook.db'),
  AUDITHOOK_SECRET_KEY: z.string().trim().optional(),
  AUDITHOOK_SECRET_KEY_PREVIOUS: z.string().trim().optional(),
  AUDITHOOK_ALLOW_HTTP: booleanText.default(false),
  AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: booleanText.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AUDITHOOK_REQUEST_TIMEOUT: durationMsText.default(10_000),
  AUDITHOOK_RETRY_DELAYS: z
    .string()
    .trim()
    .transform((v, ctx) => {
      const delaysMs = parseDurationListMs(v);
      if (delaysMs === null || delaysMs.length !== 3) {
        ctx.addIssue({ code: 'custom', message: 'expected three comma-separated durations (the delays before retries 1, 2 and 3), e.g. 5s,5m,30m' });
        return z.NEVER;
      }
      return delaysMs;
    })
    .default([5_000, 300_000, 1_800_000]),
  AUDITHOOK_TEST_DELAY: durationMsText.default(5_000),
  AUDITHOOK_MAX_BATCH_SIZE: integerText(1, 1000).default(100),
  AUDITHOOK_WEBHOOK_CONCURRENCY: integerText(1, 64).default(4),
  AUDITHOOK_METRICS_TOKEN: z.string().trim().min(16, 'expected at least 16 characters (e.g. `openssl rand -hex 24`)').regex(/^\S+$/, 'expected no spaces').optional(),
  AUDITHOOK_DISABLE_AFTER: durationMsText.refine((ms) => ms >= 1_000, 'expected at least 1s').default(5 * DAY_MS),
  AUDITHOOK_DISABLED_BUFFER: durationMsText.refine((ms) => ms >= 1_000, 'expected at least 1s').default(7 * DAY_MS),
  AUDITHOOK_WS_MAX_LIFETIME: durationMsText.refine((ms) => ms >= 1_000, 'expected at least 1s').default(3_600_000),
  AUDITHOOK_DELIVERY_RETENTION: retentionText.default(30 * DAY_MS),
  AUDITHOOK_EVENT_RETENTION: retentionText.default(null),
  AUDITHOOK_PRUNE_INTERVAL: durationMsText.refine((ms) => ms >= 100, 'expected at least 100ms').default(3_600_000),
  AUDITHOOK_DB_POOL_SIZE: integerText(1, 200).default(10),
  AUDITHOOK_DB_STATEMENT_TIMEOUT: durationMsText.refine((ms) => ms >= 100, 'expected at least 100ms').default(30_000),
});

/** The pool settings, which only PostgreSQL uses (SQLite runs on one connection per process). */
interface PoolSettings {
  poolSize: number;
  statementTimeoutMs: number;
}

/** A DATABASE_URL with any password replaced by ***, safe to print. */
export function redactDatabaseUrl(url: string): string {
  // Up to the last @: a password with an unencoded @ or / is hidden whole (over-hiding is harmless).
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*):.*@/i, '$1:***@');
}

function parsePostgresUrl(url: string, pool: PoolSettings): PostgresDatabaseConfig {
  const redacted = redactDatabaseUrl(url);
  const fail = (why: string) => new ConfigError(`DATABASE_URL: ${why} (expected postgres://user:password@host:port/database, got "${redacted}")`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw fail('not a valid URL');
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw fail('no host');
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) throw fail('no database name');
  const user = decodeURIComponent(parsed.username);
  if (user === '') throw fail('no user name');
  let sslMode: PostgresSslMode = 'disable';
  for (const [key, value] of parsed.searchParams) {
    if (key !== 'sslmode') throw fail(`unsupported parameter "${key}" (only sslmode is read)`);
    if (!SSL_MODES.includes(value as PostgresSslMode)) throw fail(`sslmode must be one of ${SSL_MODES.join(', ')}, got "${value}"`);
    sslMode = value as PostgresSslMode;
  }
  return {
    kind: 'postgresql',
    host,
    port,
    database,
    user,
    password: parsed.password === '' ? null : decodeURIComponent(parsed.password),
    sslMode,
    redactedUrl: redacted,
    ...pool,
  };
}

function parseDatabaseUrl(url: string, cwd: string, pool: PoolSettings): DatabaseConfig {
  if (/^postgres(ql)?:\/\//i.test(url)) return parsePostgresUrl(url, pool);
  const match = /^sqlite:(.+)$/.exec(url);
  if (!match) {
    throw new ConfigError(
      `DATABASE_URL: expected sqlite:<path to file> (e.g. sqlite:data/audithook.db) or postgres://user:password@host:port/database, got "${redactDatabaseUrl(url)}"`,
    );
  }
  let path = match[1]!;
  if (path.startsWith('//')) path = path.slice(2);
  return { kind: 'sqlite', path: isAbsolute(path) ? path : resolve(cwd, path) };
}

function parseSecretKey(value: string): Buffer | null {
  const key = Buffer.from(value, 'base64');
  return key.length === 32 && /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? key : null;
}

function loadSecretKey(value: string | undefined, database: DatabaseConfig): Buffer {
  if (value !== undefined && value !== '') {
    const key = parseSecretKey(value);
    if (!key) throw new ConfigError('AUDITHOOK_SECRET_KEY: expected the base64 encoding of exactly 32 bytes (e.g. `openssl rand -base64 32`)');
    return key;
  }
  if (database.kind === 'postgresql') {
    // No file beside the database to keep a generated key in, and every process must use the same one.
    throw new ConfigError('AUDITHOOK_SECRET_KEY: required with a PostgreSQL DATABASE_URL (every process must share one key; e.g. `openssl rand -base64 32`)');
  }
  const keyPath = join(dirname(database.path), 'secret.key');
  if (existsSync(keyPath)) {
    tightenFile(keyPath);
    const key = Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new ConfigError(`AUDITHOOK_SECRET_KEY: ${keyPath} does not hold the base64 of 32 bytes`);
    return key;
  }
  ensurePrivateDir(dirname(keyPath));
  const key = randomBytes(32);
  writeFileSync(keyPath, key.toString('base64') + '\n', { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  chmodSync(keyPath, PRIVATE_FILE_MODE);
  return key;
}

/** AUDITHOOK_SECRET_KEY_PREVIOUS: one key, or several separated by commas, each like AUDITHOOK_SECRET_KEY. */
function loadPreviousSecretKeys(value: string | undefined): Buffer[] {
  if (value === undefined || value === '') return [];
  return value.split(',').map((part, index, all) => {
    const key = parseSecretKey(part.trim());
    if (!key) {
      const which = all.length > 1 ? ` (key ${index + 1} of ${all.length})` : '';
      throw new ConfigError(`AUDITHOOK_SECRET_KEY_PREVIOUS${which}: expected the base64 encoding of exactly 32 bytes, or several such keys separated by commas`);
    }
    return key;
  });
}

/** `serve --role` text as a role (any case), or null when it names none. */
export function parseServeRole(text: string): ServeRole | null {
  const role = text.trim().toLowerCase();
  return (SERVE_ROLES as readonly string[]).includes(role) ? (role as ServeRole) : null;
}

/** Reads and validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const messages = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(messages.join('; '));
  }
  const e = parsed.data;
  const database = parseDatabaseUrl(e.DATABASE_URL, cwd, { poolSize: e.AUDITHOOK_DB_POOL_SIZE, statementTimeoutMs: e.AUDITHOOK_DB_STATEMENT_TIMEOUT });
  const previousSecretKeys = loadPreviousSecretKeys(e.AUDITHOOK_SECRET_KEY_PREVIOUS);
  return {
    role: e.AUDITHOOK_ROLE,
    port: e.PORT,
    host: e.HOST,
    database,
    secretKey: loadSecretKey(e.AUDITHOOK_SECRET_KEY, database),
    previousSecretKeys,
    allowHttp: e.AUDITHOOK_ALLOW_HTTP,
    allowPrivateDestinations: e.AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS,
    logLevel: e.LOG_LEVEL,
    wsMaxLifetimeMs: e.AUDITHOOK_WS_MAX_LIFETIME,
    metricsToken: e.AUDITHOOK_METRICS_TOKEN ?? null,
    delivery: {
      requestTimeoutMs: e.AUDITHOOK_REQUEST_TIMEOUT,
      retryDelaysMs: e.AUDITHOOK_RETRY_DELAYS,
      testDelayMs: e.AUDITHOOK_TEST_DELAY,
      maxBatchSize: e.AUDITHOOK_MAX_BATCH_SIZE,
      webhookConcurrency: e.AUDITHOOK_WEBHOOK_CONCURRENCY,
      disableAfterMs: e.AUDITHOOK_DISABLE_AFTER,
      disabledBufferMs: e.AUDITHOOK_DISABLED_BUFFER,
    },
    retention: {
      deliveryRetentionMs: e.AUDITHOOK_DELIVERY_RETENTION,
      eventRetentionMs: e.AUDITHOOK_EVENT_RETENTION,
      pruneIntervalMs: e.AUDITHOOK_PRUNE_INTERVAL,
    },
  };
}
