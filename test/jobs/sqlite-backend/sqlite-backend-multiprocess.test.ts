import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteBackend } from '../../../src/jobs/sqlite-backend/index.js';
import type { SqliteJobRepository } from '../../../src/jobs/sqlite-backend/index.js';
import type { RunRecord } from './fixtures/agenda-worker.js';
import { jobParams, makeTempDir, waitUntil } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const JOB_COUNT = 200;
const JOB_NAME = 'shared-work';

interface Worker {
  child: ChildProcess;
  logPath: string;
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts a separate `node` process running Agenda on the shared file (TypeScript sources, types stripped by Node). */
function startWorker(dbPath: string, logPath: string): Worker {
  const child = spawn(
    process.execPath,
    ['--import', join(FIXTURES, 'resolve-ts-hook.mjs'), join(FIXTURES, 'agenda-worker.ts')],
    {
      cwd: fileURLToPath(new URL('../../../', import.meta.url)),
      // A minimal environment: nothing from the test runner (NODE_OPTIONS, loaders) leaks into the worker.
      env: { PATH: process.env['PATH'] ?? '', SQLITE_PATH: dbPath, RUN_LOG: logPath, JOB_NAME },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', (message) => (message === 'ready' ? resolve() : reject(new Error(`unexpected message ${String(message)}`))));
    void exited.then((code) => reject(new Error(`worker exited with ${code} before it was ready:\n${stderr}`)));
  });
  return { child, logPath, ready, exited, stderr: () => stderr };
}

function readRuns(logPath: string): RunRecord[] {
  if (!existsSync(logPath)) return [];
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RunRecord);
}

describe('two worker processes sharing one SQLite file', () => {
  let dir: string;
  let repo: SqliteJobRepository;
  let workers: Worker[] = [];

  beforeAll(async () => {
    dir = await makeTempDir();
  });

  afterAll(async () => {
    for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill();
    await repo?.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it(`runs each of ${JOB_COUNT} jobs exactly once, never in both processes`, async () => {
    const dbPath = join(dir, 'shared.sqlite');
    repo = new SqliteBackend({ path: dbPath }).repository;
    await repo.connect();

    workers = [startWorker(dbPath, join(dir, 'runs-a.jsonl')), startWorker(dbPath, join(dir, 'runs-b.jsonl'))];
    await Promise.all(workers.map((w) => w.ready));

    // The workers are already polling while these are written, as when an API process enqueues work.
    const jobIds = new Set<string>();
    for (let i = 0; i < JOB_COUNT; i++) {
      const saved = await repo.saveJob(jobParams({ name: JOB_NAME, priority: i % 3, data: { i } }), undefined);
      jobIds.add(String(saved._id));
    }

    const diagnostics = (): string => workers.map((w, i) => `worker ${i} stderr:\n${w.stderr()}`).join('\n');
    await waitUntil(
      `all ${JOB_COUNT} jobs to finish and unlock\n${diagnostics()}`,
      async () => {
        const { jobs } = await repo.queryJobs({ name: JOB_NAME });
        return jobs.length === JOB_COUNT && jobs.every((job) => job.lastFinishedAt && !job.lockedAt);
      },
      30_000,
    );
    for (const worker of workers) worker.child.send('stop');
    expect(await Promise.all(workers.map((w) => w.exited)), diagnostics()).toEqual([0, 0]);

    const runs = workers.flatMap((w) => readRuns(w.logPath));
    const runsByJob = new Map<string, RunRecord[]>();
    for (const run of runs) runsByJob.set(run.jobId, [...(runsByJob.get(run.jobId) ?? []), run]);
    const ranMoreThanOnce = [...runsByJob.entries()].filter(([, jobRuns]) => jobRuns.length > 1);

    expect(ranMoreThanOnce).toEqual([]);
    expect(new Set(runsByJob.keys())).toEqual(jobIds);
    expect(runs).toHaveLength(JOB_COUNT);
    // Both processes took part, so the exactly-once result came from the locking, not from one idle worker.
    const pids = workers.map((w) => w.child.pid);
    for (const pid of pids) expect(runs.filter((run) => run.pid === pid).length).toBeGreaterThan(0);
    expect(runs.every((run) => pids.includes(run.pid) && run.endMs >= run.startMs)).toBe(true);

    const { jobs } = await repo.queryJobs({ name: JOB_NAME });
    expect(jobs.every((job) => job.nextRunAt === null && job.failCount === undefined)).toBe(true);
  });
});
