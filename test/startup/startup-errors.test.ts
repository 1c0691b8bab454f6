import { chmodSync, mkdirSync, mkdtempSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, linesOf, runCli, type CliResult } from '../support/cli-process.js';
import { TEST_ENV } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';

/** A name getaddrinfo refuses locally (a label longer than 63 characters), so no DNS query leaves the machine. */
const UNRESOLVABLE_HOST = `${'a'.repeat(70)}.invalid`;
const NOBODY = 65534;

/**
 * Lets another user reach `paths` (the project and its Node binary, for the run as nobody): folders
 * on the way that others cannot traverse (a CI clone under a 0700 mktemp folder) get o+x until restore().
 */
function grantTraverse(paths: string[]): { restore(): void } {
  const changed = new Map<string, number>();
  for (const path of paths) {
    for (let dir = dirname(realpathSync(path)); ; dir = dirname(dir)) {
      const mode = statSync(dir).mode & 0o7777;
      if ((mode & 0o001) === 0 && !changed.has(dir)) {
        changed.set(dir, mode);
        chmodSync(dir, mode | 0o001);
      }
      if (dir === dirname(dir)) break;
    }
  }
  return { restore: () => changed.forEach((mode, dir) => chmodSync(dir, mode)) };
}

function expectOneLine(result: CliResult, code: number, message: RegExp): void {
  expect(result.signal).toBeNull();
  expect(linesOf(result.stderr)).toEqual([expect.stringMatching(message)]);
  expect(result.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(result.code).toBe(code);
}

describe('audithook serve: start-up failures print one line naming the cause', () => {
  let dir: string;
  let occupied: Server;
  let occupiedPort: number;
  const env = (extra: Record<string, string> = {}) => ({
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'silent',
    DATABASE_URL: `sqlite:${join(mkdtempSync(join(dir, 'db-')), 'audithook.db')}`,
    ...extra,
  });

  beforeAll(async () => {
    dir = tempDir('audithook-startup-');
    chmodSync(dir, 0o755); // other users (the EACCES case) may traverse it
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
    occupiedPort = (occupied.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => occupied.close(resolve));
  });

  it('a port already in use: exit 1', async () => {
    const result = await runCli(['serve'], env({ PORT: String(occupiedPort) }));
    expectOneLine(result, 1, new RegExp(`^audithook: cannot listen on 127\\.0\\.0\\.1:${occupiedPort}: address already in use`));
  });

  it('a HOST that does not resolve: exit 78', async () => {
    const result = await runCli(['serve'], env({ HOST: UNRESOLVABLE_HOST }));
    expectOneLine(result, 78, new RegExp(`^audithook: cannot listen on HOST "${UNRESOLVABLE_HOST}": the name does not resolve .*ENOTFOUND`));
  });

  it('a HOST address that is not on this machine: exit 78', async () => {
    const result = await runCli(['serve'], env({ HOST: '192.0.2.1' })); // TEST-NET-1: binding fails locally; PORT=0
    expectOneLine(result, 78, /^audithook: cannot listen on 192\.0\.2\.1: address not available on this machine \(EADDRNOTAVAIL\)/);
  });

  it.each([
    ['with a generated secret key (config writes secret.key first)', {}],
    ['with AUDITHOOK_SECRET_KEY set (the database opens first)', { AUDITHOOK_SECRET_KEY: TEST_ENV.AUDITHOOK_SECRET_KEY! }],
  ])('a data folder that cannot be created, even by root (a file in its path), %s: exit 1', async (_label, extra) => {
    const file = join(mkdtempSync(join(dir, 'notdir-')), 'a-file');
    writeFileSync(file, 'not a folder\n');
    const result = await runCli(['serve'], env({ DATABASE_URL: `sqlite:${join(file, 'data', 'audithook.db')}`, ...extra }));
    expectOneLine(result, 1, new RegExp(`^audithook: cannot write ${file}/data: .*\\(ENOTDIR\\); the data folder \\(DATABASE_URL\\) must be a writable folder$`));
  });

  it.each([
    ['with a generated secret key', {}, 'secret.key'],
    ['with AUDITHOOK_SECRET_KEY set', { AUDITHOOK_SECRET_KEY: TEST_ENV.AUDITHOOK_SECRET_KEY! }, ''],
  ])('a data folder this user may not write (EACCES), %s: exit 1', async (_label, extra, file) => {
    const data = mkdtempSync(join(dir, 'readonly-'));
    const asRoot = process.getuid?.() === 0;
    // root writes anywhere, so as root the server runs as nobody; otherwise the folder is made read-only
    if (asRoot) chmodSync(data, 0o755);
    else chmodSync(data, 0o555);
    const access = asRoot ? grantTraverse([CLI_PATH, process.execPath]) : { restore() {} };
    let result: CliResult;
    try {
      result = await runCli(['serve'], env({ DATABASE_URL: `sqlite:${join(data, 'audithook.db')}`, ...extra }), asRoot ? { uid: NOBODY, gid: NOBODY } : {});
    } finally {
      access.restore();
    }
    const path = file === '' ? data : join(data, file);
    expectOneLine(result, 1, new RegExp(`^audithook: cannot write ${path}: permission denied \\(EACCES\\)`));
  });

  it('a folder that exists keeps working (the check does not refuse a writable data folder)', async () => {
    const data = join(mkdtempSync(join(dir, 'ok-')), 'nested', 'data');
    mkdirSync(data, { recursive: true });
    const result = await runCli(['migrate'], env({ DATABASE_URL: `sqlite:${join(data, 'audithook.db')}` }));
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });
});
