import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/sql';
import Database from 'better-sqlite3';
import 'reflect-metadata';
import type { DatabaseConfig, PostgresDatabaseConfig, SqliteDatabaseConfig } from '../config.js';
import type { Logger } from '../lib/logger.js';
import { ensurePrivateDir, ensurePrivateFile, tightenFile } from '../lib/private-files.js';
import { entities } from './entities.js';
import { migrationsFor } from './migrations/index.js';
import { postgresPoolOptions, verifyPostgresConnection } from './postgres.js';
import { DEFAULT_SQLITE_BUSY_TIMEOUT_MS } from './sqlite-busy.js';
import { SharedFileSqliteDialect } from './sqlite-dialect.js';

/**
 * The MikroORM driver of a database, loaded on demand: a SQLite process never loads pg and the
 * PostgreSQL driver (a quarter of a second of start-up for every CLI command), nor the other way round.
 */
export async function driverFor(kind: DatabaseConfig['kind']): Promise<NonNullable<Options['driver']>> {
  return kind === 'sqlite' ? (await import('@mikro-orm/sqlite')).SqliteDriver : (await import('@mikro-orm/postgresql')).PostgreSqlDriver;
}

/** The one ORM options builder (all but the driver, see driverFor), shared by the server, the CLI and mikro-orm.config.ts. */
export function ormOptions(database: DatabaseConfig): Options {
  const common: Options = {
    entities,
    metadataProvider: ReflectMetadataProvider,
    extensions: [Migrator],
    migrations: {
      migrationsList: migrationsFor(database.kind),
      path: `src/db/migrations/${database.kind}`,
      pathTs: `src/db/migrations/${database.kind}`,
      emit: 'ts',
      snapshot: false,
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
    allowGlobalContext: false,
    // A missing database is the operator's to create (a typo in DATABASE_URL must not create a new, empty one).
    ensureDatabase: false,
    debug: false,
    forceUtcTimezone: true,
    onCreateConnection: undefined,
  };
  if (database.kind === 'sqlite') return { ...common, dbName: database.path };
  return {
    ...common,
    host: database.host,
    port: database.port,
    user: database.user,
    ...(database.password !== null ? { password: database.password } : {}),
    dbName: database.database,
    pool: { min: 0, max: database.poolSize },
    driverOptions: postgresPoolOptions(database),
  };
}

/**
 * Opens the database and applies pending migrations (unless `migrate: false`). SQLite: the file is
 * made private and tuned for several processes; PostgreSQL: one round trip proves the server, the
 * database and the credentials before anything else starts (a failure is one line naming DATABASE_URL).
 */
export async function openDatabase(database: DatabaseConfig, options: { migrate?: boolean; logger?: Logger } = {}): Promise<MikroORM> {
  const orm = database.kind === 'sqlite' ? await openSqlite(database, options.logger) : await openPostgres(database);
  try {
    if (options.migrate !== false) await orm.migrator.up();
  } catch (error) {
    await orm.close(true).catch(() => undefined);
    throw error;
  }
  return orm;
}

async function openPostgres(database: PostgresDatabaseConfig): Promise<MikroORM> {
  const orm = await MikroORM.init({ ...ormOptions(database), driver: await driverFor('postgresql') });
  try {
    await verifyPostgresConnection(database, () => orm.em.getConnection().execute('select 1'));
  } catch (error) {
    await orm.close(true).catch(() => undefined);
    throw error;
  }
  return orm;
}

/**
 * SQLite: creates its folder 0700 and its file 0600 (it holds the audit log in plain text), and tunes
 * SQLite for concurrent use. Wider modes on files from an older version are narrowed; a pre-existing
 * folder open to others is only warned about.
 */
async function openSqlite(database: SqliteDatabaseConfig, logger: Logger | undefined): Promise<MikroORM> {
  const dir = dirname(database.path);
  const folder = ensurePrivateDir(dir);
  if (folder.openToOthers) {
    logger?.warn({ path: dir }, 'the database folder is accessible to other users; consider chmod 700');
  }
  // SQLite itself would only say SQLITE_CANTOPEN; these fail with the path, which the CLI names in one line.
  accessSync(dir, constants.W_OK);
  if (existsSync(database.path)) accessSync(database.path, constants.R_OK | constants.W_OK);
  const warnNarrowed = (path: string, widenedModeWas: number | null) => {
    if (widenedModeWas !== null) logger?.warn({ path, modeWas: widenedModeWas.toString(8) }, 'database file was readable by other users; narrowed to 0600');
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
  } catch (error) {
    native.close();
    throw error;
  }
  for (const companion of [`${database.path}-wal`, `${database.path}-shm`]) warnNarrowed(companion, tightenFile(companion).widenedModeWas);
  return MikroORM.init({ ...ormOptions(database), driver: await driverFor('sqlite'), driverOptions: new SharedFileSqliteDialect(native, DEFAULT_SQLITE_BUSY_TIMEOUT_MS) });
}

export { MikroORM };
