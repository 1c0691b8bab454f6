import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Agenda, constant } from 'agenda';
import type { AgendaOptions, Job } from 'agenda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteBackend, SqliteJobRepository } from '../../../src/jobs/sqlite-backend/index.js';
import { jobParams, makeTempDir, nextEvent, sleep, waitUntil } from './helpers.js';

let dir: string;
let fileCounter = 0;
const agendas: Agenda[] = [];
const backends: SqliteBackend[] = [];
const inspectors: SqliteJobRepository[] = [];

beforeAll(async () => {
  dir = await makeTempDir();
});

afterEach(async () => {
  // drain() waits for running jobs, then closes the backend's connection (the backend owns it).
  for (const agenda of agendas.splice(0)) await agenda.drain({ timeout: 5000 });
  for (const backend of backends.splice(0)) await backend.disconnect(); // for Agendas never started
  for (const inspector of inspectors.splice(0)) await inspector.disconnect();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  path: string;
  agenda: Agenda;
  backend: SqliteBackend;
  /** A separate connection to the same file, standing in for another process or an admin tool. */
  inspector: SqliteJobRepository;
}

/** An Agenda on a fresh SQLite file, as the application would configure it, plus an inspector connection. */
async function createAgenda(options: Omit<AgendaOptions, 'backend'>): Promise<Harness> {
  fileCounter += 1;
  const path = join(dir, `agenda-${fileCounter}.sqlite`);
  const backend = new SqliteBackend({ path });
  backends.push(backend);
  const agenda = new Agenda({ backend, ...options });
  agendas.push(agenda);
  await agenda.ready;
  const inspector = new SqliteBackend({ path }).repository;
  await inspector.connect();
  inspectors.push(inspector);
  return { path, agenda, backend, inspector };
}

describe('SqliteBackend with a real Agenda', () => {
  it('is what Agenda reports as its backend, with a notification channel', async () => {
    const { agenda, backend } = await createAgenda({ processEvery: '10 seconds' });
    await agenda.start();
    const stats = await agenda.getRunningStats();
    expect(stats.backend).toEqual({ name: 'SQLite', hasNotificationChannel: true });
    expect(backend.notificationChannel.state).toBe('connected');
  });

  it('runs a job saved in this process at once, not at the next poll; jobs saved elsewhere wait for the poll', async () => {
    const { agenda, inspector } = await createAgenda({ processEvery: '10 seconds' });
    const ran: string[] = [];
    agenda.define('prompt', async () => {
      ran.push('prompt');
    });
    agenda.define('from-elsewhere', async () => {
      ran.push('from-elsewhere');
    });
    await agenda.start();
    await sleep(100); // let the start-up scan finish; the next poll is 10 s away

    // Saved through another connection: no notification reaches this process.
    const elsewhereSavedMs = Date.now();
    await inspector.saveJob(jobParams({ name: 'from-elsewhere' }), undefined);

    const startedMs = Date.now();
    const completed = nextEvent(agenda, 'complete:prompt', 5000);
    await agenda.now('prompt');
    await completed;
    expect(Date.now() - startedMs).toBeLessThan(1000);

    await sleep(Math.max(0, elsewhereSavedMs + 800 - Date.now()));
    expect(ran).toEqual(['prompt']);
  });

  it('runs a job scheduled in the future at its time', async () => {
    const { agenda } = await createAgenda({ processEvery: '1 second' });
    let startedMs = 0;
    agenda.define('later', async () => {
      startedMs = Date.now();
    });
    await agenda.start();
    const dueMs = Date.now() + 1500;
    const completed = nextEvent(agenda, 'complete:later', 5000);
    await agenda.schedule(new Date(dueMs), 'later');
    await sleep(1000);
    expect(startedMs).toBe(0);
    await completed;
    // Timers may fire a few ms early against the wall clock; the upper bound allows one missed poll.
    expect(startedMs).toBeGreaterThanOrEqual(dueMs - 20);
    expect(startedMs).toBeLessThan(dueMs + 1500);
  });

  it('persists failures, and job.schedule().save() keeps the fail count for the next failure', async () => {
    const { agenda, inspector } = await createAgenda({ processEvery: '10 seconds' });
    let attempts = 0;
    agenda.define('flaky', async () => {
      attempts += 1;
      if (attempts < 3) throw new Error(`boom ${attempts}`);
    });
    await agenda.start();

    let completed = nextEvent(agenda, 'complete:flaky');
    const job = await agenda.now('flaky', { org: 'o1' });
    await completed;
    const id = String(job.attrs._id);
    const afterFirst = (await inspector.getJobById(id))!;
    expect(afterFirst).toMatchObject({ failCount: 1, failReason: 'boom 1', nextRunAt: null, data: { org: 'o1' } });
    expect(afterFirst.failedAt).toBeInstanceOf(Date);
    expect(afterFirst.lastRunAt).toBeInstanceOf(Date);
    expect(afterFirst.lastFinishedAt).toBeInstanceOf(Date);
    expect(afterFirst.lockedAt).toBeUndefined();

    // The caller's Job object never saw failCount; saving it must not wipe the stored one.
    completed = nextEvent(agenda, 'complete:flaky');
    await job.schedule(new Date()).save();
    await completed;
    expect(await inspector.getJobById(id)).toMatchObject({ failCount: 2, failReason: 'boom 2', nextRunAt: null });

    completed = nextEvent(agenda, 'complete:flaky');
    await job.schedule(new Date()).save();
    await completed;
    const afterSuccess = (await inspector.getJobById(id))!;
    expect(afterSuccess.failCount).toBe(0); // Agenda resets the count on success
    expect(afterSuccess.lastFinishedAt!.getTime()).toBeGreaterThan(afterFirst.lastFinishedAt!.getTime());
    expect((await inspector.queryJobs({ name: 'flaky' })).total).toBe(1);
  });

  it('retries a failing job with backoff until the retries are exhausted', async () => {
    const { agenda, inspector } = await createAgenda({ processEvery: 100 });
    agenda.define(
      'always-fails',
      async () => {
        throw new Error('still down');
      },
      { backoff: constant({ delay: 50, maxRetries: 2 }) },
    );
    await agenda.start();
    const exhausted = nextEvent(agenda, 'retry exhausted:always-fails', 10_000);
    const job = await agenda.now('always-fails');
    await exhausted;
    await waitUntil('the last run to be unlocked', async () => (await inspector.getJobById(String(job.attrs._id)))?.lockedAt === undefined);
    expect(await inspector.getJobById(String(job.attrs._id))).toMatchObject({ failCount: 3, failReason: 'still down' });
  });

  it('keeps one row for a job defined with every() and runs it repeatedly', async () => {
    const { agenda, inspector } = await createAgenda({ processEvery: 100 });
    let runs = 0;
    agenda.define('heartbeat', async () => {
      runs += 1;
    });
    await agenda.start();
    await agenda.every(250, 'heartbeat', { source: 'test' });
    await agenda.every(250, 'heartbeat', { source: 'test' }); // as a restart would
    await waitUntil('three heartbeats', () => runs >= 3, 5000);

    const { jobs, total } = await inspector.queryJobs({ name: 'heartbeat' });
    expect(total).toBe(1);
    expect(jobs[0]).toMatchObject({ type: 'single', repeatInterval: 250, data: { source: 'test' } });
    expect(jobs[0]!.nextRunAt).toBeInstanceOf(Date);
  });

  it('runs a job whose lock went stale (its worker died) once lockLifetime has passed', async () => {
    const lockLifetimeMs = 600;
    const { agenda, inspector } = await createAgenda({ processEvery: 100, defaultLockLifetime: lockLifetimeMs });
    let startedMs = 0;
    agenda.define('orphaned', async () => {
      startedMs = Date.now();
    });

    // A worker in another process locked the job and then died.
    await inspector.saveJob(jobParams({ name: 'orphaned', nextRunAt: new Date(Date.now() - 1000) }), undefined);
    const lockedMs = Date.now();
    const locked = await inspector.getNextJobToRun('orphaned', new Date(lockedMs + 100), new Date(lockedMs - lockLifetimeMs), new Date(lockedMs), undefined);
    expect(locked).toBeDefined();

    const completed = nextEvent(agenda, 'complete:orphaned', 5000);
    await agenda.start();
    await completed;
    expect(startedMs).toBeGreaterThanOrEqual(lockedMs + lockLifetimeMs);
    expect((await inspector.getJobById(String(locked!._id)))!.lockedAt).toBeUndefined();
  });

  it('does not run disabled jobs until they are enabled', async () => {
    const { agenda } = await createAgenda({ processEvery: 100 });
    let runs = 0;
    agenda.define('gated', async () => {
      runs += 1;
    });
    await agenda.start();
    await agenda.create('gated', {}).schedule(new Date()).disable().save();
    await sleep(400);
    expect(runs).toBe(0);
    const completed = nextEvent(agenda, 'complete:gated', 5000);
    expect(await agenda.enable({ name: 'gated' })).toBe(1);
    await completed;
    expect(runs).toBe(1);
  });

  it('lets two Agenda instances in one process share the backend file without running a job twice', async () => {
    const first = await createAgenda({ processEvery: 100, name: 'first' });
    const secondBackend = new SqliteBackend({ path: first.path });
    backends.push(secondBackend);
    const second = new Agenda({ backend: secondBackend, processEvery: 100, name: 'second' });
    agendas.push(second);
    await second.ready;
    const runsById = new Map<string, string[]>();
    const work = (label: string) => async (job: Job) => {
      const id = String(job.attrs._id);
      runsById.set(id, [...(runsById.get(id) ?? []), label]);
      await sleep(5);
    };
    first.agenda.define('split', work('first'));
    second.define('split', work('second'));
    await Promise.all([first.agenda.start(), second.start()]);
    for (let i = 0; i < 40; i++) await first.inspector.saveJob(jobParams({ name: 'split', data: { i } }), undefined);
    await waitUntil('40 jobs to run', () => runsById.size === 40, 10_000);
    await sleep(200);
    expect([...runsById.values()].every((labels) => labels.length === 1)).toBe(true);
  });
});
