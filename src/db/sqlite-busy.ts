/** How long a statement keeps retrying another connection's (or process's) write lock before it fails. */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** SQLITE_BUSY and its extended codes (BUSY_SNAPSHOT, BUSY_RECOVERY, BUSY_TIMEOUT). */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs a statement without ever blocking the event loop on a lock: connections run with SQLite's own
 * busy_timeout at 0, and SQLITE_BUSY is retried after an asynchronous pause (1 ms doubling to 50 ms)
 * until `busyTimeoutMs` has passed. A synchronous wait could never end when the lock holder is this
 * same process (a transaction awaiting between statements), and it would stall every request meanwhile.
 */
export async function whenNotBusy<T>(work: () => T | Promise<T>, busyTimeoutMs: number = DEFAULT_SQLITE_BUSY_TIMEOUT_MS): Promise<T> {
  const deadlineMs = Date.now() + busyTimeoutMs;
  for (let pauseMs = 1; ; pauseMs = Math.min(pauseMs * 2, 50)) {
    try {
      return await work();
    } catch (error) {
      if (!isBusyError(error) || Date.now() >= deadlineMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs * (0.5 + Math.random())));
    }
  }
}
