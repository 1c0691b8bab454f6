// Failures Agenda hands to the backend in shapes a SQL column does not take, and writes Agenda swallows.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agenda } from 'agenda';
import type { AgendaOptions } from 'agenda';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteBackend, SqliteJobRepository } from '../../../src/jobs/sqlite-backend/index.js';
import type { SqliteBackendOptions, SqliteJobStoreErrorContext } from '../../../src/jobs/sqlite-backend/index.js';
import { FORK_JOB, defineForkJobs } from './fixtures/fork-jobs.js';
import { makeTempDir, nextEvent } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** Far longer than any test waits: a job still locked after its run did not get its final state saved. */
const LOCK_LIFETIME_MS = 10 * 60_000;

let dir: string;
let fileCounter = 0;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  dir = await makeTempDir();
});
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  path: string;
  agenda: Agenda;
  /** A separate connection to the same file, to read what was stored. */
  inspector: SqliteJobRepository;
  /** Errors Agenda emitted (it throws on 'error' without a listener). */
  agendaErrors: unknown[];
}

async function createAgenda(options: Omit<AgendaOptions, 'backend'>, backendOptions: Partial<SqliteBackendOptions> = {}): Promise<Harness> {
  fileCounter += 1;
  const path = backendOptions.path ?? join(dir, `failures-${fileCounter}.sqlite`);
  const backend = new SqliteBackend({ ...backendOptions, path });
  const agenda = new Agenda({ backend, processEvery: '10 seconds', defaultLockLifetime: LOCK_LIFETIME_MS, ...options });
  const agendaErrors: unknown[] = [];
  agenda.on('error', (error: unknown) => agendaErrors.push(error));
  cleanups.push(() => backend.disconnect());
  cleanups.push(() => agenda.drain({ timeout: 5_000 }));
  await agenda.ready;
  const inspector = new SqliteBackend({ path }).repository;
  await inspector.connect();
  cleanups.push(() => inspector.disconnect());
  return { path, agenda, inspector, agendaErrors };
}

describe('a failure reason that is not a string', () => {
  it('is stored as text, and the job is recorded as failed and unlocked as soon as the run ends', async () => {
    const { agenda, inspector } = await createAgenda({});
    agenda.define('throws-object', async () => {
      // Not an Error: Agenda passes the value itself to job.fail(), so failReason is this object.
      throw { code: 'E_REMOTE', status: 502 };
    });
    await agenda.start();
    const completed = nextEvent(agenda, 'complete:throws-object');
    const job = await agenda.now('throws-object');
    await completed;

    const stored = (await inspector.getJobById(String(job.attrs._id)))!;
    expect(stored).toMatchObject({ failCount: 1, failReason: '{"code":"E_REMOTE","status":502}' });
    expect(stored.failedAt).toBeInstanceOf(Date);
    expect(stored.lastFinishedAt).toBeInstanceOf(Date);
    expect(stored.lockedAt).toBeUndefined(); // not left locked for LOCK_LIFETIME_MS
  });

  it("fork mode, as in Agenda's own conformance case: the child's error arrives as an object and is recorded", async () => {
    fileCounter += 1;
    const path = join(dir, `fork-${fileCounter}.sqlite`);
    const { agenda, inspector } = await createAgenda(
      {
        forkHelper: {
          path: join(FIXTURES, 'fork-helper.ts'),
          options: {
            execArgv: ['--import', join(FIXTURES, 'resolve-ts-hook.mjs')],
            cwd: fileURLToPath(new URL('../../../', import.meta.url)),
            env: { PATH: process.env['PATH'] ?? '', SQLITE_PATH: path },
          },
        },
      } as Omit<AgendaOptions, 'backend'>,
      { path },
    );
    defineForkJobs(agenda);
    await agenda.start();

    const failed = agenda.create(FORK_JOB, { failIt: 'error' }).forkMode(true).schedule(new Date());
    let completed = nextEvent(agenda, `complete:${FORK_JOB}`, 20_000);
    await failed.save();
    await completed;
    const failedRow = (await inspector.getJobById(String(failed.attrs._id)))!;
    expect(failedRow).toMatchObject({ fork: true, failCount: 1, failReason: '{}' }); // JSON.stringify(new Error()) is '{}'
    expect(failedRow.lastFinishedAt).toBeInstanceOf(Date);
    expect(failedRow.lockedAt).toBeUndefined();

    const died = agenda.create(FORK_JOB, { failIt: 'die' }).forkMode(true).schedule(new Date());
    completed = nextEvent(agenda, `complete:${FORK_JOB}`, 20_000);
    await died.save();
    await completed;
    const diedRow = (await inspector.getJobById(String(died.attrs._id)))!;
    expect(diedRow).toMatchObject({ failCount: 1, failReason: 'child process exited with code: 2' });
    expect(diedRow.lockedAt).toBeUndefined();
  }, 30_000);

  it('progress that is not a number does not fail the save either', async () => {
    const { agenda, inspector } = await createAgenda({});
    agenda.define('odd-progress', async (job) => {
      job.attrs.progress = { done: 3 } as unknown as number; // what a careless touch() caller could leave behind
      throw new Error('after odd progress');
    });
    await agenda.start();
    const completed = nextEvent(agenda, 'complete:odd-progress');
    const job = await agenda.now('odd-progress');
    await completed;
    const stored = (await inspector.getJobById(String(job.attrs._id)))!;
    expect(stored).toMatchObject({ failCount: 1, failReason: 'after odd progress' });
    expect(stored.lockedAt).toBeUndefined();
    expect(stored.progress).toBeUndefined();
  });
});

describe('writes Agenda swallows', () => {
  it("a run's final state that cannot be saved is reported to onError with the job, not only Agenda's debug log", async () => {
    const reported: Array<{ error: unknown; context: SqliteJobStoreErrorContext }> = [];
    fileCounter += 1;
    const path = join(dir, `swallowed-${fileCounter}.sqlite`);
    const other = new Database(path);
    cleanups.push(() => other.close());
    const { agenda } = await createAgenda(
      {},
      { path, busyTimeoutMs: 200, onError: (error, context) => reported.push({ error, context }) },
    );
    agenda.define('blocked-at-end', async () => {
      // Another connection (another process, the ORM) holds the write lock past busyTimeoutMs when the run ends.
      other.exec('BEGIN IMMEDIATE');
    });
    await agenda.start();
    const completed = nextEvent(agenda, 'complete:blocked-at-end');
    const job = await agenda.now('blocked-at-end');
    await completed; // Agenda completes the run although its state was not saved
    other.exec('ROLLBACK');

    expect(reported).toHaveLength(1);
    expect(reported[0]!.context).toEqual({ operation: 'saveJobState', jobId: String(job.attrs._id), jobName: 'blocked-at-end' });
    expect(reported[0]!.error).toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
  });

  it('a job removed while it runs is not reported (Agenda expects that save to find no row)', async () => {
    const reported: unknown[] = [];
    const { agenda } = await createAgenda({}, { onError: (error) => reported.push(error) });
    agenda.define('cancelled-midway', async (job) => {
      await agenda.cancel({ id: job.attrs._id });
    });
    await agenda.start();
    const completed = nextEvent(agenda, 'complete:cancelled-midway');
    await agenda.now('cancelled-midway');
    await completed;
    expect(reported).toEqual([]);
  });
});
