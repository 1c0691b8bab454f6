import { spawn } from 'node:child_process';

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_PATH, exitWithin, PROJECT_ROOT } from '../support/cli-process.js';
import { TEST_ENV } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { testDatabaseUrl } from '../support/test-database.js';

/** Well inside the 10 s grace period for webhook requests in flight; an idle server stops in milliseconds. */
const EXIT_LIMIT_MS = 5_000;

describe('audithook serve: SIGTERM', () => {
  it('exits 0 within the grace period even when whatever read its stdout has gone away', async () => {
    const dir = tempDir('audithook-sigterm-');
    const child = spawn(process.execPath, [CLI_PATH, 'serve'], {
      cwd: PROJECT_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'info',
        AUDITHOOK_SECRET_KEY: TEST_ENV.AUDITHOOK_SECRET_KEY!,
        DATABASE_URL: await testDatabaseUrl(dir),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.includes('audithook listening on')) resolve();
        });
      });
      // the reader goes away (a closed terminal, a log shipper that died): every later write to stdout fails with EPIPE
      child.stdout.destroy();
      const started = Date.now();
      child.kill('SIGTERM');
      const exit = await exitWithin(child, EXIT_LIMIT_MS);
      expect(exit, `still running ${EXIT_LIMIT_MS} ms after SIGTERM`).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(EXIT_LIMIT_MS);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
