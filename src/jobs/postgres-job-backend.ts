import { PostgresBackend } from '@agendajs/postgres-backend';
import pg from 'pg';
import type { PostgresDatabaseConfig } from '../config.js';
import { postgresPoolConfig } from '../db/postgres.js';
import type { Logger } from '../lib/logger.js';
import type { JobBackend } from './job-backend.js';

/** The LISTEN/NOTIFY channel the job backend uses (its state channel is `<name>:state`). */
const POSTGRES_JOBS_CHANNEL = 'audithook_jobs';
/** pg_advisory_lock key serializing the job backend's schema creation across processes (any fixed number). */
const SCHEMA_LOCK_KEY = 7_411_020_901;

/**
 * `@agendajs/postgres-backend` in the application's PostgreSQL database (table agenda_jobs), on a pool
 * of its own, with LISTEN/NOTIFY: a job saved by any process starts at once in a listening one.
 */
export function createPostgresJobBackend(database: PostgresDatabaseConfig, logger: Logger): JobBackend {
  // Our own pool (the backend leaves a pool it is given open): a dropped idle connection is logged, not fatal.
  // As many connections as the ORM's (AUDITHOOK_DB_POOL_SIZE): one held by LISTEN, the rest lock and save jobs.
  const pool = new pg.Pool(postgresPoolConfig(database, database.poolSize));
  pool.on('error', (error) => logger.warn({ err: error }, 'job store connection lost; the pool reconnects'));
  const backend = new SerializedPostgresBackend(pool);
  // The LISTEN connection reports a lost connection as an 'error' event (and reconnects by itself); unheard, it would end the process.
  backend.notificationChannel?.on('error', (error: unknown) => logger.warn({ err: error }, 'job notification channel error; it reconnects'));
  return {
    backend,
    name: backend.name,
    connect: () => backend.connected(),
    async check() {
      await pool.query('select 1');
      return true;
    },
    close: () => pool.end(),
  };
}

/**
 * `@agendajs/postgres-backend`, whose schema creation (CREATE TABLE/INDEX/FUNCTION IF NOT EXISTS, which
 * race when processes start together) runs under an advisory lock, once. Agenda calls connect() from
 * its constructor without handling a failure, so connect() never rejects: connected() reports it.
 */
class SerializedPostgresBackend extends PostgresBackend {
  /** The one connect attempt's outcome: null, or why it failed. */
  private outcome: Promise<unknown> | undefined;

  constructor(private readonly pool: pg.Pool) {
    super({ pool, tableName: 'agenda_jobs', channelName: POSTGRES_JOBS_CHANNEL, ensureSchema: true });
  }

  override connect(): Promise<void> {
    return this.attempt().then(() => undefined);
  }

  /** Resolves once connected; rejects with the reason it could not connect. */
  async connected(): Promise<void> {
    const error = await this.attempt();
    if (error) throw error;
  }

  private attempt(): Promise<unknown> {
    this.outcome ??= this.connectLocked().then(
      () => null,
      (error: unknown) => error ?? new Error('job store connection failed'),
    );
    return this.outcome;
  }

  private async connectLocked(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('select pg_advisory_lock($1)', [SCHEMA_LOCK_KEY]);
      try {
        await super.connect();
      } finally {
        await client.query('select pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  }
}
