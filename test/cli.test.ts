import { execFile } from 'node:child_process';

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_ENV } from './support/server.js';
import { tempDir } from './support/temp-dir.js';
import { testDatabaseUrl } from './support/test-database.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const cli = join(root, 'dist/src/cli.js');

async function audithook(args: string[], env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd: env.CWD ?? root });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('audithook CLI (compiled, as a child process)', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = tempDir('audithook-cli-');
    env = { DATABASE_URL: await testDatabaseUrl(dir), AUDITHOOK_SECRET_KEY: TEST_ENV.AUDITHOOK_SECRET_KEY!, LOG_LEVEL: 'silent' };
  });

  it('creates an organization and tokens that the server accepts', async () => {
    const migrated = await audithook(['migrate'], env);
    expect(migrated).toMatchObject({ code: 0 });
    const org = await audithook(['org', 'create', '--name', 'Acme', '--json'], env);
    expect(org.code).toBe(0);
    const created = JSON.parse(org.stdout);
    expect(created).toEqual({ organization: { id: expect.stringMatching(/^org_/), name: 'Acme' }, token: expect.stringMatching(/^ah_/) });
    const token = await audithook(['token', 'create', '--org', created.organization.id, '--role', 'INGEST', '--label', 'ci', '--json'], env);
    expect(token.code).toBe(0);
    const ingest = JSON.parse(token.stdout);
    expect(ingest.apiToken).toMatchObject({ role: 'INGEST', label: 'ci', organizationId: created.organization.id });

    const server = await startTestServer({}, { dir });
    try {
      const viewer = await server.gql(`query { viewer { role organization { id name } } }`, {}, created.token);
      expect(viewer.data!.viewer).toEqual({ role: 'ADMIN', organization: { id: created.organization.id, name: 'Acme' } });
      const asIngest = await server.gql(`query { viewer { role } }`, {}, ingest.token);
      expect(asIngest.data!.viewer.role).toBe('INGEST');
    } finally {
      await server.stop();
    }
  });

  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [['org', 'create'], /--name/],
    [['org', 'create', '--name', 'X', '--bogus'], /bogus/],
    [['token', 'create', '--org', 'org_x', '--role', 'OWNER'], /--role ADMIN or --role INGEST/],
  ])('exits 2 with a clear message for %j', async (args, message) => {
    const result = await audithook(args, env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('exits non-zero for an unknown organization and for bad configuration', async () => {
    const unknown = await audithook(['token', 'create', '--org', 'org_missing', '--role', 'ADMIN'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no organization org_missing/);
    const badConfig = await audithook(['migrate'], { ...env, PORT: 'abc' });
    expect(badConfig.code).toBe(78);
    expect(badConfig.stderr).toMatch(/PORT/);
  });
});
