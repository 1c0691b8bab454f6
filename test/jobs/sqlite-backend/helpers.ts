import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agenda, JobParameters } from 'agenda';

/** A fresh folder under the OS temp dir for one test file's SQLite databases. */
export function makeTempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'audithook-sqlite-backend-'));
}

/** A normal job due now with empty data, overridable field by field. */
export function jobParams(overrides: Partial<JobParameters> = {}): JobParameters {
  return { name: 'job', priority: 0, nextRunAt: new Date(), type: 'normal', data: {}, ...overrides };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true, failing with `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves with the arguments of the next `event` Agenda emits, failing after `timeoutMs`. */
export function nextEvent(agenda: Agenda, event: string, timeoutMs = 10_000): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      agenda.off(event, listener);
      reject(new Error(`Timed out after ${timeoutMs} ms waiting for Agenda event '${event}'`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args);
    };
    agenda.once(event, listener);
  });
}
