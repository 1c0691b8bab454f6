// The parties under test, each a set of processes: audithook (the compiled CLI) on SQLite, audithook
// on PostgreSQL (one api and N worker processes), the bare Apollo baseline and the BullMQ+Redis peer
// (server + worker). Each start function returns a handle:
// { name, url, token, organizationId, delivers, stop() -> { peakRssMb } }.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { freePort, waitUntil } from './common.mjs';
import { connectionOf } from './bullmq-peer.mjs';
import { createBenchDatabase } from './postgres.mjs';
import { addCleanup, runScript, sampleRss, spawnTracked, startProcess, stopChild } from './processes.mjs';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('../../', import.meta.url));
/** Wraps a stop function so calling it again returns the first call's promise. */
const once = (fn) => {
  let result = null;
  return () => (result ??= fn());
};
/** A party handle whose stop also runs when the run is interrupted (SIGINT, time limit, error). */
const registered = (party) => {
  addCleanup(party.stop);
  return party;
};
const formatDelays = (delaysMs) => delaysMs.map((ms) => `${ms}ms`).join(',');
/** The environment every audithook process of the bench gets: defaults, plus quiet logs and loopback http destinations. */
const audithookEnv = ({ port, databaseUrl, secretKey, retryDelaysMs }) => ({
  HOST: '127.0.0.1',
  PORT: String(port),
  DATABASE_URL: databaseUrl,
  AUDITHOOK_SECRET_KEY: secretKey,
  AUDITHOOK_ALLOW_HTTP: 'true',
  AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'true', // the receiver is on 127.0.0.1 only
  AUDITHOOK_RETRY_DELAYS: formatDelays(retryDelaysMs),
  LOG_LEVEL: 'warn',
});
const REGISTER_WEBHOOK = 'mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }';

async function graphql(url, token, query, variables) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(`GraphQL: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}

/**
 * audithook as shipped: `node dist/src/cli.js serve` on a temp SQLite file, an organization from
 * `org create --json`, an INGEST token for the load, and the webhook registered with the ADMIN token.
 * `extraOrganizations` more organizations (no webhook yet) come back as `organizations` [{ id, token }].
 * `seedHistory` { deliveries, headStartMs } seeds that many old finished deliveries (one attempt, link
 * and event each) before the server starts, all becoming prunable `headStartMs` after it was seeded
 * (the party's `pruneAt`); the prune job then runs every second.
 */
export async function startAudithook({ receiverUrl, retryDelaysMs, env: extraEnv = {}, extraOrganizations = 0, seedHistory = null }) {
  const dir = mkdtempSync(join(tmpdir(), 'audithook-bench-'));
  const removeDir = once(async () => rmSync(dir, { recursive: true, force: true }));
  addCleanup(removeDir);
  const port = await freePort();
  const cli = join(root, 'dist/src/cli.js');
  const env = {
    ...audithookEnv({ port, databaseUrl: `sqlite:${join(dir, 'bench.db')}`, secretKey: randomBytes(32).toString('base64'), retryDelaysMs }),
    ...extraEnv,
  };
  const cliJson = async (args) => JSON.parse((await run(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, cwd: dir })).stdout);
  const created = await cliJson(['org', 'create', '--name', 'Bench', '--json']);
  const organizationId = created.organization.id;
  const ingest = await cliJson(['token', 'create', '--org', organizationId, '--role', 'INGEST', '--label', 'bench', '--json']);
  const organizations = extraOrganizations > 0 ? await runScript('create-orgs.mjs', { count: extraOrganizations, namePrefix: 'Tenant' }, { timeoutMs: 60_000, env }) : [];
  let pruneAt = null;
  let seeded = null;
  if (seedHistory) {
    const newestCompletedAt = Date.now() - 86_400_000;
    seeded = await runScript('seed-history.mjs', { databasePath: join(dir, 'bench.db'), deliveries: seedHistory.deliveries, newestCompletedAt }, { timeoutMs: 300_000 });
    pruneAt = Date.now() + seedHistory.headStartMs;
    // Cut-off = now - retention passes the newest seeded completion exactly at pruneAt.
    env.AUDITHOOK_DELIVERY_RETENTION = `${pruneAt - newestCompletedAt}ms`;
    env.AUDITHOOK_PRUNE_INTERVAL = '1s';
  }
  const { child, stderr } = spawnTracked('audithook serve', process.execPath, [cli, 'serve'], { env, cwd: dir });
  const url = `http://127.0.0.1:${port}/graphql`;
  const healthy = await waitUntil(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), { timeoutMs: 30_000, everyMs: 100 });
  if (!healthy) {
    await stopChild(child);
    throw new Error(`audithook did not answer /healthz within 30 s\n${stderr()}`);
  }
  await graphql(url, created.token, REGISTER_WEBHOOK, { org: organizationId, input: { url: receiverUrl } });
  const rss = sampleRss(child.pid);
  return registered({
    name: 'audithook',
    url,
    token: ingest.token,
    organizationId,
    delivers: true,
    organizations,
    pruneAt,
    seeded,
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    /** Points `organization`'s webhook (with its ADMIN token) at `webhookUrl`, a loopback receiver. */
    registerWebhook: (organization, webhookUrl) => graphql(url, organization.token, REGISTER_WEBHOOK, { org: organization.id, input: { url: webhookUrl } }),
    stop: once(async () => {
      const peakRssMb = rss.stop();
      await stopChild(child, 15_000);
      await removeDir();
      return { peakRssMb };
    }),
  });
}

/** Resolves once `http://127.0.0.1:port/healthz` answers 200; throws (with the stderr tail) after 30 s or when the process exits first. */
async function healthy(name, { child, stderr }, port) {
  const ok = await waitUntil(() => child.exitCode !== null || child.signalCode !== null || fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false), { timeoutMs: 30_000, everyMs: 100 });
  if (ok === true && child.exitCode === null && child.signalCode === null) return;
  await stopChild(child);
  throw new Error(`${name} ${child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : 'did not answer /healthz within 30 s'}\n${stderr()}`);
}

/**
 * audithook on PostgreSQL as several processes: a throwaway database (created on `adminUrl`'s server,
 * dropped at stop), an organization and tokens from the CLI as on SQLite, then one
 * `serve --role api` (GraphQL; sends nothing) and `workers` × `serve --role worker` (deliver). The
 * load goes to the api; peak RSS is the sum over all of them. `pools` { apiPoolSize, workerPoolSize }
 * set each process's AUDITHOOK_DB_POOL_SIZE.
 */
export async function startAudithookOnPostgres({ adminUrl, workers, pools, receiverUrl, retryDelaysMs, env: extraEnv = {}, extraOrganizations = 0 }) {
  const database = await createBenchDatabase(adminUrl);
  addCleanup(database.drop);
  const dir = mkdtempSync(join(tmpdir(), 'audithook-bench-pg-'));
  const removeDir = once(async () => rmSync(dir, { recursive: true, force: true }));
  addCleanup(removeDir);
  const cli = join(root, 'dist/src/cli.js');
  const secretKey = randomBytes(32).toString('base64');
  const envOf = (port, poolSize = pools.apiPoolSize) => ({ ...audithookEnv({ port, databaseUrl: database.url, secretKey, retryDelaysMs }), AUDITHOOK_DB_POOL_SIZE: String(poolSize), ...extraEnv });
  const children = [];
  const stopChildren = () => Promise.all(children.map((c) => stopChild(c.child, 15_000)));
  try {
    const apiPort = await freePort();
    const cliJson = async (args) => JSON.parse((await run(process.execPath, [cli, ...args], { env: { ...process.env, ...envOf(apiPort) }, cwd: dir })).stdout);
    // The CLI migrates the fresh database before the servers start, so no two processes race to.
    const created = await cliJson(['org', 'create', '--name', 'Bench', '--json']);
    const organizationId = created.organization.id;
    const ingest = await cliJson(['token', 'create', '--org', organizationId, '--role', 'INGEST', '--label', 'bench', '--json']);
    const organizations = extraOrganizations > 0 ? await runScript('create-orgs.mjs', { count: extraOrganizations, namePrefix: 'Tenant' }, { timeoutMs: 60_000, env: envOf(apiPort) }) : [];
    const api = { name: 'audithook serve --role api', port: apiPort, ...spawnTracked('audithook serve --role api', process.execPath, [cli, 'serve', '--role', 'api'], { env: envOf(apiPort), cwd: dir }) };
    children.push(api);
    for (let i = 1; i <= workers; i++) {
      const port = await freePort();
      const name = `audithook serve --role worker (${i} of ${workers})`;
      children.push({ name, port, ...spawnTracked(name, process.execPath, [cli, 'serve', '--role', 'worker'], { env: envOf(port, pools.workerPoolSize), cwd: dir }) });
    }
    await Promise.all(children.map((c) => healthy(c.name, c, c.port)));
    const url = `http://127.0.0.1:${apiPort}/graphql`;
    await graphql(url, created.token, REGISTER_WEBHOOK, { org: organizationId, input: { url: receiverUrl } });
    const samplers = children.map((c) => sampleRss(c.child.pid));
    return registered({
      name: `audithook on PostgreSQL, ${workers} worker${workers === 1 ? '' : 's'}`,
      url,
      token: ingest.token,
      organizationId,
      delivers: true,
      database: database.name,
      organizations,
      /** Points `organization`'s webhook (with its ADMIN token) at `webhookUrl`, a loopback receiver. */
      registerWebhook: (organization, webhookUrl) => graphql(url, organization.token, REGISTER_WEBHOOK, { org: organization.id, input: { url: webhookUrl } }),
      stop: once(async () => {
        const peaks = samplers.map((s) => s.stop());
        await stopChildren();
        await database.drop();
        await removeDir();
        return { peakRssMb: peaks.every((p) => p !== null) ? peaks.reduce((sum, p) => sum + p, 0) : null };
      }),
    });
  } catch (error) {
    await stopChildren();
    await database.drop().catch(() => undefined);
    await removeDir();
    throw error;
  }
}

/** Baseline (b): the bare Apollo server, storing nothing. */
export async function startBareApollo() {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const { child } = await startProcess('bare Apollo', process.execPath, [`${here}bare-apollo-server.mjs`, '--port', String(port)], { env: { BENCH_TOKEN: token } });
  const rss = sampleRss(child.pid);
  return registered({
    name: 'bare Apollo',
    url: `http://127.0.0.1:${port}/`,
    token,
    organizationId: 'org_bench',
    delivers: false,
    stop: once(async () => {
      const peakRssMb = rss.stop();
      await stopChild(child);
      return { peakRssMb };
    }),
  });
}

/** Baseline (c): bare Apollo enqueueing into BullMQ on Redis, plus a worker process POSTing each job with got. */
export async function startBullmqPeer({ redisUrl, receiverUrl, retryDelaysMs, workerConcurrency }) {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const queueName = 'events';
  const prefix = `audithook-bench-${process.pid}-${randomBytes(4).toString('hex')}`;
  const common = ['--redis', redisUrl, '--queue', queueName, '--prefix', prefix];
  // Leave nothing behind in a shared Redis: every key of this run's queue goes, whatever happens.
  const removeQueue = once(async () => {
    const queue = new Queue(queueName, { connection: connectionOf(redisUrl), prefix });
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  });
  addCleanup(removeQueue);
  const server = await startProcess('BullMQ peer server', process.execPath, [`${here}bullmq-peer-server.mjs`, '--port', String(port), ...common], { env: { BENCH_TOKEN: token } });
  const worker = await startProcess('BullMQ peer worker', process.execPath, [
    `${here}bullmq-peer-worker.mjs`,
    ...common,
    '--url',
    receiverUrl,
    '--concurrency',
    String(workerConcurrency),
    '--retry-delays-ms',
    retryDelaysMs.join(','),
  ]);
  const serverRss = sampleRss(server.child.pid);
  const workerRss = sampleRss(worker.child.pid);
  return registered({
    name: 'BullMQ peer',
    url: `http://127.0.0.1:${port}/`,
    token,
    organizationId: 'org_bench',
    delivers: true,
    stop: once(async () => {
      const peaks = [serverRss.stop(), workerRss.stop()];
      await Promise.all([stopChild(server.child), stopChild(worker.child)]);
      await removeQueue();
      return { peakRssMb: peaks.every((p) => p !== null) ? peaks[0] + peaks[1] : null };
    }),
  });
}
