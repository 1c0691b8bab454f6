import type { AgendaBackend } from 'agenda';
import type { DatabaseConfig } from '../config.js';
import type { Logger } from '../lib/logger.js';
import { SqliteBackend } from './sqlite-backend/index.js';

/** The Agenda backend of this process, and how /healthz asks whether it answers. */
export interface JobBackend {
  backend: AgendaBackend;
  /** 'SQLite' or 'PostgreSQL', for /healthz and logs. */
  name: string;
  /** Connects and creates the job table if missing (idempotent; several processes may start at once). */
  connect(): Promise<void>;
  /** Whether the job store answers now. */
  check(): Promise<boolean>;
  /** Releases what the backend holds beyond Agenda's own stop (the PostgreSQL pool); after agenda.stop(). */
  close(): Promise<void>;
}

/**
 * The job store for the configured database, so nothing else knows which one runs: our SQLite
 * backend in the same file, or `@agendajs/postgres-backend` in the same PostgreSQL database, whose
 * LISTEN/NOTIFY channel starts a saved job at once in whichever process is listening and free.
 */
export async function createJobBackend(database: DatabaseConfig, logger: Logger): Promise<JobBackend> {
  if (database.kind === 'sqlite') {
    const backend = new SqliteBackend({
      path: database.path,
      // Agenda ignores these failures (a run's final state, a completed job's removal), so log them here.
      onError: (error, context) => logger.error({ err: error, ...context }, 'job store write failed'),
    });
    return {
      backend,
      name: backend.name,
      connect: () => backend.connect(),
      check: async () => backend.repository.isConnected,
      close: async () => undefined,
    };
  }
  // Loaded on demand: a SQLite process never loads pg or the PostgreSQL backend.
  const { createPostgresJobBackend } = await import('./postgres-job-backend.js');
  return createPostgresJobBackend(database, logger);
}
