import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ReflectMetadataProvider } from '@mikro-orm/decorators/legacy';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/sqlite';
import 'reflect-metadata';
import type { DatabaseConfig } from '../config.js';
import { entities } from './entities.js';
import { migrationsList } from './migrations/index.js';

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

/** Opens the database (creating its folder), tunes SQLite for concurrent use, and applies pending migrations. */
export async function openDatabase(database: DatabaseConfig, options: { migrate?: boolean } = {}): Promise<MikroORM> {
  mkdirSync(dirname(database.path), { recursive: true });
  // SQLite itself would only say SQLITE_CANTOPEN; these fail with the path, which the CLI names in one line.
  accessSync(dirname(database.path), constants.W_OK);
  if (existsSync(database.path)) accessSync(database.path, constants.R_OK | constants.W_OK);
  const orm = await MikroORM.init(ormOptions(database));
  const native = await orm.em.getConnection().getNativeClient();
  native.pragma('journal_mode = WAL');
  native.pragma('busy_timeout = 5000');
  native.pragma('foreign_keys = ON');
  native.pragma('synchronous = NORMAL');
  if (options.migrate !== false) await orm.migrator.up();
  return orm;
}

export { MikroORM };
