import type { AgendaBackend } from 'agenda';
import { DEFAULT_JOBS_TABLE_NAME } from './job-table-schema.js';
import { SqliteJobRepository, type SqliteJobStoreErrorHandler } from './sqlite-job-repository.js';
import { SqliteNotificationChannel } from './sqlite-notification-channel.js';

/** Where and how the SQLite backend stores Agenda's jobs. */
export interface SqliteBackendOptions {
  /** Path of the SQLite database file (shared with the application's own tables). */
  path: string;
  /** Table name; default 'agenda_jobs'. */
  tableName?: string;
  /** Busy timeout in ms; default 5000. */
  busyTimeoutMs?: number;
  /** False when another part of the process checkpoints the file's WAL off the event loop; default true (SQLite's own automatic checkpoints). */
  autoCheckpoint?: boolean;
  /** Told about failed writes Agenda would otherwise swallow (e.g. the state saved when a run ends); log them. */
  onError?: SqliteJobStoreErrorHandler;
}

/** Default for SqliteBackendOptions.busyTimeoutMs: long enough to ride out another process's short write transactions. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Agenda 6 backend that keeps jobs in a SQLite file, so a single-binary deployment needs no MongoDB,
 * PostgreSQL or Redis. Several processes may share the file; each locks jobs atomically. Jobs saved in
 * this process run at once through an in-process notification channel; jobs saved by other processes
 * are found by Agenda's `processEvery` poll.
 *
 * @example new Agenda({ backend: new SqliteBackend({ path: 'data/audithook.sqlite' }), processEvery: '5 seconds' })
 */
export class SqliteBackend implements AgendaBackend {
  readonly name = 'SQLite';
  /** The backend opens its own connection, so agenda.stop()/drain() close it by default. */
  readonly ownsConnection = true;
  readonly repository: SqliteJobRepository;
  readonly notificationChannel: SqliteNotificationChannel;

  constructor(options: SqliteBackendOptions) {
    if (typeof options?.path !== 'string' || options.path.length === 0) {
      throw new Error('SqliteBackend needs options.path, the SQLite database file');
    }
    this.repository = new SqliteJobRepository({
      path: options.path,
      tableName: options.tableName ?? DEFAULT_JOBS_TABLE_NAME,
      busyTimeoutMs: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS,
      autoCheckpoint: options.autoCheckpoint ?? true,
      ...(options.onError && { onError: options.onError }),
    });
    this.notificationChannel = new SqliteNotificationChannel();
  }

  /** Opens the database and ensures the table; Agenda calls this from its constructor. */
  async connect(): Promise<void> {
    await this.repository.connect();
  }

  /** Closes the database connection; the notification channel is disconnected by Agenda itself. */
  async disconnect(): Promise<void> {
    await this.repository.disconnect();
  }
}
