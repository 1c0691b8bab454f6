import { whenNotBusy } from '../../db/sqlite-busy.js';
import { randomUUID } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { computeJobState } from 'agenda';
import type {
  JobId,
  JobParameters,
  JobRepository,
  JobRepositoryOptions,
  JobsOverview,
  JobsQueryOptions,
  JobsResult,
  JobsSort,
  JobWithState,
  RemoveJobsOptions,
} from 'agenda';
import { allOf, dataFilterConditions, inList, removeFilterConditions, uniqueConditions } from './job-filters.js';
import type { SqlCondition, SqlValue } from './job-filters.js';
import { JOB_WRITE_COLUMNS, jobStateColumns, jobWriteParams, rowToJob, toEpochMs } from './job-row.js';
import type { JobRow, JobWriteParams } from './job-row.js';
import { assertPlainTableName, jobTableStatements } from './job-table-schema.js';

/** Settings for SqliteJobRepository; SqliteBackend fills in the defaults. */
export interface SqliteJobRepositoryOptions {
  /** Path of the SQLite database file. */
  path: string;
  /** Jobs table name (a plain identifier). */
  tableName: string;
  /** How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. */
  busyTimeoutMs: number;
  /** Whether commits on this connection run SQLite's automatic WAL checkpoints (off when a checkpointer thread does it). */
  autoCheckpoint?: boolean;
  /** Told about failed writes that Agenda ignores or does not await (see SqliteJobStoreErrorHandler). */
  onError?: SqliteJobStoreErrorHandler;
}

/** Which write failed, for the log line of a SqliteJobStoreErrorHandler. */
export interface SqliteJobStoreErrorContext {
  operation: 'saveJobState' | 'removeJobs' | 'unlockJob';
  jobId?: string;
  jobName?: string;
}

/**
 * Receives failures of the writes Agenda swallows: the state saved when a run ends (only a debug log
 * there, and the job then stays locked until its lock lifetime passes), the removal of a completed
 * job, and the unlock it never awaits. Without a handler these failures would go unseen.
 */
export type SqliteJobStoreErrorHandler = (error: unknown, context: SqliteJobStoreErrorContext) => void;

/** saveJobState's "the row is gone" failure: expected when a job is cancelled while it runs, so not reported. */
class JobRowGoneError extends Error {}

/** Named parameters of the find-and-lock statement. */
interface LockNextParams {
  name: string;
  next_scan_at: number;
  lock_deadline: number;
  locked_at: number;
  last_modified_by: string | null;
}

/** Named parameters of the compare-and-set lock of one job. */
interface LockOneParams {
  id: string;
  name: string;
  next_run_at: number | null;
  locked_at: number;
  last_modified_by: string | null;
}

/** Named parameters of saveJobState's update. */
interface StateParams {
  id: string;
  name: string;
  locked_at: number | null;
  next_run_at: number | null;
  last_run_at: number | null;
  last_finished_at: number | null;
  failed_at: number | null;
  fail_count: number | null;
  fail_reason: string | null;
  progress: number | null;
  last_modified_by: string | null;
}

/** Columns computeJobState needs, for the overview query. */
type OverviewRow = Pick<
  JobRow,
  'name' | 'next_run_at' | 'locked_at' | 'last_finished_at' | 'failed_at' | 'repeat_interval' | 'disabled'
>;

const SORT_COLUMNS: Record<keyof JobsSort, { column: string; nullable: boolean }> = {
  nextRunAt: { column: 'next_run_at', nullable: true },
  lastRunAt: { column: 'last_run_at', nullable: true },
  lastFinishedAt: { column: 'last_finished_at', nullable: true },
  priority: { column: 'priority', nullable: false },
  name: { column: 'name', nullable: false },
  data: { column: 'data', nullable: true },
};

const DEFAULT_ORDER_BY = 'next_run_at DESC NULLS LAST, last_run_at DESC NULLS LAST, rowid ASC';

/** Dynamic statements (one per filter shape) kept per connection; past this many the cache starts over. */
const MAX_CACHED_DYNAMIC_STATEMENTS = 200;

/** Pagination input as a whole number >= 0; anything else (missing, negative, NaN) counts as 0. */
function wholeNumberOrZero(value: number | undefined): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.trunc(value) : 0;
}

type Statement<P extends unknown[] | object, R = unknown> = Database.Statement<P, R>;

/** Everything that lives and dies with one open connection. */
interface OpenConnection {
  db: Database.Database;
  getById: Statement<[string], JobRow>;
  insert: Statement<JobWriteParams, JobRow>;
  upsertSingle: Statement<JobWriteParams & { protect_next_run_at: number }, JobRow>;
  updateById: Statement<JobWriteParams, JobRow>;
  saveState: Statement<StateParams>;
  lockNext: Statement<LockNextParams, JobRow>;
  lockOne: Statement<LockOneParams, JobRow>;
  unlockOne: Statement<[string, number | null, number | null]>;
  unlockMany: Statement<[string]>;
  queueSize: Statement<[number], number>;
  distinctNames: Statement<[], string>;
  overviewRows: Statement<[], OverviewRow>;
  purgeAll: Statement<[]>;
  lockNextTx: (params: LockNextParams) => JobRow | undefined;
  lockOneTx: (params: LockOneParams) => JobRow | undefined;
  upsertUniqueTx: (job: JobParameters, unique: Record<string, unknown>, lastModifiedBy: string | null) => JobRow;
  dynamic: Map<string, Statement<SqlValue[], unknown>>;
}

/**
 * Agenda JobRepository on SQLite through better-sqlite3, with its own connection to a database file that
 * other connections and processes may share (WAL mode, busy timeout). Locking is a compare-and-set
 * UPDATE ... RETURNING inside an IMMEDIATE transaction, so two processes never lock the same job.
 */
export class SqliteJobRepository implements JobRepository {
  private readonly options: SqliteJobRepositoryOptions;
  private readonly table: string;
  private connection: OpenConnection | undefined;

  constructor(options: SqliteJobRepositoryOptions) {
    assertPlainTableName(options.tableName);
    if (!Number.isInteger(options.busyTimeoutMs) || options.busyTimeoutMs < 0) {
      throw new Error(`busyTimeoutMs must be a non-negative integer, got ${options.busyTimeoutMs}`);
    }
    this.options = { ...options };
    this.table = `"${options.tableName}"`;
  }

  /** Whether connect() has opened the database (and disconnect() has not closed it since). */
  get isConnected(): boolean {
    return this.connection !== undefined;
  }

  /** Opens the file, switches it to WAL, sets the busy timeout and creates the table and indexes if missing. Idempotent; reopens after disconnect(). */
  async connect(): Promise<void> {
    if (this.connection) return;
    createPrivately(this.options.path);
    const db = new Database(this.options.path, { timeout: this.options.busyTimeoutMs });
    try {
      db.pragma(`busy_timeout = ${this.options.busyTimeoutMs}`);
      db.pragma('journal_mode = WAL');
      if (this.options.autoCheckpoint === false) db.pragma('wal_autocheckpoint = 0'); // the application's connection keeps SQLite's safety net
      db.transaction(() => {
        for (const statement of jobTableStatements(this.options.tableName)) db.exec(statement);
      }).immediate();
      this.connection = this.prepare(db);
      // From here on a lock held elsewhere fails at once and whenNotBusy retries without blocking.
      db.pragma('busy_timeout = 0');
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Closes this repository's connection; the file and other connections to it are unaffected. */
  async disconnect(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    connection?.db.close();
  }

  private prepare(db: Database.Database): OpenConnection {
    const t = this.table;
    const columns = JOB_WRITE_COLUMNS.join(', ');
    const values = JOB_WRITE_COLUMNS.map((c) => (c === 'disabled' ? 'COALESCE(@disabled, 0)' : `@${c}`)).join(', ');
    const lockNext = db.prepare<LockNextParams, JobRow>(
      `UPDATE ${t} SET locked_at = @locked_at, last_modified_by = @last_modified_by
       WHERE id = (
         SELECT id FROM ${t}
         WHERE name = @name AND disabled = 0
           AND ((locked_at IS NULL AND next_run_at <= @next_scan_at) OR locked_at <= @lock_deadline)
         ORDER BY next_run_at ASC NULLS LAST, priority DESC, rowid ASC
         LIMIT 1
       )
       RETURNING *`,
    );
    const lockOne = db.prepare<LockOneParams, JobRow>(
      `UPDATE ${t} SET locked_at = @locked_at, last_modified_by = @last_modified_by
       WHERE id = @id AND name = @name AND locked_at IS NULL AND next_run_at IS @next_run_at AND disabled = 0
       RETURNING *`,
    );
    return {
      db,
      getById: db.prepare<[string], JobRow>(`SELECT * FROM ${t} WHERE id = ?`),
      insert: db.prepare<JobWriteParams, JobRow>(`INSERT INTO ${t} (${columns}) VALUES (${values}) RETURNING *`),
      // One row per name for type 'single'. A due or overdue nextRunAt (what a restart's agenda.every()
      // computes) must not pull an already scheduled run forward, so it only fills a missing one.
      upsertSingle: db.prepare<JobWriteParams & { protect_next_run_at: number }, JobRow>(
        `INSERT INTO ${t} (${columns}) VALUES (${values})
         ON CONFLICT (name) WHERE type = 'single' DO UPDATE SET
           priority = excluded.priority,
           next_run_at = CASE WHEN @protect_next_run_at = 1
             THEN COALESCE(${t}.next_run_at, excluded.next_run_at) ELSE excluded.next_run_at END,
           repeat_interval = excluded.repeat_interval,
           repeat_timezone = excluded.repeat_timezone,
           repeat_at = excluded.repeat_at,
           start_date = excluded.start_date,
           end_date = excluded.end_date,
           skip_days = excluded.skip_days,
           data = excluded.data,
           disabled = COALESCE(@disabled, ${t}.disabled),
           fork = excluded.fork,
           last_modified_by = excluded.last_modified_by
         RETURNING *`,
      ),
      // saveJob's update leaves lockedAt, lastRunAt, lastFinishedAt, failedAt, failCount, failReason and
      // progress alone: they belong to the processor (saveJobState), and Job.save() never sends them.
      updateById: db.prepare<JobWriteParams, JobRow>(
        `UPDATE ${t} SET
           type = @type,
           priority = @priority,
           next_run_at = @next_run_at,
           repeat_interval = @repeat_interval,
           repeat_timezone = @repeat_timezone,
           repeat_at = @repeat_at,
           start_date = @start_date,
           end_date = @end_date,
           skip_days = @skip_days,
           data = @data,
           disabled = COALESCE(@disabled, disabled),
           fork = @fork,
           debounce_started_at = @debounce_started_at,
           last_modified_by = @last_modified_by
         WHERE id = @id AND name = @name
         RETURNING *`,
      ),
      saveState: db.prepare<StateParams>(
        `UPDATE ${t} SET
           locked_at = @locked_at,
           next_run_at = @next_run_at,
           last_run_at = @last_run_at,
           last_finished_at = @last_finished_at,
           failed_at = @failed_at,
           fail_count = @fail_count,
           fail_reason = @fail_reason,
           progress = @progress,
           last_modified_by = @last_modified_by
         WHERE id = @id AND name = @name`,
      ),
      lockNext,
      lockOne,
      // A job without nextRunAt is a one-time job that is running now; its lock must stay. When the caller
      // says which lock it holds, only that lock is released, never one taken since by another process.
      unlockOne: db.prepare<[string, number | null, number | null]>(
        `UPDATE ${t} SET locked_at = NULL
         WHERE id = ? AND next_run_at IS NOT NULL AND (? IS NULL OR locked_at = ?)`,
      ),
      unlockMany: db.prepare<[string]>(
        `UPDATE ${t} SET locked_at = NULL WHERE ${inList('id', []).sql}`,
      ),
      queueSize: db.prepare<[number], number>(`SELECT COUNT(*) FROM ${t} WHERE next_run_at < ?`).pluck(),
      distinctNames: db.prepare<[], string>(`SELECT DISTINCT name FROM ${t} ORDER BY name`).pluck(),
      overviewRows: db.prepare<[], OverviewRow>(
        `SELECT name, next_run_at, locked_at, last_finished_at, failed_at, repeat_interval, disabled FROM ${t} ORDER BY name`,
      ),
      purgeAll: db.prepare<[]>(`DELETE FROM ${t}`),
      lockNextTx: db.transaction((params: LockNextParams) => lockNext.get(params)).immediate,
      lockOneTx: db.transaction((params: LockOneParams) => lockOne.get(params)).immediate,
      // Find-then-write under the write lock, so two processes cannot both insert the same unique job.
      upsertUniqueTx: db.transaction(
        (job: JobParameters, unique: Record<string, unknown>, lastModifiedBy: string | null) =>
          this.upsertUnique(job, unique, lastModifiedBy),
      ).immediate,
      dynamic: new Map(),
    };
  }

  private open(): OpenConnection {
    if (!this.connection) {
      throw new Error(`SQLite job repository for ${this.options.path} is not connected; call connect() first`);
    }
    return this.connection;
  }

  /** Prepared statement for a filter-shaped query, reused while the shape (not the values) repeats. */
  private dynamicStatement<R>(sql: string): Statement<SqlValue[], R> {
    const connection = this.open();
    let statement = connection.dynamic.get(sql);
    if (!statement) {
      if (connection.dynamic.size >= MAX_CACHED_DYNAMIC_STATEMENTS) connection.dynamic.clear();
      statement = connection.db.prepare<SqlValue[], unknown>(sql);
      connection.dynamic.set(sql, statement);
    }
    return statement as Statement<SqlValue[], R>;
  }

  /** Runs a write without blocking the event loop on another connection's lock (see sqlite-busy.ts). */
  private whenNotBusy<T>(work: () => T): Promise<T> {
    return whenNotBusy(work, this.options.busyTimeoutMs);
  }

  async getJobById(id: string): Promise<JobParameters | null> {
    const row = this.open().getById.get(String(id));
    return row ? rowToJob(row) : null;
  }

  async queryJobs(options: JobsQueryOptions = {}): Promise<JobsResult> {
    const { state } = options;
    const skip = wholeNumberOrZero(options.skip);
    const limit = wholeNumberOrZero(options.limit); // 0: no limit
    const conditions: SqlCondition[] = [];
    if (options.name) conditions.push({ sql: 'name = ?', params: [options.name] });
    else if (options.names && options.names.length > 0) conditions.push(inList('name', options.names));
    if (options.id) conditions.push({ sql: 'id = ?', params: [String(options.id)] });
    else if (options.ids && options.ids.length > 0) conditions.push(inList('id', options.ids.map(String)));
    if (options.search) {
      // LIKE is case-insensitive for ASCII; the user's % and _ are literal characters, not wildcards.
      const literal = String(options.search).replace(/[\\%_]/g, '\\$&');
      conditions.push({ sql: "name LIKE ? ESCAPE '\\'", params: [`%${literal}%`] });
    }
    if (options.data !== undefined) conditions.push(...dataFilterConditions(options.data));
    if (options.includeDisabled === false) conditions.push({ sql: 'disabled = 0', params: [] });
    // 'paused' is the disabled flag rather than a timestamp-derived state, so SQL can filter it.
    if (state === 'paused') conditions.push({ sql: 'disabled = 1', params: [] });
    const where = allOf(conditions);
    const orderBy = this.orderByClause(options.sort);
    const now = new Date();
    const withState = (row: JobRow): JobWithState => {
      const job = rowToJob(row);
      return { ...job, _id: job._id as JobId, state: computeJobState(job, now) };
    };

    if (state === undefined || state === 'paused') {
      const db = this.open().db;
      return db.transaction(() => {
        const total = this.dynamicStatement<number>(`SELECT COUNT(*) FROM ${this.table} WHERE ${where.sql}`)
          .pluck()
          .get(...where.params) ?? 0;
        const rows = this.dynamicStatement<JobRow>(
          `SELECT * FROM ${this.table} WHERE ${where.sql} ORDER BY ${orderBy} LIMIT ? OFFSET ?`,
        ).all(...where.params, limit > 0 ? limit : -1, skip);
        return { jobs: rows.map(withState), total };
      })();
    }

    // Other states depend on several timestamps and the clock; compute them exactly as Agenda does.
    const rows = this.dynamicStatement<JobRow>(`SELECT * FROM ${this.table} WHERE ${where.sql} ORDER BY ${orderBy}`).all(
      ...where.params,
    );
    const matching = rows.map(withState).filter((job) => job.state === state);
    return { jobs: matching.slice(skip, limit > 0 ? skip + limit : undefined), total: matching.length };
  }

  private orderByClause(sort: JobsSort | undefined): string {
    const parts: string[] = [];
    for (const [key, direction] of Object.entries(sort ?? {})) {
      if (!Object.hasOwn(SORT_COLUMNS, key) || direction === undefined) continue;
      const spec = SORT_COLUMNS[key as keyof JobsSort];
      const sqlDirection = direction === 'asc' ? 'ASC' : 'DESC';
      parts.push(`${spec.column} ${sqlDirection}${spec.nullable ? ' NULLS LAST' : ''}`);
    }
    return parts.length > 0 ? `${parts.join(', ')}, rowid ASC` : DEFAULT_ORDER_BY;
  }

  async getJobsOverview(): Promise<JobsOverview[]> {
    const now = new Date();
    const overviews = new Map<string, JobsOverview>();
    for (const row of this.open().overviewRows.iterate()) {
      let overview = overviews.get(row.name);
      if (!overview) {
        overview = { name: row.name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 };
        overviews.set(row.name, overview);
      }
      const state = computeJobState(
        {
          name: row.name,
          priority: 0,
          type: 'normal',
          data: undefined,
          nextRunAt: row.next_run_at === null ? null : new Date(row.next_run_at),
          ...(row.locked_at !== null && { lockedAt: new Date(row.locked_at) }),
          ...(row.last_finished_at !== null && { lastFinishedAt: new Date(row.last_finished_at) }),
          ...(row.failed_at !== null && { failedAt: new Date(row.failed_at) }),
          ...(row.repeat_interval !== null && { repeatInterval: row.repeat_interval }),
        },
        now,
      );
      overview.total += 1;
      overview[state] += 1;
      if (row.disabled === 1) overview.paused += 1;
    }
    return [...overviews.values()];
  }

  async getDistinctJobNames(): Promise<string[]> {
    return this.open().distinctNames.all();
  }

  async getQueueSize(): Promise<number> {
    return this.open().queueSize.get(Date.now()) ?? 0;
  }

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    try {
      return await this.whenNotBusy(() => {
        return this.runFiltered('DELETE FROM', '', options);
      });
    } catch (error) {
      this.report(error, { operation: 'removeJobs', ...(options?.id !== undefined && { jobId: String(options.id) }) });
      throw error;
    }
  }

  /** Hands a failed write to the onError handler; a handler that throws must not replace the original error. */
  private report(error: unknown, context: SqliteJobStoreErrorContext): void {
    try {
      this.options.onError?.(error, context);
    } catch {
      // the caller rethrows (or deliberately drops) the original error
    }
  }

  async disableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.whenNotBusy(() => {
      return this.runFiltered('UPDATE', 'SET disabled = 1', options);
    });
  }

  async enableJobs(options: RemoveJobsOptions): Promise<number> {
    return this.whenNotBusy(() => {
      return this.runFiltered('UPDATE', 'SET disabled = 0', options);
    });
  }

  /** Runs a DELETE/UPDATE restricted by the filter; an empty filter touches nothing and returns 0. */
  private runFiltered(verb: 'DELETE FROM' | 'UPDATE', set: string, options: RemoveJobsOptions): number {
    const conditions = removeFilterConditions(options ?? {});
    if (conditions.length === 0) return 0;
    const where = allOf(conditions);
    return this.dynamicStatement(`${verb} ${this.table} ${set} WHERE ${where.sql}`).run(...where.params).changes;
  }

  async purgeAllJobs(): Promise<number> {
    return this.whenNotBusy(() => {
      return this.open().purgeAll.run().changes;
    });
  }

  async saveJob<DATA = unknown>(
    job: JobParameters<DATA>,
    options: JobRepositoryOptions | undefined,
  ): Promise<JobParameters<DATA>> {
    return this.whenNotBusy(() => {
      const connection = this.open();
      const lastModifiedBy = options?.lastModifiedBy ?? null;

      if (job._id) {
        const row = connection.updateById.get(jobWriteParams(String(job._id), job, lastModifiedBy));
        // Removed meanwhile (e.g. cancelled while running): like the other backends, do not resurrect it.
        return row ? rowToJob<DATA>(row) : job;
      }

      if (job.type === 'single') {
        const params = jobWriteParams(randomUUID(), job, lastModifiedBy);
        const protect = params.next_run_at !== null && params.next_run_at <= Date.now() ? 1 : 0;
        return rowToJob<DATA>(connection.upsertSingle.get({ ...params, protect_next_run_at: protect })!);
      }

      if (job.unique) return rowToJob<DATA>(connection.upsertUniqueTx(job, job.unique, lastModifiedBy));

      return rowToJob<DATA>(connection.insert.get(jobWriteParams(randomUUID(), job, lastModifiedBy))!);
    });
  }

  /** The unique-constraint save (call inside an IMMEDIATE transaction): insertOnly, debounce, else update the match or insert. */
  private upsertUnique(job: JobParameters, unique: Record<string, unknown>, lastModifiedBy: string | null): JobRow {
    const connection = this.open();
    const match = allOf([{ sql: 'name = ?', params: [job.name] }, ...uniqueConditions(unique)]);
    const existing = this.dynamicStatement<JobRow>(
      `SELECT * FROM ${this.table} WHERE ${match.sql} ORDER BY rowid ASC LIMIT 1`,
    ).get(...match.params);
    const debounce = job.uniqueOpts?.debounce;

    if (existing && job.uniqueOpts?.insertOnly && !debounce) return existing;

    const params = jobWriteParams(existing?.id ?? randomUUID(), job, lastModifiedBy);
    if (debounce) {
      const nowMs = Date.now();
      const startedMs = existing?.debounce_started_at ?? null;
      if (debounce.strategy === 'leading') {
        // The first save of a burst runs as scheduled (normally now); later saves within `delay` of it
        // only update the data. After the window a save starts a new burst, so it runs again.
        if (existing && startedMs !== null && nowMs - startedMs < debounce.delay) {
          params.next_run_at = existing.next_run_at;
          params.debounce_started_at = startedMs;
        } else {
          params.debounce_started_at = nowMs;
        }
      } else {
        // Trailing: every save pushes the run `delay` past itself while a run is pending; once the job
        // has run (nextRunAt cleared) the next save opens a new window rather than inheriting the old start.
        const runPending = existing !== undefined && existing.next_run_at !== null;
        const windowStartMs = runPending ? (startedMs ?? nowMs) : nowMs;
        if (runPending && debounce.maxWait !== undefined && nowMs - windowStartMs >= debounce.maxWait) {
          params.next_run_at = nowMs; // waited maxWait already: run now, the next save opens a new window
          params.debounce_started_at = null;
        } else {
          params.next_run_at = nowMs + debounce.delay;
          params.debounce_started_at = windowStartMs;
        }
      }
    }

    if (existing) return connection.updateById.get(params)!;
    return connection.insert.get(params)!;
  }

  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    try {
      await this.whenNotBusy(() => {
        if (!job._id) throw new Error('Cannot save job state without job ID');
        const result = this.open().saveState.run({
          id: String(job._id),
          name: job.name,
          ...jobStateColumns(job),
          last_modified_by: options?.lastModifiedBy ?? null,
        });
        if (result.changes !== 1) {
          throw new JobRowGoneError(
            `job ${String(job._id)} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`,
          );
        }
      });
    } catch (error) {
      if (!(error instanceof JobRowGoneError)) {
        this.report(error, { operation: 'saveJobState', ...(job._id !== undefined && { jobId: String(job._id) }), jobName: job.name });
      }
      throw error;
    }
  }

  /** Locks this exact job if it is still unlocked, enabled and due at the nextRunAt the caller saw. */
  async lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    return this.whenNotBusy(() => {
      if (!job._id) return undefined;
      const row = this.open().lockOneTx({
        id: String(job._id),
        name: job.name,
        next_run_at: toEpochMs(job.nextRunAt),
        locked_at: Date.now(),
        last_modified_by: options?.lastModifiedBy ?? null,
      });
      return row ? rowToJob(row) : undefined;
    });
  }

  /**
   * Releases the lock the caller holds. Agenda calls this without awaiting it, so with an onError
   * handler a failure is reported and the promise resolves (the lock then expires after its lifetime)
   * instead of becoming an unhandled rejection; without one it rejects as before.
   */
  async unlockJob(job: JobParameters): Promise<void> {
    try {
      await this.whenNotBusy(() => {
        if (!job._id) return;
        const heldLockMs = toEpochMs(job.lockedAt);
        this.open().unlockOne.run(String(job._id), heldLockMs, heldLockMs);
      });
    } catch (error) {
      if (!this.options.onError) throw error;
      this.report(error, { operation: 'unlockJob', ...(job._id !== undefined && { jobId: String(job._id) }), jobName: job.name });
    }
  }

  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    return this.whenNotBusy(() => {
      if (jobIds.length === 0) return;
      this.open().unlockMany.run(JSON.stringify(jobIds.map(String)));
    });
  }

  /**
   * Locks and returns the next job of `jobName` to run: enabled, and either unlocked and due before
   * `nextScanAt`, or locked before `lockDeadline` (its worker died or overran lockLifetime). Earliest
   * nextRunAt first, then higher priority, then oldest.
   */
  async getNextJobToRun(
    jobName: string,
    nextScanAt: Date,
    lockDeadline: Date,
    now: Date | undefined,
    options: JobRepositoryOptions | undefined,
  ): Promise<JobParameters | undefined> {
    return this.whenNotBusy(() => {
      const row = this.open().lockNextTx({
        name: jobName,
        next_scan_at: toEpochMs(nextScanAt)!,
        lock_deadline: toEpochMs(lockDeadline)!,
        locked_at: toEpochMs(now) ?? Date.now(),
        last_modified_by: options?.lastModifiedBy ?? null,
      });
      return row ? rowToJob(row) : undefined;
    });
  }
}

/**
 * Creates a missing database file empty with mode 0600 before SQLite would create it 0644 (its -wal
 * and -shm files copy the database file's mode): jobs carry audit data. Existing files are left alone.
 */
function createPrivately(path: string): void {
  if (path === ':memory:' || path === '' || path.startsWith('file:')) return;
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch {
    // EEXIST: an existing file keeps its mode; anything else (a missing folder...) better-sqlite3 reports when opening.
  }
}
