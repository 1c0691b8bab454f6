import pg from 'pg';

/** The PostgreSQL server the postgres matrix uses: 127.0.0.1:5432, user postgres, trust authentication. */
export const TEST_POSTGRES_ADMIN_URL = process.env.AUDITHOOK_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Names of throwaway databases: the creating process's pid comes first, so a later run can drop what a crashed one left. */
export const TEST_DATABASE_PREFIX = 'audithook_t_';

/** A connection to the admin database, for CREATE/DROP DATABASE and test-side inspection. */
export async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  return client;
}
