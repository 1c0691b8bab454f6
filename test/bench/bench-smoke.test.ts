import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/temp-dir.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every row the table must have, whatever the figures. */
const ROW_IDS = [
  'raw.c1',
  'raw.c16',
  'apollo.single.ingest',
  'apollo.batch.ingest',
  ...['audithook', 'bullmq'].flatMap((party) =>
    ['idle.p50', 'idle.p95', 'idle.p99', 'single.ingest', 'single.delivered', 'batch.ingest', 'batch.delivered', 'backlog.drain', 'rss.peak'].map((row) => `${party}.${row}`),
  ),
  // Tenant isolation: the healthy organization alone, then beside 40 organizations whose receivers hang.
  ...['alone.p50', 'alone.p95', 'beside.p50', 'beside.p95'].map((row) => `audithook.isolation.${row}`),
  // Retention: idle latency over a large old history, without and then during its prune.
  ...['quiet.p50', 'quiet.p99', 'during.p50', 'during.p99'].map((row) => `audithook.prune.${row}`),
];

function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 6379 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run bench -- --smoke (every scenario and baseline, tiny counts, as a child process)', () => {
  const out = tempDir('audithook-bench-smoke-');
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('writes a JSON report with every row as a number, a PNG chart, and leaves no process behind', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'test/bench/run-bench.mjs'), '--smoke', '--out', out], { cwd: root, timeout: 200_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/targets: \d+ of 15 met/);

    const report = JSON.parse(readFileSync(join(out, 'latest-smoke.json'), 'utf8'));
    expect(report.mode).toBe('smoke');
    const rows = new Map<string, { value: unknown; status: string; comparisons: { ratio: unknown; target: unknown; met: unknown }[] }>(report.rows.map((row: { id: string }) => [row.id, row]));
    expect([...rows.keys()].sort()).toEqual([...ROW_IDS].sort());

    // The BullMQ rows may be skipped only when this machine has no Redis at all.
    const redisPossible = (await redisAnswers()) || existsSync('/usr/bin/redis-server');
    for (const id of ROW_IDS) {
      const row = rows.get(id)!;
      if (id.startsWith('bullmq.') && !redisPossible) {
        expect(row.status, id).toMatch(/^skipped: no Redis/);
        continue;
      }
      expect(row.status, id).toBe('ok');
      expect(typeof row.value, id).toBe('number');
      expect(Number.isFinite(row.value), id).toBe(true);
    }
    // Every target is decided (met or not) when every figure is there.
    if (redisPossible) {
      const targets = report.rows.flatMap((row: { comparisons: { target: unknown; met: unknown; ratio: unknown }[] }) => row.comparisons.filter((c) => c.target));
      expect(targets).toHaveLength(15);
      for (const target of targets) {
        expect(typeof target.met).toBe('boolean');
        expect(typeof target.ratio).toBe('number');
      }
    }

    const png = readFileSync(join(out, 'latest-smoke.png'));
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(10_000);

    // The isolation row ran its scenario: 40 hanging organizations, each held to its own slots.
    const isolation = report.raw.audithook.isolation;
    expect(isolation.hangingTenants).toBe(40);
    expect(isolation.hanging.timedOut).toBeGreaterThanOrEqual(80);
    expect(isolation.hanging.maxOpenPerReceiver).toBeLessThanOrEqual(4);

    // The prune rows ran over their seeded history, and every old delivery went.
    const prune = report.raw.audithook.prune;
    expect(prune.seededDeliveries).toBe(5_000);
    expect(prune.pruneSeconds).toBeGreaterThan(0);

    // Receiver, load generators, servers, worker, hanging tenants (and a Redis it started): all gone.
    expect(report.processes.length).toBeGreaterThanOrEqual(8);
    expect(report.processes.filter((p: { pid: number }) => alive(p.pid))).toEqual([]);
  }, 240_000);
});
