import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/**
 * Tests that are about the SQLite file itself, so they run in the sqlite matrix only. Everything else
 * runs twice: on SQLite files and on throwaway PostgreSQL databases (AUDITHOOK_TEST_DATABASE=postgres).
 */
export const SQLITE_ONLY = [
  'test/db/file-modes.test.ts', // modes of the database file, its folder and secret.key
  'test/db/multi-process.test.ts', // several processes sharing one SQLite file (BEGIN IMMEDIATE, busy retry)
  'test/db/sqlite-checkpointer.test.ts', // the WAL checkpointer thread
  'test/db/attempt-request-migration.test.ts', // upgrading an existing SQLite file's attempts
  'test/jobs/sqlite-backend/**', // unit tests of our Agenda backend for SQLite
  'test/startup/startup-errors.test.ts', // data folder not writable / not a folder (PostgreSQL's: postgres-startup-errors)
  'test/startup/node-version.test.ts', // better-sqlite3's native module on an older Node
  'test/bench/bench-smoke.test.ts', // the benchmark's every row on SQLite (its PostgreSQL rows: bench-postgres-smoke)
];

/** Tests about PostgreSQL itself (they also need the SQLite side, e.g. schema equivalence), in the postgres matrix only. */
export const POSTGRES_ONLY = [
  'test/db/schema-equivalence.test.ts',
  'test/startup/postgres-startup-errors.test.ts',
  'test/http/postgres-outage.test.ts',
  'test/db/notifications.test.ts', // both notification implementations, side by side
  'test/jobs/webhook-slots.test.ts', // slot leases on a SQLite file and a PostgreSQL database, side by side
  'test/jobs/postgres-job-store.test.ts', // how @agendajs/postgres-backend is used (notifications, lookup index, batched locks)
  'test/scale-out.test.ts', // api and worker processes on one PostgreSQL database
  'test/scale.test.ts', // the scale test: one api, two workers, 5,000 events, a worker SIGKILLed
  'test/bench/bench-postgres-smoke.test.ts', // `npm run bench -- --smoke --database postgres --workers 1`
];

export default defineConfig({
  resolve: {
    // type-graphql must see the same graphql module instance as Apollo and our schema.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql/index.js') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    environment: 'node',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    server: { deps: { inline: ['type-graphql'] } },
    // `npm test` runs both matrices; `npm run test:sqlite` / `npm run test:postgres` run one.
    projects: [
      { extends: true, test: { name: 'sqlite', exclude: POSTGRES_ONLY } },
      { extends: true, test: { name: 'postgres', exclude: SQLITE_ONLY, env: { AUDITHOOK_TEST_DATABASE: 'postgres' } } },
    ],
  },
});
