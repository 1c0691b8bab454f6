import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startCheckpointer, WRITER_CHECKPOINT_PAGES } from '../../src/db/sqlite-checkpointer.js';
import { waitFor } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';

const PAGE_BYTES = 4096;
/** Commits of 100 rows of 2000 bytes in the bounded-log test (about 400 MB). */
const WRITES = 2000;
const sizeOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** A WAL database whose connection never checkpoints by itself, as the server opens it. */
function openWithoutAutoCheckpoint(path: string) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('create table t (id integer primary key, body blob not null)');
  const insert = db.prepare('insert into t (body) values (?)');
  const writeTransaction = db.transaction((rows: number) => {
    for (let i = 0; i < rows; i++) insert.run(Buffer.alloc(2000, i % 251));
  });
  return { db, writeTransaction };
}

describe('WAL checkpoints off the event loop', () => {
  it('copies committed pages into the database file from its own thread: the file grows though this connection never checkpoints', async () => {
    const path = join(tempDir('audithook-ckpt-'), 'a.db');
    const { db, writeTransaction } = openWithoutAutoCheckpoint(path);
    const checkpointer = startCheckpointer(path);
    try {
      for (let i = 0; i < 20; i++) writeTransaction(500); // about 20 MB in 20 commits
      await waitFor(() => sizeOf(path) > 18_000_000, 20_000, 50);
    } finally {
      await checkpointer.stop();
      db.close();
    }
  });

  it('keeps the log bounded under writes that never pause: the thread rewinds the log, and a writer that outpaces it checkpoints inline', async () => {
    const path = join(tempDir('audithook-ckpt-'), 'b.db');
    const { db, writeTransaction } = openWithoutAutoCheckpoint(path);
    // As the server opens it: the writer checkpoints inline only past WRITER_CHECKPOINT_PAGES.
    db.pragma(`wal_autocheckpoint = ${WRITER_CHECKPOINT_PAGES}`);
    const checkpointer = startCheckpointer(path);
    let maxWalBytes = 0;
    try {
      // About 400 MB, written as fast as the disk takes it in small commits with only a turn of the event loop between them.
      for (let i = 0; i < WRITES; i++) {
        writeTransaction(100);
        maxWalBytes = Math.max(maxWalBytes, sizeOf(`${path}-wal`));
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await checkpointer.stop();
      db.close();
    }
    // Without the checkpointer, or with passive checkpoints alone, the log grows with all that is written
    // (measured: 176 MB of 160). The thread's rewinds keep it near 32 MiB; should it lag, the writer's own
    // checkpoint at WRITER_CHECKPOINT_PAGES bounds it (plus one commit and a checkpoint skipped while the thread held the lock).
    expect(maxWalBytes).toBeGreaterThan(0);
    expect(maxWalBytes).toBeLessThan(WRITER_CHECKPOINT_PAGES * PAGE_BYTES * 4);
  }, 120_000);

  it('stops: its thread closes its connection and ends', async () => {
    const path = join(tempDir('audithook-ckpt-'), 'c.db');
    const { db } = openWithoutAutoCheckpoint(path);
    const checkpointer = startCheckpointer(path);
    await checkpointer.stop();
    await checkpointer.stop(); // idempotent
    db.close();
    // The last connection closed cleanly: SQLite removed the log.
    expect(sizeOf(`${path}-wal`)).toBe(0);
  });
});
