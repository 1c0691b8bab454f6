import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { JobParameters } from 'agenda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteBackend, SqliteJobRepository } from '../../../src/jobs/sqlite-backend/index.js';
import { jobParams, makeTempDir, sleep } from './helpers.js';

const MINUTE_MS = 60_000;
const LOCK_LIFETIME_MS = 10 * MINUTE_MS;
const SCAN_WINDOW_MS = 5_000;

let dir: string;
let dbPath: string;
let repo: SqliteJobRepository;
let fileCounter = 0;
const extraConnections: { close(): unknown }[] = [];
const extraRepositories: SqliteJobRepository[] = [];

beforeAll(async () => {
  dir = await makeTempDir();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  fileCounter += 1;
  dbPath = join(dir, `jobs-${fileCounter}.sqlite`);
  repo = new SqliteBackend({ path: dbPath }).repository;
  await repo.connect();
});

afterEach(async () => {
  await repo.disconnect();
  for (const other of extraRepositories.splice(0)) await other.disconnect();
  for (const connection of extraConnections.splice(0)) connection.close();
});

/** A raw connection to the same file, as the application's own code would have. */
function rawConnection(): Database.Database {
  const db = new Database(dbPath);
  extraConnections.push(db);
  return db;
}

/** A second repository (own connection) on the same file, as another worker process would have. */
async function secondRepository(): Promise<SqliteJobRepository> {
  const other = new SqliteBackend({ path: dbPath }).repository;
  await other.connect();
  extraRepositories.push(other);
  return other;
}

/** What Agenda's job processor asks for: due before now + scan window, stale if locked before now - lock lifetime. */
function nextToRun(name: string, nowMs = Date.now(), lockLifetimeMs = LOCK_LIFETIME_MS): Promise<JobParameters | undefined> {
  return repo.getNextJobToRun(name, new Date(nowMs + SCAN_WINDOW_MS), new Date(nowMs - lockLifetimeMs), new Date(nowMs), undefined);
}

async function save(overrides: Partial<JobParameters> = {}): Promise<JobParameters & { _id: NonNullable<JobParameters['_id']> }> {
  const saved = await repo.saveJob(jobParams(overrides), undefined);
  if (!saved._id) throw new Error('saveJob returned no _id');
  return { ...saved, _id: saved._id };
}

async function count(): Promise<number> {
  return (await repo.queryJobs()).total;
}

describe('connect', () => {
  it('creates its table and indexes in a WAL-mode file it shares with the application', async () => {
    const app = rawConnection();
    app.exec('CREATE TABLE app_things (id INTEGER PRIMARY KEY, label TEXT)');
    app.prepare('INSERT INTO app_things (label) VALUES (?)').run('kept');

    await save({ name: 'a' });
    expect(await repo.purgeAllJobs()).toBe(1);

    expect(app.pragma('journal_mode', { simple: true })).toBe('wal');
    const objects = app
      .prepare("SELECT type, name FROM sqlite_master WHERE tbl_name = 'agenda_jobs' ORDER BY name")
      .all() as { type: string; name: string }[];
    expect(objects).toEqual([
      { type: 'table', name: 'agenda_jobs' },
      { type: 'index', name: 'agenda_jobs_find_and_lock_idx' },
      { type: 'index', name: 'agenda_jobs_next_run_at_idx' },
      { type: 'index', name: 'agenda_jobs_single_name_idx' },
      { type: 'index', name: 'sqlite_autoindex_agenda_jobs_1' },
    ]);
    expect(app.prepare('SELECT label FROM app_things').pluck().all()).toEqual(['kept']);
  });

  it('is idempotent, refuses work while disconnected and reconnects with the data intact', async () => {
    await repo.connect();
    const saved = await save({ name: 'survivor' });
    await repo.disconnect();
    expect(repo.isConnected).toBe(false);
    await expect(repo.getJobById(saved._id)).rejects.toThrow(/not connected/);
    await repo.connect();
    expect((await repo.getJobById(saved._id))?.name).toBe('survivor');
  });

  it('uses the configured table name and rejects names that are not plain identifiers', async () => {
    const custom = new SqliteBackend({ path: dbPath, tableName: 'audit_jobs' }).repository;
    await custom.connect();
    extraRepositories.push(custom);
    await custom.saveJob(jobParams({ name: 'in-custom-table' }), undefined);
    expect(await repo.getDistinctJobNames()).toEqual([]);
    expect(await custom.getDistinctJobNames()).toEqual(['in-custom-table']);

    expect(() => new SqliteBackend({ path: dbPath, tableName: 'jobs; DROP TABLE x' })).toThrow(/plain identifier/);
    expect(() => new SqliteBackend({ path: '' })).toThrow(/path/);
    expect(() => new SqliteBackend({ path: dbPath, busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
  });

  it('waits busyTimeoutMs for another connection to release its write lock, then fails with SQLITE_BUSY', async () => {
    const impatient = new SqliteBackend({ path: dbPath, busyTimeoutMs: 150 }).repository;
    await impatient.connect();
    extraRepositories.push(impatient);
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    const startedMs = Date.now();
    await expect(impatient.saveJob(jobParams(), undefined)).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(100);
    other.exec('COMMIT');
    await expect(impatient.saveJob(jobParams(), undefined)).resolves.toMatchObject({ name: 'job' });
  });
});

describe('saveJob', () => {
  it('inserts with a string id and reads back Dates, JSON data and nextRunAt null (not undefined)', async () => {
    const startDate = new Date('2030-01-01T00:00:00.000Z');
    const endDate = new Date('2031-01-01T00:00:00.000Z');
    const saved = await save({
      name: 'roundtrip',
      priority: 7,
      nextRunAt: null,
      data: { text: 'héllo ✓', nested: { list: [1, 'two', null, { three: true }] }, empty: {} },
      repeatInterval: 300_000,
      repeatTimezone: 'Europe/Paris',
      startDate,
      endDate,
      skipDays: [0, 6],
      lastModifiedBy: 'ignored: comes from options',
    });
    expect(typeof saved._id).toBe('string');
    expect(saved._id.length).toBeGreaterThan(0);

    const loaded = await repo.getJobById(saved._id);
    expect(loaded).toEqual({
      _id: saved._id,
      name: 'roundtrip',
      type: 'normal',
      priority: 7,
      nextRunAt: null,
      data: { text: 'héllo ✓', nested: { list: [1, 'two', null, { three: true }] }, empty: {} },
      disabled: false,
      repeatInterval: 300_000,
      repeatTimezone: 'Europe/Paris',
      startDate,
      endDate,
      skipDays: [0, 6],
    });
    expect(loaded!.nextRunAt).toBeNull();
    expect(loaded!.startDate).toBeInstanceOf(Date);
    expect('lockedAt' in loaded!).toBe(false);
  });

  it('returns every date field as a Date with millisecond precision', async () => {
    const at = (offsetMs: number): Date => new Date(1_800_000_000_123 + offsetMs);
    const saved = await save({ nextRunAt: at(0) });
    await repo.saveJobState(
      { ...saved, lockedAt: at(1), lastRunAt: at(2), lastFinishedAt: at(3), failedAt: at(4), nextRunAt: at(5) },
      undefined,
    );
    const loaded = (await repo.getJobById(saved._id))!;
    for (const [field, expected] of [
      ['lockedAt', at(1)],
      ['lastRunAt', at(2)],
      ['lastFinishedAt', at(3)],
      ['failedAt', at(4)],
      ['nextRunAt', at(5)],
    ] as const) {
      expect(loaded[field], field).toBeInstanceOf(Date);
      expect(loaded[field]!.getTime(), field).toBe(expected.getTime());
    }
  });

  it('keeps a string repeatInterval a string and a numeric one a number', async () => {
    const cron = await save({ name: 'cron', repeatInterval: '*/5 * * * *' });
    const human = await save({ name: 'human', repeatInterval: '5 minutes' });
    const numeric = await save({ name: 'numeric', repeatInterval: 5000 });
    expect((await repo.getJobById(cron._id))!.repeatInterval).toBe('*/5 * * * *');
    expect((await repo.getJobById(human._id))!.repeatInterval).toBe('5 minutes');
    expect((await repo.getJobById(numeric._id))!.repeatInterval).toBe(5000);
  });

  it('stores a job without data as undefined data and records lastModifiedBy from the options', async () => {
    const saved = await repo.saveJob({ ...jobParams(), data: undefined }, { lastModifiedBy: 'worker-a' });
    const loaded = (await repo.getJobById(saved._id!))!;
    expect(loaded.data).toBeUndefined();
    expect(loaded.lastModifiedBy).toBe('worker-a');
  });

  it('updates an existing job by id', async () => {
    const saved = await save({ name: 'update-me', priority: 5, data: { version: 1 } });
    const updated = await repo.saveJob({ ...saved, priority: 20, data: { version: 2 } }, undefined);
    expect(updated._id).toBe(saved._id);
    expect(updated).toMatchObject({ priority: 20, data: { version: 2 } });
    expect(await count()).toBe(1);
  });

  it('does not resurrect a job removed before an update: returns the input unchanged', async () => {
    const saved = await save({ name: 'gone' });
    await repo.removeJobs({ id: saved._id });
    const input = { ...saved, priority: 3 };
    expect(await repo.saveJob(input, undefined)).toBe(input);
    expect(await count()).toBe(0);
  });

  it('leaves processor-managed fields (lock, failures, progress) alone when user code saves', async () => {
    const saved = await save({ name: 'failing' });
    const lockedAt = new Date();
    await repo.saveJobState({ ...saved, lockedAt, failCount: 2, failReason: 'boom', failedAt: new Date(), progress: 40 }, undefined);

    // What Job.save() sends: no lockedAt/failCount/failReason/failedAt/progress keys at all.
    const rescheduled = await repo.saveJob({ ...saved, nextRunAt: new Date(Date.now() + MINUTE_MS) }, undefined);
    expect(rescheduled).toMatchObject({ failCount: 2, failReason: 'boom', progress: 40 });
    expect(rescheduled.lockedAt?.getTime()).toBe(lockedAt.getTime());
  });

  it('keeps the disabled flag unless the saved job states it', async () => {
    const saved = await save({ name: 'toggle', disabled: true });
    expect((await repo.saveJob({ ...saved, disabled: undefined, priority: 1 }, undefined)).disabled).toBe(true);
    expect((await repo.saveJob({ ...saved, disabled: false }, undefined)).disabled).toBe(false);
  });

  describe("type 'single' (agenda.every)", () => {
    it('upserts by name: same id, new values, one row, and normal jobs of that name are separate', async () => {
      const normal = await save({ name: 'tick', type: 'normal' });
      const first = await save({ name: 'tick', type: 'single', priority: 5, data: { run: 1 }, nextRunAt: new Date(Date.now() + MINUTE_MS) });
      const second = await save({ name: 'tick', type: 'single', priority: 10, data: { run: 2 }, nextRunAt: new Date(Date.now() + 2 * MINUTE_MS), repeatInterval: '2 minutes' });
      expect(second._id).toBe(first._id);
      expect(second._id).not.toBe(normal._id);
      expect(second).toMatchObject({ type: 'single', priority: 10, data: { run: 2 }, repeatInterval: '2 minutes' });
      expect((await repo.queryJobs({ name: 'tick' })).total).toBe(2);
    });

    it('does not pull an already scheduled run forward when re-saved with a due nextRunAt, but fills a missing one', async () => {
      const scheduledMs = Date.now() + 5 * MINUTE_MS;
      await save({ name: 'every', type: 'single', nextRunAt: new Date(scheduledMs) });
      // What agenda.every() computes on a restart: due now.
      const resaved = await save({ name: 'every', type: 'single', nextRunAt: new Date() });
      expect(resaved.nextRunAt?.getTime()).toBe(scheduledMs);

      const laterMs = Date.now() + 10 * MINUTE_MS;
      expect((await save({ name: 'every', type: 'single', nextRunAt: new Date(laterMs) })).nextRunAt?.getTime()).toBe(laterMs);

      await repo.saveJobState({ ...resaved, nextRunAt: null }, undefined);
      const nowMs = Date.now();
      expect((await save({ name: 'every', type: 'single', nextRunAt: new Date(nowMs) })).nextRunAt?.getTime()).toBe(nowMs);
    });

    it('keeps a single job disabled when it is re-saved without a disabled flag', async () => {
      await save({ name: 'paused-every', type: 'single', disabled: true });
      expect((await save({ name: 'paused-every', type: 'single' })).disabled).toBe(true);
      expect((await save({ name: 'paused-every', type: 'single', disabled: false })).disabled).toBe(false);
    });
  });

  describe('unique constraints', () => {
    it('updates the job matching the unique data fields instead of inserting another', async () => {
      const unique = { 'data.kind': 'digest', 'data.orgId': 'org_1' };
      const first = await save({ name: 'digest', data: { kind: 'digest', orgId: 'org_1', n: 1 }, unique });
      const second = await save({ name: 'digest', data: { kind: 'digest', orgId: 'org_1', n: 2 }, unique });
      expect(second._id).toBe(first._id);
      expect(second.data).toEqual({ kind: 'digest', orgId: 'org_1', n: 2 });
      expect(await count()).toBe(1);
    });

    it('with insertOnly returns the existing job untouched', async () => {
      const uniqueOpts = { insertOnly: true };
      const first = await save({ name: 'once', data: { key: 'k', value: 'first' }, unique: { 'data.key': 'k' }, uniqueOpts });
      const second = await save({ name: 'once', data: { key: 'k', value: 'second' }, unique: { 'data.key': 'k' }, uniqueOpts, priority: 9 });
      expect(second._id).toBe(first._id);
      expect(second).toMatchObject({ data: { key: 'k', value: 'first' }, priority: 0 });
      expect(await count()).toBe(1);
    });

    it('inserts a new job when the unique values differ, comparing types strictly and nested paths', async () => {
      await save({ name: 'u', data: { n: 1 }, unique: { 'data.n': 1 } });
      await save({ name: 'u', data: { n: '1' }, unique: { 'data.n': '1' } });
      await save({ name: 'u', data: { n: true }, unique: { 'data.n': true } });
      await save({ name: 'u', data: { n: 1 }, unique: { 'data.n': 1 } });
      expect(await count()).toBe(3);

      const a = await save({ name: 'nested', data: { target: { org: 'a' } }, unique: { 'data.target.org': 'a' } });
      const b = await save({ name: 'nested', data: { target: { org: 'b' } }, unique: { 'data.target.org': 'b' } });
      const a2 = await save({ name: 'nested', data: { target: { org: 'a' }, again: true }, unique: { 'data.target.org': 'a' } });
      expect(a2._id).toBe(a._id);
      expect(b._id).not.toBe(a._id);
    });

    it('scopes the unique match to the job name and rejects keys it cannot translate', async () => {
      const a = await save({ name: 'first-name', data: { k: 1 }, unique: { 'data.k': 1 } });
      const b = await save({ name: 'other-name', data: { k: 1 }, unique: { 'data.k': 1 } });
      expect(b._id).not.toBe(a._id);
      await expect(save({ name: 'x', unique: { lockedAt: null } })).rejects.toThrow(/Unsupported unique key/);
    });

    it('debounces (trailing): pushes nextRunAt delay ms past the latest save and keeps one job', async () => {
      const debounced = (n: number): Partial<JobParameters> => ({
        name: 'reindex',
        data: { entity: 'orgs', n },
        unique: { 'data.entity': 'orgs' },
        uniqueOpts: { debounce: { delay: 1000, strategy: 'trailing' } },
      });
      const beforeMs = Date.now();
      const first = await save(debounced(1));
      expect(first.nextRunAt!.getTime()).toBeGreaterThanOrEqual(beforeMs + 1000);
      expect(first.debounceStartedAt).toBeInstanceOf(Date);
      await sleep(30);
      const second = await save(debounced(2));
      expect(second._id).toBe(first._id);
      expect(second.nextRunAt!.getTime()).toBeGreaterThan(first.nextRunAt!.getTime());
      expect(second.data).toEqual({ entity: 'orgs', n: 2 });
      expect(second.debounceStartedAt?.getTime()).toBe(first.debounceStartedAt?.getTime());
      expect(await count()).toBe(1);
    });

    it('debounces (leading): runs the first save as scheduled and keeps that time for later saves', async () => {
      const leading = (n: number): Partial<JobParameters> => ({
        name: 'notify',
        nextRunAt: new Date(),
        data: { channel: 'ops', n },
        unique: { 'data.channel': 'ops' },
        uniqueOpts: { debounce: { delay: 5000, strategy: 'leading' } },
      });
      const first = await save(leading(1));
      expect(Math.abs(first.nextRunAt!.getTime() - Date.now())).toBeLessThan(1000);
      await sleep(20);
      const second = await save(leading(2));
      expect(second.nextRunAt!.getTime()).toBe(first.nextRunAt!.getTime());
      expect(second.data).toEqual({ channel: 'ops', n: 2 });
    });

    it('debounces per burst: after the job has run (leading: after the window) a save starts a new burst', async () => {
      const leading: Partial<JobParameters> = {
        name: 'alert',
        nextRunAt: new Date(),
        data: { channel: 'ops' },
        unique: { 'data.channel': 'ops' },
        uniqueOpts: { debounce: { delay: 300, strategy: 'leading' } },
      };
      const first = await save(leading);
      await repo.saveJobState({ ...first, nextRunAt: null, lastRunAt: new Date() }, undefined); // it ran
      expect((await save({ ...leading, nextRunAt: new Date() })).nextRunAt).toBeNull(); // inside the window: ignored
      await sleep(320);
      const nextBurstMs = Date.now();
      expect((await save({ ...leading, nextRunAt: new Date(nextBurstMs) })).nextRunAt?.getTime()).toBe(nextBurstMs);

      const trailing: Partial<JobParameters> = {
        name: 'rebuild',
        data: { key: 'k' },
        unique: { 'data.key': 'k' },
        uniqueOpts: { debounce: { delay: 1000, maxWait: 100, strategy: 'trailing' } },
      };
      const ran = await save(trailing);
      await sleep(150);
      await repo.saveJobState({ ...ran, nextRunAt: null, lastRunAt: new Date() }, undefined); // it ran
      const beforeMs = Date.now();
      const reopened = await save(trailing);
      expect(reopened.nextRunAt!.getTime()).toBeGreaterThanOrEqual(beforeMs + 1000); // not forced by the old window
      expect(reopened.debounceStartedAt!.getTime()).toBeGreaterThanOrEqual(beforeMs);
    });

    it('debounces with maxWait: once the window is older than maxWait the job runs now', async () => {
      const withMaxWait: Partial<JobParameters> = {
        name: 'sync',
        data: { user: 'u1' },
        unique: { 'data.user': 'u1' },
        uniqueOpts: { debounce: { delay: 2000, maxWait: 100, strategy: 'trailing' } },
      };
      await save(withMaxWait);
      await sleep(150);
      const forced = await save(withMaxWait);
      expect(forced.nextRunAt!.getTime()).toBeLessThanOrEqual(Date.now());
      expect(forced.debounceStartedAt).toBeUndefined();
    });
  });
});

describe('getNextJobToRun', () => {
  it('hands out jobs by earliest nextRunAt, then higher priority, then insertion order', async () => {
    const nowMs = Date.now();
    const earliest = await save({ name: 'q', nextRunAt: new Date(nowMs - 3000), priority: -10 });
    const low = await save({ name: 'q', nextRunAt: new Date(nowMs - 1000), priority: 0 });
    const highOld = await save({ name: 'q', nextRunAt: new Date(nowMs - 1000), priority: 10 });
    const highNew = await save({ name: 'q', nextRunAt: new Date(nowMs - 1000), priority: 10 });
    const inScanWindow = await save({ name: 'q', nextRunAt: new Date(nowMs + 2000), priority: 50 });
    await save({ name: 'q', nextRunAt: new Date(nowMs + SCAN_WINDOW_MS + 1000), priority: 99 });
    await save({ name: 'q', nextRunAt: null, priority: 99 });
    await save({ name: 'other', nextRunAt: new Date(nowMs - 9000), priority: 99 });

    const order: unknown[] = [];
    for (let next = await nextToRun('q', nowMs); next; next = await nextToRun('q', nowMs)) order.push(next._id);
    expect(order).toEqual([earliest._id, highOld._id, highNew._id, low._id, inScanWindow._id]);
  });

  it('locks what it returns, at the time given, and does not hand it out again while the lock is fresh', async () => {
    const saved = await save({ name: 'lock-me', nextRunAt: new Date(Date.now() - 1000) });
    const nowMs = Date.now();
    const next = await repo.getNextJobToRun('lock-me', new Date(nowMs + 5000), new Date(nowMs - LOCK_LIFETIME_MS), new Date(nowMs), {
      lastModifiedBy: 'worker-1',
    });
    expect(next).toMatchObject({ _id: saved._id, lastModifiedBy: 'worker-1' });
    expect(next!.lockedAt!.getTime()).toBe(nowMs);
    expect((await repo.getJobById(saved._id))!.lockedAt!.getTime()).toBe(nowMs);
    expect(await nextToRun('lock-me')).toBeUndefined();
  });

  it('never returns disabled jobs', async () => {
    await save({ name: 'off', disabled: true, nextRunAt: new Date(Date.now() - MINUTE_MS) });
    const later = await save({ name: 'off', nextRunAt: new Date(Date.now() - 1000) });
    expect(await repo.disableJobs({ id: later._id })).toBe(1);
    expect(await nextToRun('off')).toBeUndefined();
    expect(await repo.enableJobs({ id: later._id })).toBe(1);
    expect((await nextToRun('off'))?._id).toBe(later._id);
  });

  it('recovers a job whose lock is older than the lock lifetime (its worker died)', async () => {
    const lockLifetimeMs = 1000;
    const saved = await save({ name: 'stale', nextRunAt: new Date(Date.now() - 5000) });
    const deadWorkerMs = Date.now() - 1500;
    expect((await nextToRun('stale', deadWorkerMs, lockLifetimeMs))?._id).toBe(saved._id);
    // Locked 1.5 s ago: still fresh for a 10 min lifetime, stale for a 1 s lifetime.
    expect(await nextToRun('stale', Date.now(), LOCK_LIFETIME_MS)).toBeUndefined();
    const nowMs = Date.now();
    const recovered = await nextToRun('stale', nowMs, lockLifetimeMs);
    expect(recovered?._id).toBe(saved._id);
    expect(recovered!.lockedAt!.getTime()).toBe(nowMs);
  });

  it('also recovers a one-time job that died mid-run (nextRunAt already cleared)', async () => {
    const saved = await save({ name: 'crashed', nextRunAt: new Date(Date.now() - 5000) });
    const locked = await nextToRun('crashed', Date.now() - 2000, 1000);
    // Job.run() clears nextRunAt before calling the handler; then the process died.
    await repo.saveJobState({ ...locked!, nextRunAt: null, lastRunAt: new Date(Date.now() - 2000) }, undefined);
    expect(await nextToRun('crashed', Date.now(), LOCK_LIFETIME_MS)).toBeUndefined();
    expect((await nextToRun('crashed', Date.now(), 1000))?._id).toBe(saved._id);
  });

  it('never gives the same job to two connections on the same file', async () => {
    const other = await secondRepository();
    const nowMs = Date.now();
    const ids = new Set<unknown>();
    for (let i = 0; i < 10; i++) ids.add((await save({ name: 'shared', nextRunAt: new Date(nowMs - i) }))._id);
    const handedOut: unknown[] = [];
    for (let round = 0; round < 12; round++) {
      const from = round % 2 === 0 ? repo : other;
      const next = await from.getNextJobToRun('shared', new Date(nowMs + 5000), new Date(nowMs - LOCK_LIFETIME_MS), new Date(nowMs), undefined);
      if (next) handedOut.push(next._id);
    }
    expect(handedOut).toHaveLength(10);
    expect(new Set(handedOut)).toEqual(ids);
  });
});

describe('lockJob', () => {
  it('locks only an unlocked, enabled job whose nextRunAt is still the one the caller saw', async () => {
    const saved = await save({ name: 'cas', nextRunAt: new Date(Date.now() - 1000) });
    const locked = await repo.lockJob(saved, { lastModifiedBy: 'me' });
    expect(locked).toMatchObject({ _id: saved._id, lastModifiedBy: 'me' });
    expect(locked!.lockedAt).toBeInstanceOf(Date);
    expect(await repo.lockJob(saved, undefined)).toBeUndefined();

    await repo.unlockJob(locked!);
    expect(await repo.lockJob({ ...saved, nextRunAt: new Date(Date.now() + MINUTE_MS) }, undefined)).toBeUndefined();
    expect(await repo.lockJob({ ...saved, name: 'other-name' }, undefined)).toBeUndefined();
    await repo.disableJobs({ id: saved._id });
    expect(await repo.lockJob(saved, undefined)).toBeUndefined();
    await repo.enableJobs({ id: saved._id });
    expect(await repo.lockJob(saved, undefined)).toBeDefined();
  });

  it('matches a null nextRunAt and ignores jobs without an id', async () => {
    const saved = await save({ name: 'no-next', nextRunAt: null });
    expect(await repo.lockJob(saved, undefined)).toBeDefined();
    expect(await repo.lockJob(jobParams(), undefined)).toBeUndefined();
  });
});

describe('unlocking', () => {
  it('unlockJob releases the lock the caller holds', async () => {
    await save({ name: 'u', nextRunAt: new Date(Date.now() - 1000) });
    const locked = await nextToRun('u');
    await repo.unlockJob(locked!);
    expect((await repo.getJobById(locked!._id!))!.lockedAt).toBeUndefined();
  });

  it('unlockJob keeps the lock of a running one-time job (nextRunAt null)', async () => {
    await save({ name: 'running', nextRunAt: new Date(Date.now() - 1000) });
    const locked = (await nextToRun('running'))!;
    const running = { ...locked, nextRunAt: null, lastRunAt: new Date() };
    await repo.saveJobState(running, undefined);
    await repo.unlockJob(running);
    expect((await repo.getJobById(locked._id!))!.lockedAt?.getTime()).toBe(locked.lockedAt!.getTime());
  });

  it('unlockJob does not release a lock another worker has taken since', async () => {
    await save({ name: 'taken', nextRunAt: new Date(Date.now() - 5000) });
    const mine = (await nextToRun('taken', Date.now() - 3000, 1000))!;
    const theirs = (await nextToRun('taken', Date.now(), 1000))!; // my lock went stale; another worker took it
    await repo.unlockJob(mine);
    expect((await repo.getJobById(mine._id!))!.lockedAt?.getTime()).toBe(theirs.lockedAt!.getTime());
  });

  it('unlockJobs releases the listed jobs whatever their nextRunAt (agenda.stop())', async () => {
    const a = await save({ name: 'many', nextRunAt: new Date(Date.now() - 2000) });
    const b = await save({ name: 'many', nextRunAt: new Date(Date.now() - 1000) });
    const c = await save({ name: 'many', nextRunAt: new Date(Date.now() - 500) });
    for (let i = 0; i < 3; i++) await nextToRun('many');
    await repo.saveJobState({ ...(await repo.getJobById(a._id))!, nextRunAt: null }, undefined);
    await repo.unlockJobs([a._id, b._id]);
    await repo.unlockJobs([]);
    expect((await repo.getJobById(a._id))!.lockedAt).toBeUndefined();
    expect((await repo.getJobById(b._id))!.lockedAt).toBeUndefined();
    expect((await repo.getJobById(c._id))!.lockedAt).toBeInstanceOf(Date);
  });
});

describe('onError: failed writes Agenda does not await or ignores', () => {
  it('reports a failed saveJobState and still rejects; a failed unlockJob is reported and resolves', async () => {
    const reported: Array<{ error: unknown; context: unknown }> = [];
    const watched = new SqliteBackend({ path: dbPath, onError: (error, context) => reported.push({ error, context }) }).repository;
    await watched.connect();
    const saved = await watched.saveJob(jobParams({ name: 'watched', nextRunAt: new Date(Date.now() - 1000) }), undefined);
    await watched.disconnect(); // any write now fails with "not connected"

    await expect(watched.saveJobState({ ...saved, failCount: 1 }, undefined)).rejects.toThrow(/not connected/);
    // Agenda calls unlockJob without awaiting it: a rejection there would be an unhandled rejection.
    await expect(watched.unlockJob(saved)).resolves.toBeUndefined();
    await expect(watched.removeJobs({ id: saved._id! })).rejects.toThrow(/not connected/);
    expect(reported.map((r) => r.context)).toEqual([
      { operation: 'saveJobState', jobId: String(saved._id), jobName: 'watched' },
      { operation: 'unlockJob', jobId: String(saved._id), jobName: 'watched' },
      { operation: 'removeJobs', jobId: String(saved._id) },
    ]);
    expect(reported.every((r) => r.error instanceof Error && /not connected/.test(r.error.message))).toBe(true);
    // Without a handler unlockJob keeps rejecting, as before.
    await repo.disconnect();
    await expect(repo.unlockJob(saved)).rejects.toThrow(/not connected/);
  });
});

describe('saveJobState', () => {
  it('writes the run state, clears lockedAt when the job has none, and keeps user fields', async () => {
    const saved = await save({ name: 'state', priority: 4, data: { keep: true }, nextRunAt: new Date(Date.now() - 1000) });
    const locked = (await nextToRun('state'))!;
    const finishedAt = new Date();
    await repo.saveJobState(
      { ...locked, lockedAt: undefined, lastRunAt: locked.lockedAt!, lastFinishedAt: finishedAt, failCount: 1, failReason: 'timeout', failedAt: finishedAt, progress: 100, nextRunAt: null },
      { lastModifiedBy: 'worker-2' },
    );
    const loaded = (await repo.getJobById(saved._id))!;
    expect(loaded).toMatchObject({ priority: 4, data: { keep: true }, failCount: 1, failReason: 'timeout', progress: 100, nextRunAt: null, lastModifiedBy: 'worker-2' });
    expect(loaded.lockedAt).toBeUndefined();
    expect(loaded.lastFinishedAt?.getTime()).toBe(finishedAt.getTime());
  });

  it('stores any failure reason as text and a non-numeric progress as none, so the save cannot throw', async () => {
    const saved = await save({ name: 'reasons' });
    const circular: Record<string, unknown> = { step: 'x' };
    circular['self'] = circular;
    const cases: Array<[unknown, string]> = [
      [{ some: 'object' }, '{"some":"object"}'],
      [{ name: 'Error', message: 'serialised error' }, 'serialised error'],
      [new TypeError('real error'), 'real error'],
      [404, '404'],
      [false, 'false'],
      [10n, '10'],
      [circular, '[object Object]'],
    ];
    for (const [reason, text] of cases) {
      await repo.saveJobState({ ...saved, failReason: reason as string, failCount: 1, progress: 'half' as unknown as number }, undefined);
      const loaded = (await repo.getJobById(saved._id))!;
      expect(loaded.failReason).toBe(text);
      expect(loaded.progress).toBeUndefined();
    }
    await repo.saveJobState({ ...saved, progress: '42.5' as unknown as number }, undefined);
    expect((await repo.getJobById(saved._id))!.progress).toBe(42.5);
  });

  it('throws when the job no longer exists or the name does not match', async () => {
    const saved = await save({ name: 'vanishing' });
    await expect(repo.saveJobState({ ...saved, name: 'renamed' }, undefined)).rejects.toThrow(/cannot be updated/);
    await repo.removeJobs({ id: saved._id });
    await expect(repo.saveJobState(saved, undefined)).rejects.toThrow(/cannot be updated/);
    await expect(repo.saveJobState(jobParams(), undefined)).rejects.toThrow(/without job ID/);
  });
});

describe('removeJobs, disableJobs, enableJobs', () => {
  async function seed(): Promise<Record<'a1' | 'a2' | 'b' | 'c', string>> {
    const a1 = await save({ name: 'a', data: { org: 'o1', tags: ['x'], deep: { level: 2 } } });
    const a2 = await save({ name: 'a', data: { org: 'o2' } });
    const b = await save({ name: 'b', data: { org: 'o1' } });
    const c = await save({ name: 'c', data: {} });
    return { a1: a1._id, a2: a2._id, b: b._id, c: c._id };
  }

  it('change nothing for an empty filter', async () => {
    await seed();
    const empties = [{}, { ids: [] }, { names: [] }, { notNames: [] }, { data: undefined }, { name: '' }];
    for (const filter of empties) {
      expect(await repo.disableJobs(filter), JSON.stringify(filter)).toBe(0);
      expect(await repo.enableJobs(filter), JSON.stringify(filter)).toBe(0);
      expect(await repo.removeJobs(filter), JSON.stringify(filter)).toBe(0);
    }
    expect(await count()).toBe(4);
    expect((await repo.queryJobs({ state: 'paused' })).total).toBe(0);
  });

  it('select by id, ids, name, names, notNames and partial data, ANDed together', async () => {
    const ids = await seed();
    expect(await repo.disableJobs({ id: ids.a1 })).toBe(1);
    expect(await repo.disableJobs({ ids: [ids.a2, ids.b, 'missing'] })).toBe(2);
    expect((await repo.queryJobs({ state: 'paused' })).total).toBe(3);
    expect(await repo.enableJobs({ names: ['a', 'b'] })).toBe(3);
    expect(await repo.disableJobs({ notNames: ['a', 'b'] })).toBe(1);
    expect(await repo.disableJobs({ name: 'a', data: { org: 'o1' } })).toBe(1);

    expect(await repo.removeJobs({ data: { deep: { level: 2 } } })).toBe(1);
    expect(await repo.removeJobs({ data: { org: 'o1' } })).toBe(1); // only b is left with org o1
    expect(await repo.removeJobs({ data: {} })).toBe(1); // {} matches data equal to {}, not everything
    expect(await repo.removeJobs({ id: ids.a2, name: 'b' })).toBe(0);
    expect(await repo.removeJobs({ name: 'a' })).toBe(1);
    expect(await count()).toBe(0);
  });
});

describe('queryJobs', () => {
  beforeEach(async () => {
    const nowMs = Date.now();
    await save({ name: 'send-webhook', priority: 10, nextRunAt: new Date(nowMs + MINUTE_MS), data: { org: 'o1', attempt: 1 } });
    await save({ name: 'send-webhook', priority: 15, nextRunAt: new Date(nowMs + 3 * MINUTE_MS), data: { org: 'o2', attempt: 2 } });
    await save({ name: 'prune_100%', priority: 5, nextRunAt: new Date(nowMs - MINUTE_MS), data: { org: 'o1' } });
    await save({ name: 'digest', type: 'single', repeatInterval: '1 hour', nextRunAt: new Date(nowMs + 2 * MINUTE_MS), data: {} });
    await save({ name: 'paused', disabled: true, nextRunAt: new Date(nowMs + 4 * MINUTE_MS), data: {} });
  });

  it('filters by name, names, id, ids, search and partial data', async () => {
    expect((await repo.queryJobs({ name: 'send-webhook' })).total).toBe(2);
    expect((await repo.queryJobs({ names: ['send-webhook', 'digest'] })).total).toBe(3);
    const one = (await repo.queryJobs({ name: 'digest' })).jobs[0]!;
    expect((await repo.queryJobs({ id: one._id })).jobs.map((j) => j.name)).toEqual(['digest']);
    expect((await repo.queryJobs({ ids: [one._id, 'nope'] })).total).toBe(1);
    expect((await repo.queryJobs({ search: 'WEBHOOK' })).total).toBe(2);
    expect((await repo.queryJobs({ search: '100%' })).jobs.map((j) => j.name)).toEqual(['prune_100%']);
    expect((await repo.queryJobs({ search: '_' })).jobs.map((j) => j.name)).toEqual(['prune_100%']);
    expect((await repo.queryJobs({ data: { org: 'o1' } })).total).toBe(2);
    expect((await repo.queryJobs({ data: { org: 'o1', attempt: 1 } })).total).toBe(1);
    expect((await repo.queryJobs({ name: 'send-webhook', data: { attempt: '1' } })).total).toBe(0);
  });

  it('excludes disabled jobs only when asked, and computes each job state', async () => {
    expect((await repo.queryJobs()).total).toBe(5);
    expect((await repo.queryJobs({ includeDisabled: false })).total).toBe(4);
    const states = Object.fromEntries((await repo.queryJobs()).jobs.map((j) => [j.name + j.priority, j.state]));
    expect(states).toEqual({ 'send-webhook10': 'scheduled', 'send-webhook15': 'scheduled', 'prune_100%5': 'queued', digest0: 'repeating', paused0: 'scheduled' });
    expect((await repo.queryJobs({ state: 'queued' })).jobs.map((j) => j.name)).toEqual(['prune_100%']);
    expect((await repo.queryJobs({ state: 'paused' })).jobs.map((j) => j.name)).toEqual(['paused']);

    await nextToRun('prune_100%');
    expect((await repo.queryJobs({ state: 'running' })).jobs.map((j) => j.name)).toEqual(['prune_100%']);
  });

  it('sorts (default: latest nextRunAt first) and paginates after filtering, reporting the total', async () => {
    const byDefault = (await repo.queryJobs()).jobs.map((j) => j.name);
    expect(byDefault).toEqual(['paused', 'send-webhook', 'digest', 'send-webhook', 'prune_100%']);
    const byPriority = await repo.queryJobs({ sort: { priority: 'desc' }, skip: 1, limit: 2 });
    expect(byPriority.total).toBe(5);
    expect(byPriority.jobs.map((j) => j.priority)).toEqual([10, 5]);
    const scheduledPage = await repo.queryJobs({ state: 'scheduled', sort: { nextRunAt: 'asc' }, skip: 1, limit: 1 });
    expect(scheduledPage.total).toBe(3);
    expect(scheduledPage.jobs.map((j) => j.priority)).toEqual([15]);
  });
});

describe('overview and counts', () => {
  it('getJobsOverview counts jobs per name and state, getDistinctJobNames lists names once', async () => {
    const nowMs = Date.now();
    await save({ name: 'report', nextRunAt: new Date(nowMs + MINUTE_MS) });
    await save({ name: 'report', nextRunAt: null, lastFinishedAt: new Date(nowMs) });
    await save({ name: 'report', nextRunAt: null, failedAt: new Date(nowMs), lastFinishedAt: new Date(nowMs) });
    await save({ name: 'report', nextRunAt: new Date(nowMs - 1000), disabled: true });
    await save({ name: 'alpha', nextRunAt: new Date(nowMs - 1000) });
    await nextToRun('alpha');

    const overview = await repo.getJobsOverview();
    expect(overview).toEqual([
      { name: 'alpha', total: 1, running: 1, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 },
      { name: 'report', total: 4, running: 0, scheduled: 1, queued: 1, completed: 1, failed: 1, repeating: 0, paused: 1 },
    ]);
    expect(await repo.getDistinctJobNames()).toEqual(['alpha', 'report']);
  });

  it('getQueueSize counts jobs that are due; purgeAllJobs removes every job and says how many', async () => {
    await save({ nextRunAt: new Date(Date.now() - MINUTE_MS) });
    await save({ nextRunAt: new Date(Date.now() - 1000) });
    await save({ nextRunAt: new Date(Date.now() + MINUTE_MS) });
    await save({ nextRunAt: null });
    expect(await repo.getQueueSize()).toBe(2);
    expect(await repo.purgeAllJobs()).toBe(4);
    expect(await repo.getQueueSize()).toBe(0);
    expect(await repo.getDistinctJobNames()).toEqual([]);
  });
});
