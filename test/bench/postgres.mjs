// The PostgreSQL side of the benchmark (`--database postgres`): a throwaway database per party,
// created on the server of the admin URL (loopback only) and dropped afterwards, and the pool size
// each audithook process gets so that one api plus N workers stay within the server's connections.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { assertLoopback } from './common.mjs';

/** The admin connection the bench uses unless `--postgres-url` names another (user postgres, trust, like the tests). */
export const DEFAULT_POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
/** Throwaway databases are named `<prefix><pid>_<random>`, so a later run can drop what a killed one left. */
const PREFIX = 'audithook_bench_';
/** audithook's default AUDITHOOK_DB_POOL_SIZE; the job backend keeps a pool of the same size. */
const DEFAULT_POOL_SIZE = 10;

async function withAdmin(adminUrl, fn) {
  const client = new pg.Client({ connectionString: assertLoopback(adminUrl), connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};

/**
 * Creates an empty database for one party and returns { name, url, drop() } (drop is idempotent and
 * ends any connection still open). Databases of earlier runs whose process is gone are dropped first.
 */
export async function createBenchDatabase(adminUrl) {
  const name = `${PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, async (client) => {
    const { rows } = await client.query('select datname from pg_database where starts_with(datname, $1)', [PREFIX]);
    for (const { datname } of rows) {
      const pid = Number(/^audithook_bench_(\d+)_/.exec(datname)?.[1]);
      if (pid && pid !== process.pid && !alive(pid)) await client.query(`drop database if exists "${datname}" with (force)`);
    }
    await client.query(`create database "${name}"`);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = null;
  return {
    name,
    url: url.href,
    drop: () => (dropped ??= withAdmin(adminUrl, (client) => client.query(`drop database if exists "${name}" with (force)`))),
  };
}

/**
 * AUDITHOOK_DB_POOL_SIZE for the api process and for each of `workers` worker processes. Every process
 * keeps two pools of that size (ORM and job backend); together they may take half of the connections
 * the server has free now. The api (which takes the load) keeps the default 10 while that fits; the
 * workers share what is left, the default 10 each when it fits, at least 2. Returns
 * { apiPoolSize, workerPoolSize, maxConnections, inUse }.
 */
export async function poolSizesFor(adminUrl, workers) {
  return withAdmin(adminUrl, async (client) => {
    const maxConnections = Number((await client.query('show max_connections')).rows[0].max_connections);
    const inUse = Number((await client.query('select count(*) as n from pg_stat_activity')).rows[0].n);
    const budget = Math.floor((maxConnections - inUse) / 2);
    const fit = (connections, processes) => Math.max(2, Math.min(DEFAULT_POOL_SIZE, Math.floor(connections / (2 * processes))));
    const apiPoolSize = fit(budget / 2, 1);
    const workerPoolSize = fit(budget - 2 * apiPoolSize, workers);
    return { apiPoolSize, workerPoolSize, maxConnections, inUse };
  });
}

/** `--workers 1,2,4` as sorted distinct whole numbers from 1 to 16. */
export function parseWorkerCounts(text) {
  const counts = String(text)
    .split(',')
    .map((part) => part.trim());
  if (counts.some((c) => !/^\d+$/.test(c) || Number(c) < 1 || Number(c) > 16)) throw new Error(`--workers takes worker counts from 1 to 16 separated by commas (e.g. 1,2,4), got "${text}"`);
  return [...new Set(counts.map(Number))].sort((a, b) => a - b);
}
