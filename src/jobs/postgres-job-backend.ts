import { PostgresBackend } from '@agendajs/postgres-backend';
import type { JobNotification, JobParameters, JobRepositoryOptions } from 'agenda';
import pg from 'pg';
import type { PostgresDatabaseConfig } from '../config.js';
import { postgresPoolConfig } from '../db/postgres.js';
import type { Logger } from '../lib/logger.js';
import type { JobBackend } from './job-backend.js';

/** The LISTEN/NOTIFY channel the job backend uses (its state channel is `<name>:state`). */
const POSTGRES_JOBS_CHANNEL = 'audithook_jobs';
/** pg_advisory_lock key serializing the job backend's schema creation across processes (any fixed number). */
const SCHEMA_LOCK_KEY = 7_411_020_901;
/** The job table (the name Agenda's SQL backends use), in the application's database. */
const JOBS_TABLE = 'agenda_jobs';
/**
 * How many due jobs one lock statement takes. Agenda locks one job per statement and repeats until
 * none is due; after a burst (a hundred retries due at once) that was a hundred sequential round
 * trips before the last of them, a healthy tenant's job among them, could start.
 */
const LOCK_BATCH_SIZE = 50;
/**
 * The job data key every deliver job is saved and found by (`unique({ 'data.deliveryId': … })`): the
 * backend looks it up as `data->>'deliveryId'`, which without this index reads the whole job table on
 * every save (a backlog of n jobs made each save O(n)).
 */
const LOOKUP_INDEX_SQL = `create index if not exists ${JOBS_TABLE}_delivery_id_idx on ${JOBS_TABLE} ((data->>'deliveryId'))`;

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

/** The repository's own row → job conversion (not part of its typed API; @agendajs/postgres-backend is pinned exactly). */
type RowConverter = { rowToJob(row: unknown): JobParameters };

/**
 * Makes the repository's getNextJobToRun lock up to LOCK_BATCH_SIZE due jobs in one statement (same
 * conditions and order as its own, FOR UPDATE SKIP LOCKED) and hand them out one per call from this
 * process's buffer; Agenda's queue fill calls it until it returns nothing, so a fill of n jobs costs
 * about n / LOCK_BATCH_SIZE round trips instead of n + 1. A buffered job is locked like one Agenda
 * locked: if this process dies first, its lock expires after the lock lifetime like any other.
 */
function lockInBatches(repository: PostgresBackend['repository'], pool: pg.Pool): void {
  const buffers = new Map<string, JobParameters[]>();
  /** Job names whose last lock statement found fewer than a batch: the fill that emptied the buffer ends there. */
  const drained = new Set<string>();
  const convert = repository as unknown as RowConverter;
  repository.getNextJobToRun = async (jobName: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, options: JobRepositoryOptions | undefined) => {
    const buffered = buffers.get(jobName);
    if (buffered && buffered.length > 0) return buffered.shift();
    // Saves the fill's final, empty lock statement; a job saved since has its own notification (another fill).
    if (drained.delete(jobName)) return undefined;
    const result = await pool.query(
      `update ${JOBS_TABLE} set locked_at = $1, last_modified_by = $5
        where id in (
          select id from ${JOBS_TABLE}
           where name = $2 and disabled = false
             and ((locked_at is null and next_run_at <= $3) or locked_at <= $4)
           order by next_run_at asc nulls last, priority desc
           limit $6
           for update skip locked)
        returning *`,
      [now ?? new Date(), jobName, nextScanAt, lockDeadline, options?.lastModifiedBy ?? null, LOCK_BATCH_SIZE],
    );
    const jobs = result.rows.map((row) => convert.rowToJob(row));
    // RETURNING keeps no order: due first, as Agenda's own query would hand them out.
    jobs.sort((a, b) => (a.nextRunAt?.getTime() ?? Infinity) - (b.nextRunAt?.getTime() ?? Infinity) || (b.priority ?? 0) - (a.priority ?? 0));
    if (jobs.length > 0 && jobs.length < LOCK_BATCH_SIZE) drained.add(jobName);
    const first = jobs.shift();
    if (jobs.length > 0) buffers.set(jobName, jobs);
    return first;
  };
}

/**
 * Agenda answers every job notification with a fill of its queue (lock queries until none is due);
 * a burst of saves (a hundred retries at once) started as many fills side by side, racing for the
 * same rows and each ending with an empty lock query. This lets one fill per job name run at a time:
 * notifications heard meanwhile become one more fill after it, for the earliest-due of them (a fill
 * locks every due job, so nothing waits for the next regular scan).
 */
function oneFillAtATime(handler: (notification: JobNotification) => void | Promise<void>): (notification: JobNotification) => Promise<void> | void {
  const lanes = new Map<string, { next: JobNotification | null }>();
  const earlier = (a: JobNotification, b: JobNotification) => !a.nextRunAt || (!!b.nextRunAt && a.nextRunAt < b.nextRunAt);
  return (notification) => {
    const lane = lanes.get(notification.jobName);
    if (lane) {
      if (!lane.next || earlier(notification, lane.next)) lane.next = notification;
      return;
    }
    const state = { next: notification as JobNotification | null };
    lanes.set(notification.jobName, state);
    return (async () => {
      try {
        while (state.next) {
          const current = state.next;
          state.next = null;
          await handler(current); // Agenda's handler catches its own failures (emitted as 'error')
        }
      } finally {
        lanes.delete(notification.jobName);
      }
    })();
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
    super({ pool, tableName: JOBS_TABLE, channelName: POSTGRES_JOBS_CHANNEL, ensureSchema: true });
    lockInBatches(this.repository, pool);
    const channel = this.notificationChannel;
    if (!channel) return;
    // No job state notifications (start, success, complete… of every run, one NOTIFY each, heard by every
    // process): nothing here listens to another process's runs, and they were an eighth of all statements
    // under load. Agenda publishes them only when the channel has publishState.
    Object.defineProperty(channel, 'publishState', { value: undefined });
    const subscribe = channel.subscribe.bind(channel);
    channel.subscribe = (handler) => subscribe(oneFillAtATime(handler));
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
        await client.query(LOOKUP_INDEX_SQL);
      } finally {
        await client.query('select pg_advisory_unlock($1)', [SCHEMA_LOCK_KEY]);
      }
    } finally {
      client.release();
    }
  }
}
