import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/sqlite';
import Database from 'better-sqlite3';
import 'reflect-metadata';
import type { DatabaseConfig } from '../config.js';
import type { Logger } from '../lib/logger.js';
import { ensurePrivateDir, ensurePrivateFile, tightenFile } from '../lib/private-files.js';
import { entities } from './entities.js';
import { migrationsList } from './migrations/index.js';
import { DEFAULT_SQLITE_BUSY_TIMEOUT_MS } from './sqlite-busy.js';
import { startCheckpointer, WRITER_CHECKPOINT_PAGES } from './sqlite-checkpointer.js';
import { SharedFileSqliteDialect } from './sqlite-dialect.js';

/** The one ORM options builder, shared by the server, the CLI and mikro-orm.config.ts. */
export function ormOptions(database: DatabaseConfig): Options {
  return {
    dbName: database.path,
    entities,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    migrations: {
      migrationsList,
      path: 'src/db/migrations',
      pathTs: 'src/db/migrations',
      emit: 'ts',
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
    allowGlobalContext: false,
    debug: false,
    forceUtcTimezone: true,
    onCreateConnection: undefined,
  };
}

/**
 * Opens the database (creating its folder 0700 and its file 0600: it holds the audit log in plain
 * text), tunes SQLite for concurrent use, and applies pending migrations. Wider modes on files from
 * an older version are narrowed; a pre-existing folder open to others is only warned about.
 */
export async function openDatabase(
  database: DatabaseConfig,
  /** backgroundCheckpoints: a long-running server checkpoints the WAL from a thread of its own (see sqlite-checkpointer.ts); short CLI runs leave it to SQLite. */
  options: { migrate?: boolean; logger?: Logger; backgroundCheckpoints?: boolean } = {},
): Promise<MikroORM> {
  const dir = dirname(database.path);
  const folder = ensurePrivateDir(dir);
  if (folder.openToOthers) {
    options.logger?.warn({ path: dir }, 'the database folder is accessible to other users; consider chmod 700');
  }
  // SQLite itself would only say SQLITE_CANTOPEN; these fail with the path, which the CLI names in one line.
  accessSync(dir, constants.W_OK);
  if (existsSync(database.path)) accessSync(database.path, constants.R_OK | constants.W_OK);
  const warnNarrowed = (path: string, widenedModeWas: number | null) => {
    if (widenedModeWas !== null) options.logger?.warn({ path, modeWas: widenedModeWas.toString(8) }, 'database file was readable by other users; narrowed to 0600');
  };
  // Created before SQLite opens it, so it never exists with SQLite's default 0644; -wal and -shm copy its mode.
  warnNarrowed(database.path, ensurePrivateFile(database.path).widenedModeWas);
  const native = new Database(database.path, { timeout: DEFAULT_SQLITE_BUSY_TIMEOUT_MS });
  try {
    // Switching to WAL needs a moment of exclusive access: the one place a synchronous busy wait is acceptable (start-up).
    native.pragma('journal_mode = WAL');
    // From here on a lock held elsewhere fails at once and the dialect retries asynchronously (sqlite-busy.ts).
    native.pragma('busy_timeout = 0');
    native.pragma('foreign_keys = ON');
    native.pragma('synchronous = NORMAL');
    // The checkpointer thread does it, off the event loop; inline only as a safety net far above its bound.
    if (options.backgroundCheckpoints) native.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
  } catch (error) {
    native.close();
    throw error;
  }
  for (const companion of [`${database.path}-wal`, `${database.path}-shm`]) warnNarrowed(companion, tightenFile(companion).widenedModeWas);
  const orm = await MikroORM.init({ ...ormOptions(database), driverOptions: new SharedFileSqliteDialect(native, DEFAULT_SQLITE_BUSY_TIMEOUT_MS) });
  if (options.backgroundCheckpoints) {
    const checkpointer = startCheckpointer(
      database.path,
      (message) => options.logger?.error({ path: database.path, error: message }, 'WAL checkpoint failed'),
    );
    const close = orm.close.bind(orm);
    orm.close = async (force?: boolean) => {
      await checkpointer.stop();
      return close(force);
    };
  }
  if (options.migrate !== false) await orm.migrator.up();
  return orm;
}

export { MikroORM };
