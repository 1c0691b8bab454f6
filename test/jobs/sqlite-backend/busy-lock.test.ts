import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteBackend } from '../../../src/jobs/sqlite-backend/index.js';
import { jobParams, makeTempDir, sleep } from './helpers.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const item of open.splice(0)) await item.close();
});

describe('a write lock held by this same process', () => {
  it('is waited out asynchronously: the event loop keeps running and the write succeeds once the lock is released', async () => {
    const path = join(await makeTempDir(), 'jobs.db');
    const backend = new SqliteBackend({ path, busyTimeoutMs: 5_000 });
    await backend.connect();
    open.push({ close: () => backend.disconnect() });
    // Another connection of this process (like the ORM's) holds a write transaction across awaits.
    const orm = new Database(path);
    open.push(orm);
    orm.exec('CREATE TABLE IF NOT EXISTS app (x INTEGER)');
    orm.exec('BEGIN IMMEDIATE');
    orm.exec('INSERT INTO app VALUES (1)');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const releasedAt = Date.now() + 300;
    const release = sleep(300).then(() => orm.exec('COMMIT'));
    try {
      const saved = await backend.repository.saveJob(jobParams({ name: 'waits' }), undefined);
      expect(Date.now()).toBeGreaterThanOrEqual(releasedAt - 5);
      expect(saved._id).toBeTruthy();
      expect(ticks).toBeGreaterThanOrEqual(10); // a blocking wait would have frozen the ticker
      expect(await backend.repository.getJobById(String(saved._id))).toMatchObject({ name: 'waits' });
    } finally {
      clearInterval(ticker);
      await release;
    }
  });

  it('still fails with SQLITE_BUSY once busyTimeoutMs has passed', async () => {
    const path = join(await makeTempDir(), 'jobs.db');
    const backend = new SqliteBackend({ path, busyTimeoutMs: 200 });
    await backend.connect();
    open.push({ close: () => backend.disconnect() });
    const other = new Database(path);
    open.push(other);
    other.exec('BEGIN IMMEDIATE');
    const started = Date.now();
    await expect(backend.repository.saveJob(jobParams(), undefined)).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    other.exec('ROLLBACK');
  });
});
