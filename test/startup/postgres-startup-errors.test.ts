import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, runCli, type CliResult } from '../support/cli-process.js';
import { TEST_ENV } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { createPostgresDatabase } from '../support/test-database.js';

/** A name getaddrinfo refuses locally (a label longer than 63 characters), so no DNS query leaves the machine. */
const UNRESOLVABLE_HOST = `${'a'.repeat(70)}.invalid`;
const PASSWORD = 'correct-horse-battery';

function expectOneLine(result: CliResult, code: number, message: RegExp): void {
  expect(result.signal).toBeNull();
  expect(linesOf(result.stderr)).toEqual([expect.stringMatching(message)]);
  expect(result.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(result.stderr + result.stdout).not.toContain(PASSWORD);
  expect(result.stderr + result.stdout).not.toContain('wrong-password');
  expect(result.code).toBe(code);
}

/** A free TCP port on 127.0.0.1 that nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Debian's PostgreSQL binaries (initdb, pg_ctl) of the installed major version. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a))[0] : undefined;
  if (!version) throw new Error('Debian\'s postgresql package is needed (initdb, pg_ctl under /usr/lib/postgresql/<version>/bin)');
  return join(root, version, 'bin');
}

/**
 * A private PostgreSQL cluster that checks passwords (scram-sha-256), on a free port: the shared test
 * server trusts every local connection, so a wrong password can only be refused by one of our own.
 * As root it runs as the postgres user (initdb refuses root).
 */
async function startPasswordCluster(): Promise<{ port: number; stop(): void }> {
  const dir = tempDir('audithook-pgcluster-');
  const asPostgres = process.getuid?.() === 0 ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) } : {};
  if ('uid' in asPostgres) chownSync(dir, asPostgres.uid!, asPostgres.gid!);
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PASSWORD}\n`);
  if ('uid' in asPostgres) chownSync(pwfile, asPostgres.uid!, asPostgres.gid!);
  const data = join(dir, 'data');
  const bin = postgresBin();
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync'], { ...asPostgres, stdio: 'ignore' });
  const port = await closedPort();
  const server: ChildProcess = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], { ...asPostgres, stdio: 'ignore' });
  // Ready once it accepts a connection (pg_isready needs no password).
  for (let i = 0; ; i++) {
    try {
      execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
      break;
    } catch {
      if (i > 200 || server.exitCode !== null) throw new Error('the private PostgreSQL cluster did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { port, stop: () => server.kill('SIGQUIT') };
}

describe('audithook on PostgreSQL: a database it cannot use is one line naming DATABASE_URL, exit 78', () => {
  let cluster: { port: number; stop(): void };
  const env = (databaseUrl: string) => ({ ...TEST_ENV, LOG_LEVEL: 'info', DATABASE_URL: databaseUrl });

  beforeAll(async () => {
    cluster = await startPasswordCluster();
  });
  afterAll(() => cluster?.stop());

  it('a wrong password: names the user, never the password', async () => {
    const url = `postgres://postgres:wrong-password@127.0.0.1:${cluster.port}/postgres`;
    const result = await runCli(['serve'], env(url));
    expectOneLine(result, 78, new RegExp(`^audithook: cannot connect to the PostgreSQL database in DATABASE_URL \\(postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${cluster.port}/postgres\\): wrong password for user "postgres" \\(28P01\\)$`));
  });

  it('the right password works (the cluster itself is fine): migrate applies the schema', async () => {
    const result = await runCli(['migrate'], env(`postgres://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:${cluster.port}/postgres`));
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^applied Migration20261125002932_initial/);
    expect(result.code).toBe(0);
  });

  it('a database that does not exist', async () => {
    const result = await runCli(['serve'], env(`postgres://postgres:${PASSWORD}@127.0.0.1:5432/audithook_no_such_database`));
    expectOneLine(result, 78, /^audithook: cannot connect to the PostgreSQL database in DATABASE_URL \(postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/audithook_no_such_database\): database "audithook_no_such_database" does not exist \(3D000\)/);
  });

  it('the same from `audithook migrate`', async () => {
    const result = await runCli(['migrate'], env(`postgres://postgres@127.0.0.1:5432/audithook_no_such_database`));
    expectOneLine(result, 78, /^audithook: cannot connect to the PostgreSQL database in DATABASE_URL \(postgres:\/\/postgres@127\.0\.0\.1:5432\/audithook_no_such_database\): database "audithook_no_such_database" does not exist \(3D000\)/);
  });

  it('a port nothing listens on', async () => {
    const port = await closedPort();
    const result = await runCli(['serve'], env(`postgres://postgres:${PASSWORD}@127.0.0.1:${port}/audithook`));
    expectOneLine(result, 78, new RegExp(`^audithook: cannot connect to the PostgreSQL database in DATABASE_URL \\(postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/audithook\\): nothing accepts connections on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  });

  it('a host that does not resolve', async () => {
    const result = await runCli(['serve'], env(`postgres://postgres:${PASSWORD}@${UNRESOLVABLE_HOST}:5432/audithook`));
    expectOneLine(result, 78, new RegExp(`^audithook: cannot connect to the PostgreSQL database in DATABASE_URL \\(.*\\): host "${UNRESOLVABLE_HOST}" (does not resolve|could not be resolved now)`));
  });

  it('a reachable database starts, and /healthz names it with the job backend', async () => {
    const { startServerProcess } = await import('../support/server-process.js');
    const server = await startServerProcess(env(await createPostgresDatabase()));
    try {
      const response = await fetch(new URL('/healthz', server.url));
      expect(await response.json()).toEqual({ status: 'ok', database: { kind: 'postgresql', status: 'ok' }, jobs: { backend: 'PostgreSQL', status: 'ok' } });
      expect(server.problems()).toEqual([]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
