import { toJobId } from 'agenda';
import type { JobParameters } from 'agenda';

/** One row of the jobs table as better-sqlite3 returns it: dates are epoch milliseconds, `data` is JSON text. */
export interface JobRow {
  id: string;
  name: string;
  type: string;
  priority: number;
  next_run_at: number | null;
  locked_at: number | null;
  last_run_at: number | null;
  last_finished_at: number | null;
  failed_at: number | null;
  fail_count: number | null;
  fail_reason: string | null;
  progress: number | null;
  repeat_interval: string | number | null;
  repeat_timezone: string | null;
  repeat_at: string | null;
  start_date: number | null;
  end_date: number | null;
  skip_days: string | null;
  data: string | null;
  disabled: number;
  fork: number;
  debounce_started_at: number | null;
  last_modified_by: string | null;
}

/** Named bind values for writing a whole job row; `disabled` null means "keep what is stored" on updates. */
export interface JobWriteParams {
  id: string;
  name: string;
  type: 'normal' | 'single';
  priority: number;
  next_run_at: number | null;
  locked_at: number | null;
  last_run_at: number | null;
  last_finished_at: number | null;
  failed_at: number | null;
  fail_count: number | null;
  fail_reason: string | null;
  progress: number | null;
  repeat_interval: string | number | null;
  repeat_timezone: string | null;
  repeat_at: string | null;
  start_date: number | null;
  end_date: number | null;
  skip_days: string | null;
  data: string | null;
  disabled: number | null;
  fork: number;
  debounce_started_at: number | null;
  last_modified_by: string | null;
}

/** Column list of JobWriteParams in a fixed order, shared by the INSERT statements. */
export const JOB_WRITE_COLUMNS = [
  'id',
  'name',
  'type',
  'priority',
  'next_run_at',
  'locked_at',
  'last_run_at',
  'last_finished_at',
  'failed_at',
  'fail_count',
  'fail_reason',
  'progress',
  'repeat_interval',
  'repeat_timezone',
  'repeat_at',
  'start_date',
  'end_date',
  'skip_days',
  'data',
  'disabled',
  'fork',
  'debounce_started_at',
  'last_modified_by',
] as const satisfies readonly (keyof JobWriteParams)[];

/** Converts a Date (or anything `new Date()` accepts, as forked workers may hand over strings) to epoch ms; null/undefined stay null. */
export function toEpochMs(value: Date | string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : new Date(value).getTime();
  if (!Number.isFinite(ms)) throw new TypeError(`Invalid date for a job field: ${String(value)}`);
  return ms;
}

function toDate(ms: number | null): Date | undefined {
  return ms === null ? undefined : new Date(ms);
}

/** Serialises job data; undefined (a job created without data) is stored as SQL NULL, not the text 'null'. */
export function toDataJson(data: unknown): string | null {
  if (data === undefined) return null;
  return JSON.stringify(data) ?? null;
}

/**
 * A failure reason as text, so saving it can never throw: Agenda stores whatever reached `job.fail()`,
 * which in fork mode is the child's error parsed from JSON (a plain object), and may be any thrown value.
 * Strings stay as they are, errors and error-like objects give their message, other objects their JSON.
 */
export function toFailReasonText(reason: unknown): string | null {
  if (reason === null || reason === undefined) return null;
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error) return reason.message;
  if (typeof reason === 'object') {
    const { message } = reason as { message?: unknown };
    if (typeof message === 'string') return message;
    try {
      return JSON.stringify(reason) ?? String(reason);
    } catch {
      return String(reason); // circular or holding a bigint
    }
  }
  return String(reason);
}

/** Progress as a finite number (numeric strings are converted) or null, so a stray value cannot fail the save. */
export function toProgressNumber(progress: unknown): number | null {
  if (progress === null || progress === undefined || typeof progress === 'boolean') return null;
  const value = typeof progress === 'number' ? progress : typeof progress === 'string' && progress.trim() !== '' ? Number(progress) : NaN;
  return Number.isFinite(value) ? value : null;
}

/** The columns the job processor owns (lock, schedule, runs, failures, progress), shared by inserts and saveJobState. */
export function jobStateColumns(job: JobParameters) {
  return {
    next_run_at: toEpochMs(job.nextRunAt),
    locked_at: toEpochMs(job.lockedAt),
    last_run_at: toEpochMs(job.lastRunAt),
    last_finished_at: toEpochMs(job.lastFinishedAt),
    failed_at: toEpochMs(job.failedAt),
    fail_count: job.failCount ?? null,
    fail_reason: toFailReasonText(job.failReason),
    progress: toProgressNumber(job.progress),
  };
}

/**
 * Bind values for a job's fields. Processor-managed fields (lockedAt, lastRunAt, ...) are included so an
 * INSERT can carry them; the UPDATE used by saveJob deliberately does not reference them.
 */
export function jobWriteParams(id: string, job: JobParameters, lastModifiedBy: string | null): JobWriteParams {
  return {
    id,
    name: job.name,
    type: job.type === 'single' ? 'single' : 'normal',
    priority: job.priority ?? 0,
    ...jobStateColumns(job),
    repeat_interval: job.repeatInterval ?? null,
    repeat_timezone: job.repeatTimezone ?? null,
    repeat_at: job.repeatAt ?? null,
    start_date: toEpochMs(job.startDate),
    end_date: toEpochMs(job.endDate),
    skip_days: job.skipDays === undefined ? null : JSON.stringify(job.skipDays),
    data: toDataJson(job.data),
    disabled: job.disabled === undefined ? null : job.disabled ? 1 : 0,
    fork: job.fork ? 1 : 0,
    debounce_started_at: toEpochMs(job.debounceStartedAt),
    last_modified_by: lastModifiedBy,
  };
}

/**
 * Turns a stored row into the JobParameters shape Agenda expects: Date objects, `nextRunAt` null (never
 * undefined) when there is no next run, and optional fields left out when the column is NULL.
 */
export function rowToJob<DATA = unknown>(row: JobRow): JobParameters<DATA> {
  const job: JobParameters<DATA> = {
    _id: toJobId(row.id),
    name: row.name,
    type: row.type === 'single' ? 'single' : 'normal',
    priority: row.priority,
    nextRunAt: row.next_run_at === null ? null : new Date(row.next_run_at),
    data: (row.data === null ? undefined : JSON.parse(row.data)) as DATA,
    disabled: row.disabled === 1,
  };
  const lockedAt = toDate(row.locked_at);
  if (lockedAt) job.lockedAt = lockedAt;
  const lastRunAt = toDate(row.last_run_at);
  if (lastRunAt) job.lastRunAt = lastRunAt;
  const lastFinishedAt = toDate(row.last_finished_at);
  if (lastFinishedAt) job.lastFinishedAt = lastFinishedAt;
  const failedAt = toDate(row.failed_at);
  if (failedAt) job.failedAt = failedAt;
  if (row.fail_count !== null) job.failCount = row.fail_count;
  if (row.fail_reason !== null) job.failReason = row.fail_reason;
  if (row.progress !== null) job.progress = row.progress;
  if (row.repeat_interval !== null) job.repeatInterval = row.repeat_interval;
  if (row.repeat_timezone !== null) job.repeatTimezone = row.repeat_timezone;
  if (row.repeat_at !== null) job.repeatAt = row.repeat_at;
  const startDate = toDate(row.start_date);
  if (startDate) job.startDate = startDate;
  const endDate = toDate(row.end_date);
  if (endDate) job.endDate = endDate;
  if (row.skip_days !== null) job.skipDays = JSON.parse(row.skip_days) as number[];
  if (row.fork === 1) job.fork = true;
  const debounceStartedAt = toDate(row.debounce_started_at);
  if (debounceStartedAt) job.debounceStartedAt = debounceStartedAt;
  if (row.last_modified_by !== null) job.lastModifiedBy = row.last_modified_by;
  return job;
}
