/** Agenda 6 backend storing jobs in SQLite (better-sqlite3): backend, repository and in-process notification channel. */
export { SqliteBackend, DEFAULT_BUSY_TIMEOUT_MS } from './sqlite-backend.js';
export type { SqliteBackendOptions } from './sqlite-backend.js';
export { SqliteJobRepository } from './sqlite-job-repository.js';
export type {
  SqliteJobRepositoryOptions,
  SqliteJobStoreErrorContext,
  SqliteJobStoreErrorHandler,
} from './sqlite-job-repository.js';
export { SqliteNotificationChannel } from './sqlite-notification-channel.js';
export { DEFAULT_JOBS_TABLE_NAME } from './job-table-schema.js';
