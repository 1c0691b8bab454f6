import { join } from 'node:path';
import { afterAll } from 'vitest';
import { adminClient, TEST_DATABASE_PREFIX, TEST_POSTGRES_ADMIN_URL } from './postgres-admin.js';

export { adminClient, TEST_POSTGRES_ADMIN_URL };

/**
 * Which database the suite runs on: SQLite files in temp folders (the default), or throwaway
 * PostgreSQL databases when AUDITHOOK_TEST_DATABASE=postgres (the `postgres` vitest project).
 */
export const TEST_DATABASE: 'sqlite' | 'postgres' = process.env.AUDITHOOK_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

const made = new Map<string, Promise<string>>();
let counter = 0;

/** A fresh, empty PostgreSQL database; returns its URL. Dropped when the test file ends. */
export async function createPostgresDatabase(): Promise<string> {
  const name = `${TEST_DATABASE_PREFIX}${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const client = await adminClient();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  created.push(name);
  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.href;
}

const created: string[] = [];
// Registered once per test file (this module is evaluated once per file), before the file's own hooks,
// so it runs after them: servers are stopped by then; FORCE ends any connection a failed test left open.
afterAll(async () => {
  if (created.length === 0) return;
  const client = await adminClient();
  try {
    for (const name of created.splice(0)) await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
  made.clear();
});

/**
 * The DATABASE_URL of a test's data: `sqlite:<dir>/<file>` on SQLite; on PostgreSQL a throwaway
 * database, the same one for the same dir and file (a restart on one data folder finds its data).
 */
export function testDatabaseUrl(dir: string, file = 'audithook.db'): Promise<string> {
  if (TEST_DATABASE === 'sqlite') return Promise.resolve(`sqlite:${join(dir, file)}`);
  const key = join(dir, file);
  let url = made.get(key);
  if (!url) {
    url = createPostgresDatabase();
    made.set(key, url);
  }
  return url;
}

/** SQL for a deliver job's delivery id in agenda_jobs.data: JSON text on SQLite, jsonb on PostgreSQL. */
export const JOB_DELIVERY_ID_SQL = TEST_DATABASE === 'postgres' ? `data->>'deliveryId'` : `json_extract(data, '$.deliveryId')`;
