import type { ConnectionOptions } from 'node:tls';
import type { PoolConfig } from 'pg';
import type { PostgresDatabaseConfig } from '../config.js';
import { StartupFailureError } from '../lib/startup-failure.js';

/** How long opening a connection may take before start-up gives up with "no answer". */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;

/** TLS as libpq's sslmode means it: require encrypts without checking the certificate, verify-* check it. */
function tlsOptions(mode: PostgresDatabaseConfig['sslMode']): false | ConnectionOptions {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/** `pg` pool settings beyond host/user/database (TLS, statement timeout, connect timeout), shared by the ORM and the job backend. */
export function postgresPoolOptions(database: PostgresDatabaseConfig): PoolConfig {
  return {
    ssl: tlsOptions(database.sslMode),
    statement_timeout: database.statementTimeoutMs,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    application_name: 'audithook',
  };
}

/** A complete `pg` pool configuration for `database` (the job backend's own pool). */
export function postgresPoolConfig(database: PostgresDatabaseConfig, max: number): PoolConfig {
  return {
    host: database.host,
    port: database.port,
    user: database.user,
    ...(database.password !== null ? { password: database.password } : {}),
    database: database.database,
    max,
    ...postgresPoolOptions(database),
  };
}

/** SQLSTATEs and socket codes of a connection that could not be made, with what they mean to an operator. */
function causeOf(error: unknown, database: PostgresDatabaseConfig): string | null {
  const e = error as { code?: unknown; message?: unknown; errors?: unknown[] } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : '';
  const where = `${database.host.includes(':') ? `[${database.host}]` : database.host}:${database.port}`;
  switch (code) {
    case '28P01':
      return `wrong password for user "${database.user}" (28P01)`;
    case '28000':
      return `${message} (28000)`; // no such role, or pg_hba.conf refuses this host/user/database
    case '3D000':
      return `database "${database.database}" does not exist (3D000); create it (createdb ${database.database}) or fix the name`;
    case '53300':
      return 'the server has no free connection slots (53300)';
    case '57P03':
      return 'the server is starting up or shutting down (57P03)';
    case 'ECONNREFUSED':
      return `nothing accepts connections on ${where} (ECONNREFUSED); is PostgreSQL running there?`;
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return `host "${database.host}" does not resolve (${code})`;
    case 'EAI_AGAIN':
      return `host "${database.host}" could not be resolved now (EAI_AGAIN)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'ECONNRESET':
      return `${where} cannot be reached (${code})`;
  }
  if (/timeout/i.test(message)) return `no answer from ${where} within ${POSTGRES_CONNECT_TIMEOUT_MS / 1000} s`;
  if (/does not support SSL/i.test(message)) return 'the server does not support TLS; use sslmode=disable only on a trusted network';
  if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) return `the server's TLS certificate was not accepted (${code})`;
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code) && message !== '') return `${message} (${code})`;
  return null;
}

/**
 * Runs the first query (`probe`) and turns a failure to connect (missing database, wrong password,
 * unreachable host) into one line naming DATABASE_URL and the cause, exit 78. The password is never in it.
 */
export async function verifyPostgresConnection(database: PostgresDatabaseConfig, probe: () => Promise<unknown>): Promise<void> {
  try {
    await probe();
  } catch (error) {
    const cause = causeOf(error, database);
    if (cause === null) throw error;
    throw new StartupFailureError(`cannot connect to the PostgreSQL database in DATABASE_URL (${database.redactedUrl}): ${cause}`, 78, { cause: error });
  }
}
