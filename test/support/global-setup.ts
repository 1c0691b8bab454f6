import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { adminClient, TEST_DATABASE_PREFIX, TEST_POSTGRES_ADMIN_URL } from './postgres-admin.js';

/**
 * Compiles the server once per test run (both matrices share it), so child-process tests (CLI, crash
 * recovery) run current code. The postgres matrix also checks that its server answers and drops the
 * throwaway databases of test processes that no longer exist (a run that was killed).
 */
export default async function setup(project?: TestProject): Promise<void> {
  if (process.env.AUDITHOOK_TEST_COMPILED !== '1') {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    process.env.AUDITHOOK_TEST_COMPILED = '1';
  }
  if (project?.name === 'postgres') await preparePostgres();
}

async function preparePostgres(): Promise<void> {
  let client;
  try {
    client = await adminClient();
  } catch (error) {
    throw new Error(`the postgres test matrix needs PostgreSQL at ${TEST_POSTGRES_ADMIN_URL} (user postgres, trust authentication; set AUDITHOOK_TEST_POSTGRES_URL otherwise): ${(error as Error).message}`);
  }
  try {
    const { rows } = await client.query<{ datname: string }>('select datname from pg_database where starts_with(datname, $1)', [TEST_DATABASE_PREFIX]);
    for (const { datname } of rows) {
      const pid = Number(/^[a-z_]+?_t_(\d+)_/.exec(datname)?.[1]);
      if (Number.isInteger(pid) && !isAlive(pid)) await client.query(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await client.end();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
