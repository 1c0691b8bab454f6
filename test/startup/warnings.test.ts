
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServerProcess, type LogEntry } from '../support/server-process.js';
import { TEST_ENV, waitFor } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { testDatabaseUrl } from '../support/test-database.js';

/** Runs `serve` with `env` until it has stopped again, and returns every log line it wrote. */
async function logsOfARun(env: Record<string, string>): Promise<LogEntry[]> {
  const dir = tempDir('audithook-warn-');
  const server = await startServerProcess({ HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', AUDITHOOK_SECRET_KEY: TEST_ENV.AUDITHOOK_SECRET_KEY!, DATABASE_URL: await testDatabaseUrl(dir, 'a.db'), ...env });
  expect(await server.stop()).toBe(0);
  await waitFor(() => server.logs.some((line) => line.msg === 'stopped'));
  return server.logs;
}

describe('audithook serve: start-up warnings', () => {
  it('warns once for each of AUDITHOOK_ALLOW_HTTP and AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS when on', async () => {
    const warnings = (await logsOfARun({ AUDITHOOK_ALLOW_HTTP: 'true', AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'true' })).filter((l) => l.level === 40).map((l) => l.msg ?? '');
    expect(warnings.filter((m) => m.startsWith('AUDITHOOK_ALLOW_HTTP is on'))).toHaveLength(1);
    expect(warnings.filter((m) => m.startsWith('AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS is on'))).toHaveLength(1);
  });

  it('warns about neither when both are off', async () => {
    const lines = await logsOfARun({});
    expect(lines.filter((l) => l.level === 40 && /AUDITHOOK_ALLOW_/.test(l.msg ?? ''))).toEqual([]);
  });
});
