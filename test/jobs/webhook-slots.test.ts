import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSlots } from '../../src/jobs/webhook-slots.js';
import { waitFor } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { createPostgresDatabase } from '../support/test-database.js';

/**
 * The per-webhook request cap as leases in the database, on both dialects: two WebhookSlots on one
 * database stand for two worker processes (each with its own connection).
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Connect = () => Promise<Kysely<any>>;

async function sqliteDatabase(): Promise<Connect> {
  const path = join(tempDir('audithook-slots-'), 'slots.db');
  return async () => {
    const native = new Database(path);
    native.pragma('journal_mode = WAL');
    native.pragma('busy_timeout = 5000');
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: native }) });
    cleanups.push(() => db.destroy());
    return db;
  };
}

async function postgresDatabase(): Promise<Connect> {
  const url = await createPostgresDatabase();
  return async () => {
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }) });
    cleanups.push(() => db.destroy());
    return db;
  };
}

describe.each([
  ['SQLite (one file, two connections)', sqliteDatabase],
  ['PostgreSQL (throwaway database)', postgresDatabase],
])('WebhookSlots on %s', (_name, database) => {
  it('caps requests per webhook over both workers together; a release frees a slot for either; webhooks do not share', async () => {
    const connect = await database();
    const released: string[] = [];
    const a = new WebhookSlots(await connect().then((db) => () => db), 2, 60_000, (id) => released.push(`a:${id}`));
    const b = new WebhookSlots(await connect().then((db) => () => db), 2, 60_000, (id) => released.push(`b:${id}`));
    await Promise.all([a.ensureTable(), b.ensureTable()]); // both create-if-missing at once: no error

    const first = await a.tryAcquire('wh_1', 'dlv_1');
    const second = await b.tryAcquire('wh_1', 'dlv_2');
    expect(first.taken && second.taken).toBe(true);
    expect(await a.tryAcquire('wh_1', 'dlv_3')).toEqual({ taken: false, attempting: false });
    expect(await b.tryAcquire('wh_1', 'dlv_3')).toEqual({ taken: false, attempting: false });
    const otherWebhook = await b.tryAcquire('wh_2', 'dlv_9');
    expect(otherWebhook.taken).toBe(true);

    if (!first.taken) throw new Error('unreachable');
    await first.release();
    await first.release(); // idempotent: frees one slot once
    expect(released).toEqual(['a:wh_1']);
    const third = await b.tryAcquire('wh_1', 'dlv_3');
    expect(third.taken).toBe(true);
    expect(await a.tryAcquire('wh_1', 'dlv_4')).toEqual({ taken: false, attempting: false });
  });

  it('a delivery holding a slot is reported as being attempted, to any worker', async () => {
    const connect = await database();
    const a = new WebhookSlots(await connect().then((db) => () => db), 4, 60_000, () => undefined);
    const b = new WebhookSlots(await connect().then((db) => () => db), 4, 60_000, () => undefined);
    const held = await a.tryAcquire('wh_1', 'dlv_1');
    expect(held.taken).toBe(true);
    expect(await b.tryAcquire('wh_1', 'dlv_1')).toEqual({ taken: false, attempting: true });
  });

  it('the lease of a holder that died (never released) expires, and its slot is taken again', async () => {
    const connect = await database();
    const dead = new WebhookSlots(await connect().then((db) => () => db), 1, 300, () => undefined);
    const alive = new WebhookSlots(await connect().then((db) => () => db), 1, 60_000, () => undefined);
    expect((await dead.tryAcquire('wh_1', 'dlv_1')).taken).toBe(true); // never released: the process "was killed"
    expect(await alive.tryAcquire('wh_1', 'dlv_1')).toEqual({ taken: false, attempting: true });
    let taken = false;
    await waitFor(async () => (taken = (await alive.tryAcquire('wh_1', 'dlv_1')).taken), 5_000, 50);
    expect(taken).toBe(true);
    expect(await dead.tryAcquire('wh_1', 'dlv_2')).toEqual({ taken: false, attempting: false });
  });
});
