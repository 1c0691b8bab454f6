import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { adminClient, TEST_POSTGRES_ADMIN_URL } from '../support/postgres-admin.js';
import { tempDir } from '../support/temp-dir.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The rows audithook on PostgreSQL gets per worker count (here one api process and one worker). */
const POSTGRES_ROW_IDS = ['idle.p50', 'idle.p95', 'idle.p99', 'single.ingest', 'single.delivered', 'batch.ingest', 'batch.delivered', 'backlog.drain', 'rss.peak'].map((row) => `audithook.postgres.w1.${row}`);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Row {
  id: string;
  value: unknown;
  status: string;
  comparisons: { label: string; ratio: unknown; target: unknown }[];
}

describe('npm run bench -- --smoke --database postgres --workers 1 (the PostgreSQL rows, tiny counts, as a child process)', () => {
  const out = tempDir('audithook-bench-pg-smoke-');
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('measures one api and one worker process on a throwaway database (tenant isolation too), drops it, and leaves no process behind', async () => {
    // The baselines the PostgreSQL rows are compared with; audithook on SQLite and the peer have their own smoke test.
    const args = ['--smoke', '--parties', 'raw,apollo', '--database', 'postgres', '--workers', '1', '--postgres-url', TEST_POSTGRES_ADMIN_URL, '--out', out];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'test/bench/run-bench.mjs'), ...args], { cwd: root, timeout: 200_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('audithook PostgreSQL, 1 worker');

    const report = JSON.parse(readFileSync(join(out, 'latest-smoke.json'), 'utf8'));
    expect(report.config.database).toBe('postgres');
    expect(report.config.postgresWorkers).toEqual([1]);
    const rows = new Map<string, Row>(report.rows.map((row: Row) => [row.id, row]));
    for (const id of POSTGRES_ROW_IDS) {
      const row = rows.get(id);
      expect(row, id).toBeDefined();
      expect(row!.status, id).toBe('ok');
      expect(typeof row!.value, id).toBe('number');
      expect(Number.isFinite(row!.value), id).toBe(true);
      // Beside audithook on SQLite and the peer (not selected here: no ratio), never a target of its own.
      expect(row!.comparisons.map((c) => c.label), id).toEqual(expect.arrayContaining(['audithook SQLite', 'BullMQ peer']));
      expect(row!.comparisons.filter((c) => c.target), id).toEqual([]);
    }
    // Tenant isolation on PostgreSQL (one worker): every event arrived in both phases, and the bound is a target.
    for (const id of ['alone.p50', 'alone.p95', 'beside.p50', 'beside.p95'].map((row) => `audithook.postgres.w1.isolation.${row}`)) {
      expect(rows.get(id)?.status, id).toBe('ok');
    }
    const beside = rows.get('audithook.postgres.w1.isolation.beside.p95')!;
    expect(beside.comparisons.find((c) => c.label.startsWith('max(200 ms, 3× alone p95)'))?.target).toBeTruthy();
    // Ratios to the baselines measured in the same run.
    expect(rows.get('audithook.postgres.w1.batch.delivered')!.comparisons.find((c) => c.label === 'raw loop c16')!.ratio).toEqual(expect.any(Number));
    expect(rows.get('audithook.postgres.w1.single.ingest')!.comparisons.find((c) => c.label === 'bare Apollo')!.ratio).toEqual(expect.any(Number));
    // Every event of the throughput scenarios arrived.
    const figures = report.raw.postgres.w1;
    for (const scenario of ['single', 'batch']) expect(figures[scenario].arrived, scenario).toBe(figures[scenario].events);
    expect(figures.backlog.complete).toBe(true);

    // The throwaway database is gone, and so is every process: receiver, load generators, api, worker.
    expect(figures.database).toMatch(/^audithook_bench_\d+_[0-9a-f]+$/);
    const client = await adminClient();
    try {
      expect((await client.query('select 1 from pg_database where datname = $1', [figures.database])).rowCount).toBe(0);
    } finally {
      await client.end();
    }
    const started = report.processes.map((p: { name: string }) => p.name);
    expect(started).toEqual(expect.arrayContaining(['audithook serve --role api', 'audithook serve --role worker (1 of 1)']));
    expect(report.processes.filter((p: { pid: number }) => alive(p.pid))).toEqual([]);
  }, 240_000);
});
