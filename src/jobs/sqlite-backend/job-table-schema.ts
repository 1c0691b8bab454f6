/** Default jobs table name, the same one Agenda's other SQL backend uses, so operators recognise it. */
export const DEFAULT_JOBS_TABLE_NAME = 'agenda_jobs';

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Rejects table names that are not plain identifiers, because the name is spliced into SQL text. */
export function assertPlainTableName(tableName: string): void {
  if (!PLAIN_IDENTIFIER.test(tableName)) {
    throw new Error(
      `SQLite jobs table name must be a plain identifier (letters, digits, underscore; at most 63 characters), got ${JSON.stringify(tableName)}`,
    );
  }
}

/**
 * Statements that create the jobs table and its indexes when missing; safe to run on every connect.
 *
 * Dates are INTEGER epoch milliseconds, `data` and `skip_days` are JSON text. `repeat_interval` has no
 * declared type so SQLite keeps a number as a number and a string ('5 minutes', a cron line) as text.
 */
export function jobTableStatements(tableName: string): string[] {
  assertPlainTableName(tableName);
  const table = `"${tableName}"`;
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY NOT NULL,
      name TEXT NOT NULL,
      type TEXT NOT NULL DEFAULT 'normal' CHECK (type IN ('normal', 'single')),
      priority INTEGER NOT NULL DEFAULT 0,
      next_run_at INTEGER,
      locked_at INTEGER,
      last_run_at INTEGER,
      last_finished_at INTEGER,
      failed_at INTEGER,
      fail_count INTEGER,
      fail_reason TEXT,
      progress REAL,
      repeat_interval,
      repeat_timezone TEXT,
      repeat_at TEXT,
      start_date INTEGER,
      end_date INTEGER,
      skip_days TEXT,
      data TEXT,
      disabled INTEGER NOT NULL DEFAULT 0,
      fork INTEGER NOT NULL DEFAULT 0,
      debounce_started_at INTEGER,
      last_modified_by TEXT
    )`,
    // Serves both branches of the find-and-lock query: unlocked and due, or locked before the deadline.
    `CREATE INDEX IF NOT EXISTS "${tableName}_find_and_lock_idx" ON ${table} (name, disabled, locked_at, next_run_at)`,
    // One row per name for type 'single' jobs (agenda.every); the upsert's conflict target.
    `CREATE UNIQUE INDEX IF NOT EXISTS "${tableName}_single_name_idx" ON ${table} (name) WHERE type = 'single'`,
    // Queue size and the dashboard's "due" counts.
    `CREATE INDEX IF NOT EXISTS "${tableName}_next_run_at_idx" ON ${table} (next_run_at)`,
  ];
}
