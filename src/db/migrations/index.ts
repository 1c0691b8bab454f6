import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261125002932_initial as PostgresInitial } from './postgresql/Migration20261125002932_initial.js';
import { Migration20261126093000_webhook_disable as PostgresWebhookDisable } from './postgresql/Migration20261126093000_webhook_disable.js';
import { Migration20261126094500_attempt_request as PostgresAttemptRequest } from './postgresql/Migration20261126094500_attempt_request.js';
import { Migration20261126100000_job_owns_schedule as PostgresJobOwnsSchedule } from './postgresql/Migration20261126100000_job_owns_schedule.js';
import { Migration20261126110000_retention as PostgresRetention } from './postgresql/Migration20261126110000_retention.js';
import { Migration20261125002932_initial as SqliteInitial } from './sqlite/Migration20261125002932_initial.js';
import { Migration20261126093000_webhook_disable as SqliteWebhookDisable } from './sqlite/Migration20261126093000_webhook_disable.js';
import { Migration20261126094500_attempt_request as SqliteAttemptRequest } from './sqlite/Migration20261126094500_attempt_request.js';
import { Migration20261126100000_job_owns_schedule as SqliteJobOwnsSchedule } from './sqlite/Migration20261126100000_job_owns_schedule.js';
import { Migration20261126110000_retention as SqliteRetention } from './sqlite/Migration20261126110000_retention.js';

/*
 * Migrations are committed per dialect: sqlite/ and postgresql/ hold twins of the same name, in the
 * same order, that produce equivalent schemas (test/db/schema-equivalence.test.ts introspects both
 * and fails on any difference, or on a migration that has no twin). To add one: write the SQLite
 * file, write its PostgreSQL twin under the same class name, and list both below.
 */

/** SQLite migrations in order, listed explicitly so they run the same compiled or under vitest. */
export const sqliteMigrations: MigrationObject[] = [
  { name: 'Migration20261125002932_initial', class: SqliteInitial },
  { name: 'Migration20261126093000_webhook_disable', class: SqliteWebhookDisable },
  { name: 'Migration20261126094500_attempt_request', class: SqliteAttemptRequest },
  { name: 'Migration20261126100000_job_owns_schedule', class: SqliteJobOwnsSchedule },
  { name: 'Migration20261126110000_retention', class: SqliteRetention },
];

/** The PostgreSQL twins of sqliteMigrations: same names, same order. */
export const postgresqlMigrations: MigrationObject[] = [
  { name: 'Migration20261125002932_initial', class: PostgresInitial },
  { name: 'Migration20261126093000_webhook_disable', class: PostgresWebhookDisable },
  { name: 'Migration20261126094500_attempt_request', class: PostgresAttemptRequest },
  { name: 'Migration20261126100000_job_owns_schedule', class: PostgresJobOwnsSchedule },
  { name: 'Migration20261126110000_retention', class: PostgresRetention },
];

/** The migrations of one dialect. */
export function migrationsFor(kind: 'sqlite' | 'postgresql'): MigrationObject[] {
  return kind === 'sqlite' ? sqliteMigrations : postgresqlMigrations;
}
