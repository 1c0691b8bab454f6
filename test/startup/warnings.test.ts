import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_PATH, exitWithin, PROJECT_ROOT } from '../support/cli-process.js';
import { TEST_ENV } from '../support/server.js';

/** Starts `serve` with `env`, returns its log lines up to and including the warnings after "listening". */
async function startupLines(env: Record<string, string>): Promise<{ level: number; msg: string }[]> {
  const dir = mkdtempSync(join(tmpdir(), 'audithook-warn-'));
  const child = spawn(process.execPath, [CLI_PATH, 'serve'], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', AUDITHOOK_SECRET_KEY: TEST_ENV.AUDITHOOK_SECRET_KEY!, DATABASE_URL: `sqlite:${join(dir, 'a.db')}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        stdout += chunk;
        if (stdout.includes('audithook listening on')) setImmediate(resolve);
      });
    });
    child.kill('SIGTERM');
    await exitWithin(child, 5_000);
    return stdout.trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('audithook serve: start-up warnings', () => {
  it('warns once for each of AUDITHOOK_ALLOW_HTTP and AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS when on', async () => {
    const lines = await startupLines({ AUDITHOOK_ALLOW_HTTP: 'true', AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'true' });
    const warnings = lines.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings.filter((m) => m.startsWith('AUDITHOOK_ALLOW_HTTP is on'))).toHaveLength(1);
    expect(warnings.filter((m) => m.startsWith('AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS is on'))).toHaveLength(1);
  });

  it('warns about neither when both are off', async () => {
    const lines = await startupLines({});
    expect(lines.filter((l) => l.level === 40 && /AUDITHOOK_ALLOW_/.test(l.msg))).toEqual([]);
  });
});
