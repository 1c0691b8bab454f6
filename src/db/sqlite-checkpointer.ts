import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the checkpointer copies the write-ahead log back into the database file. */
export const CHECKPOINT_INTERVAL_MS = 250;
/** Log frames (pages, 4 KiB each) past which a checkpoint waits for writers to pause and rewinds the log: about 32 MiB. */
export const RESTART_AFTER_FRAMES = 8192;
/**
 * The safety net: writers' own `wal_autocheckpoint` (pages, about 64 MiB), far above what the thread lets
 * the log reach. Only writers that outpace the thread (a busy machine) checkpoint inline, as SQLite does by
 * default, which bounds the log whatever the load.
 */
export const WRITER_CHECKPOINT_PAGES = RESTART_AFTER_FRAMES * 2;
/** How long that checkpoint waits for a gap between write transactions. */
const RESTART_WAIT_MS = 200;

/**
 * The checkpointer's thread, as source: it opens its own connection and runs passive checkpoints,
 * which never block readers or writers. Inline (not a file) so it runs the same compiled and under vitest.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.path, { timeout: 0 });
db.pragma('busy_timeout = 0');
db.pragma('wal_autocheckpoint = 0');
let timer = null;
let stopped = false;
const tick = () => {
  if (stopped) return;
  try {
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)');
    // Under constant writes a passive checkpoint never catches the log's end, so the log is never
    // rewound and grows. Past the bound, wait for a gap between writers (they retry BUSY without
    // blocking their event loop), copy everything and make the next writer start the log again.
    if (passive && passive.log > workerData.restartAfterFrames) {
      db.pragma('busy_timeout = ' + workerData.restartWaitMs);
      try { db.pragma('wal_checkpoint(RESTART)'); } finally { db.pragma('busy_timeout = 0'); }
    }
  } catch (error) {
    // SQLITE_BUSY: another process is checkpointing this file, or writers kept it busy; next tick.
    if (!error || error.code !== 'SQLITE_BUSY') parentPort.postMessage({ error: String(error && error.message) });
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  stopped = true;
  if (timer) clearTimeout(timer);
  try { db.close(); } catch {}
  parentPort.postMessage('stopped');
});
tick();
`;

/** A running checkpointer; stop() ends its thread after its connection is closed. */
export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Moves SQLite's WAL checkpoints off the event loop. With `wal_autocheckpoint` at SQLite's default,
 * every thousandth page written makes one commit copy the log into the database file and fsync it,
 * synchronously, on the thread that serves requests: that was about a millisecond per commit on
 * average and most of the ingest's SQLite time. Connections of this process raise it to
 * WRITER_CHECKPOINT_PAGES and this thread checkpoints every CHECKPOINT_INTERVAL_MS instead.
 */
export function startCheckpointer(path: string, onError: (message: string) => void = () => undefined): Checkpointer {
  const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs: CHECKPOINT_INTERVAL_MS, restartAfterFrames: RESTART_AFTER_FRAMES, restartWaitMs: RESTART_WAIT_MS, betterSqlite3 } });
  worker.unref();
  worker.on('message', (message: unknown) => {
    if (message && typeof message === 'object' && 'error' in message) onError(String((message as { error: string }).error));
  });
  worker.on('error', (error) => onError(error.message));
  let stopping: Promise<void> | null = null;
  return {
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        const done = () => resolve();
        worker.once('exit', done);
        worker.once('message', (message) => {
          if (message === 'stopped') void worker.terminate().then(done, done);
        });
        worker.postMessage('stop');
      });
      return stopping;
    },
  };
}
