import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125002932_initial as PostgresInitial } from './postgresql/Migration20261125002932_initial.js';
import { Migration20261125002932_initial as SqliteInitial } from './sqlite/Migration20261125002932_initial.js';

/*
 * Migrations are committed per dialect: sqlite/ and postgresql/ hold twins of the same name, in the
 * same order, that produce equivalent schemas (test/db/schema-equivalence.test.ts introspects both
 * and fails on any difference, or on a migration that has no twin). To add one: write the SQLite
 * file, write its PostgreSQL twin under the same class name, and list both below.
 */

/** SQLite migrations in order, listed explicitly so they run the same compiled or under vitest. */
export const sqliteMigrations: MigrationObject[] = [{ name: 'Migration20261125002932_initial', class: SqliteInitial }];

/** The PostgreSQL twins of sqliteMigrations: same names, same order. */
export const postgresqlMigrations: MigrationObject[] = [{ name: 'Migration20261125002932_initial', class: PostgresInitial }];

/** The migrations of one dialect. */
export function migrationsFor(kind: 'sqlite' | 'postgresql'): MigrationObject[] {
  return kind === 'sqlite' ? sqliteMigrations : postgresqlMigrations;
}
