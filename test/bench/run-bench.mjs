// `npm run bench` (after the build): starts the receiver, the baselines and the compiled audithook
// as separate processes, runs every scenario one party at a time, prints one table, and writes
// bench/results/<time>-<mode>.json and .png. `--smoke` runs everything with tiny counts.
// Flags: --smoke, --out <dir>, --reference (also write reference.json/.png), --retry-delays 5s,5m,30m,
// --parties raw,apollo,audithook,bullmq (audithook includes tenant isolation and idle latency while pruning), --own-redis (start redis-server even when 6379 answers),
// --scale <factor> (multiply the counts), --backlog <events> (the backlog scenario's size alone),
// --prune-history <deliveries> (the old history seeded for idle latency while pruning),
// --database postgres [--workers 1,2,4] [--postgres-url <admin url>] (also audithook on PostgreSQL: one api and N
// worker processes per count, each on a fresh throwaway database). Bounded in count and time; loopback only.
import { cpus, loadavg } from 'node:os';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDurationListMs } from '../../dist/src/delivery/retry-policy.js';
import { parseFlags } from './common.mjs';
import { chartPng } from './chart.mjs';
import { killAll, startedProcesses, startReceiver } from './processes.mjs';
import { startAudithook, startAudithookOnPostgres, startBareApollo, startBullmqPeer } from './parties.mjs';
import { DEFAULT_POSTGRES_ADMIN_URL, parseWorkerCounts, poolSizesFor } from './postgres.mjs';
import { ensureRedis } from './redis.mjs';
import { buildRows, formatTable, summarize } from './report.mjs';
import { backlogDrain, idleDuringPrune, idleLatency, ingest, rawLoop, tenantIsolation, warmUp } from './scenarios.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const flags = parseFlags(process.argv.slice(2));
const mode = flags.smoke ? 'smoke' : 'full';

/** Counts per mode: the full run is the one the README quotes; smoke proves every path in seconds. */
const COUNTS = {
  full: { warmupEvents: 200, idleEvents: 300, singleEvents: 5_000, batchEvents: 20_000, backlogEvents: 100_000, rawRequests: 20_000, isolationEvents: 200, pruneIdleEvents: 300, pruneHistory: 200_000 },
  smoke: { warmupEvents: 20, idleEvents: 20, singleEvents: 160, batchEvents: 800, backlogEvents: 500, rawRequests: 300, isolationEvents: 20, pruneIdleEvents: 20, pruneHistory: 5_000 },
}[mode];
// --database postgres adds audithook on PostgreSQL (one api process, N worker processes) for each N of --workers.
const database = typeof flags.database === 'string' ? flags.database : 'sqlite';
if (database !== 'sqlite' && database !== 'postgres') throw new Error(`--database takes sqlite or postgres, got "${flags.database}"`);
if (flags.workers !== undefined && database !== 'postgres') throw new Error('--workers needs --database postgres (on SQLite one process delivers)');
const postgresWorkers = database === 'postgres' ? parseWorkerCounts(typeof flags.workers === 'string' ? flags.workers : '1,2,4') : [];
const postgresAdminUrl = typeof flags['postgres-url'] === 'string' ? flags['postgres-url'] : DEFAULT_POSTGRES_ADMIN_URL;
/** Tenant isolation: organizations whose receivers never answer, and audithook's request timeout for that run (10 s is the default). */
const HANGING_TENANTS = 40;
const ISOLATION_REQUEST_TIMEOUT_MS = { full: 10_000, smoke: 4_000 }[mode];
// --scale f multiplies the counts (e.g. a quicker full-mode run while the machine is busy).
const scale = typeof flags.scale === 'string' ? Number(flags.scale) : 1;
if (!(scale > 0 && scale <= 10)) throw new Error('--scale takes a factor above 0 and at most 10');
for (const key of Object.keys(COUNTS)) COUNTS[key] = Math.max(key === 'backlogEvents' || key === 'batchEvents' ? 100 : 10, Math.round(COUNTS[key] * scale));
/**
 * Idle latency while pruning: how long after seeding the old history becomes prunable. It covers the
 * server's start, the warm-up and the quiet window (pruneIdleEvents at 20/s), with room to spare.
 */
const PRUNE_HEAD_START_MS = 8_000 + COUNTS.warmupEvents * 20 + COUNTS.pruneIdleEvents * 65;
// --backlog n sets the backlog alone (the drain of a long outage is dominated by the retry schedule).
if (typeof flags.backlog === 'string') COUNTS.backlogEvents = Math.max(100, Math.min(100_000, Math.round(Number(flags.backlog)) || 0));
// --prune-history n sets the old deliveries seeded for idle latency while pruning (each with an attempt, a link and an event).
if (typeof flags['prune-history'] === 'string') COUNTS.pruneHistory = Math.max(100, Math.min(1_000_000, Math.round(Number(flags['prune-history'])) || 0));
/** Time bounds per mode (a load run, waiting for deliveries, waiting for a backlog, the whole run). */
const LIMITS = {
  full: { loadSeconds: 180, deliverMs: 180_000, drainMs: 480_000, totalMs: 45 * 60_000 },
  smoke: { loadSeconds: 30, deliverMs: 30_000, drainMs: 40_000, totalMs: 170_000 },
}[mode];
// Each PostgreSQL worker count is one more delivering party's run.
LIMITS.totalMs += postgresWorkers.length * { full: 12 * 60_000, smoke: 90_000 }[mode];
const retryDelaysMs = parseDurationListMs(typeof flags['retry-delays'] === 'string' ? flags['retry-delays'] : '5s,5m,30m');
if (!retryDelaysMs || retryDelaysMs.length !== 3) throw new Error('--retry-delays takes three durations, e.g. 5s,5m,30m');
const parties = new Set((typeof flags.parties === 'string' ? flags.parties : 'raw,apollo,audithook,bullmq').split(','));
const PEER_WORKER_CONCURRENCY = 16;
const outDir = resolve(typeof flags.out === 'string' ? flags.out : join(root, 'bench/results'));

let cleaningUp = null;
const cleanup = () => (cleaningUp ??= killAll());
const hardLimit = setTimeout(async () => {
  console.error(`benchmark exceeded ${LIMITS.totalMs / 1000} s; stopping every process`);
  await cleanup();
  process.exit(1);
}, LIMITS.totalMs);
hardLimit.unref();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    console.error(`${signal}: stopping every process`);
    await cleanup();
    process.exit(130);
  });
}

const log = (message) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
const results = {};
let failures = 0;

/** Runs one party's block; a failure marks its rows and the run (exit 1) but the others still run. */
async function partyBlock(key, fn) {
  if (!parties.has(key)) {
    results[key] = { skipped: 'not selected (--parties)' };
    return;
  }
  try {
    results[key] = await fn();
  } catch (error) {
    failures++;
    log(`${key} failed: ${error.stack ?? error}`);
    results[key] = { skipped: `error: ${String(error.message ?? error).split('\n')[0]}` };
  }
}

const startedAt = new Date().toISOString();
const loadAtStart = loadavg();
log(`mode ${mode}; counts ${JSON.stringify(COUNTS)}; load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}`);
let exitCode = 0;
try {
  const receiver = await startReceiver();
  const ctx = { receiver, counts: COUNTS, limits: LIMITS };

  /**
   * The tenant-isolation scenario on a party of its own, started by `start` (fresh database, the
   * hanging organizations, the isolation request timeout): a failure marks only its rows.
   */
  async function isolationRun(name, start) {
    log(`${name}: tenant isolation, ${HANGING_TENANTS} organizations with hanging receivers beside a healthy one`);
    try {
      const party = await start({ receiverUrl: receiver.url, retryDelaysMs, extraOrganizations: HANGING_TENANTS, env: { AUDITHOOK_REQUEST_TIMEOUT: `${ISOLATION_REQUEST_TIMEOUT_MS}ms` } });
      try {
        await warmUp(ctx, party);
        return await tenantIsolation(ctx, party, { requestTimeoutMs: ISOLATION_REQUEST_TIMEOUT_MS });
      } finally {
        await party.stop();
      }
    } catch (error) {
      failures++;
      log(`${name} tenant isolation failed: ${error.stack ?? error}`);
      return { skipped: `error: ${String(error.message ?? error).split('\n')[0]}` };
    }
  }

  await partyBlock('raw', async () => {
    log('raw got loop, concurrency 1 and 16');
    return { c1: await rawLoop(ctx, { concurrency: 1 }), c16: await rawLoop(ctx, { concurrency: 16 }) };
  });

  await partyBlock('apollo', async () => {
    log('bare Apollo');
    const party = await startBareApollo();
    try {
      await warmUp(ctx, party);
      const single = await ingest(ctx, party, { concurrency: 16, batchSize: 1, total: COUNTS.singleEvents });
      const batch = await ingest(ctx, party, { concurrency: 4, batchSize: 100, total: COUNTS.batchEvents });
      return { single, batch, peakRssMb: (await party.stop()).peakRssMb };
    } finally {
      await party.stop();
    }
  });

  /** The scenarios of a delivering party, in order; its peak RSS covers all of them. */
  const deliveringRun = async (party) => {
    try {
      log(`${party.name}: warm-up, then idle latency`);
      await warmUp(ctx, party);
      const idle = await idleLatency(ctx, party);
      log(`${party.name}: single-event mutations, c16`);
      const single = await ingest(ctx, party, { concurrency: 16, batchSize: 1, total: COUNTS.singleEvents });
      log(`${party.name}: 100-event batches, c4`);
      const batch = await ingest(ctx, party, { concurrency: 4, batchSize: 100, total: COUNTS.batchEvents });
      log(`${party.name}: backlog of ${COUNTS.backlogEvents} while the receiver is down`);
      const backlog = await backlogDrain(ctx, party);
      return { idle, single, batch, backlog, peakRssMb: (await party.stop()).peakRssMb };
    } finally {
      await party.stop();
    }
  };

  await partyBlock('audithook', async () => {
    const figures = await deliveringRun(await startAudithook({ receiverUrl: receiver.url, retryDelaysMs }));
    // Its own server (fresh database, the extra organizations): a failure here marks only its rows.
    figures.isolation = await isolationRun('audithook', startAudithook);
    // Its own server too: a database seeded with old finished deliveries that become prunable mid-run.
    log(`audithook: idle latency while pruning ${COUNTS.pruneHistory} old deliveries (${COUNTS.pruneHistory * 4} rows)`);
    try {
      const pruning = await startAudithook({ receiverUrl: receiver.url, retryDelaysMs, seedHistory: { deliveries: COUNTS.pruneHistory, headStartMs: PRUNE_HEAD_START_MS } });
      try {
        await warmUp(ctx, pruning);
        figures.prune = await idleDuringPrune(ctx, pruning);
        log(`audithook: pruned ${COUNTS.pruneHistory} deliveries in ${figures.prune.pruneSeconds?.toFixed(1) ?? '?'} s`);
      } finally {
        await pruning.stop();
      }
    } catch (error) {
      failures++;
      log(`audithook idle latency while pruning failed: ${error.stack ?? error}`);
      figures.prune = { skipped: `error: ${String(error.message ?? error).split('\n')[0]}` };
    }
    return figures;
  });

  // audithook on PostgreSQL: the same delivering scenarios per worker count, each on its own fresh database.
  let postgresInfo = null;
  if (postgresWorkers.length > 0) {
    results.postgres = {};
    for (const workers of postgresWorkers) {
      const key = `w${workers}`;
      try {
        const { maxConnections, inUse, ...pools } = await poolSizesFor(postgresAdminUrl, workers);
        postgresInfo ??= { adminUrl: postgresAdminUrl.replace(/\/\/[^@/]*@/, '//…@'), maxConnections, poolSizes: {} };
        postgresInfo.poolSizes[key] = { ...pools, connectionsInUseAtStart: inUse };
        log(`audithook on PostgreSQL: one api process and ${workers} worker process${workers === 1 ? '' : 'es'} on a fresh database (AUDITHOOK_DB_POOL_SIZE api ${pools.apiPoolSize}, workers ${pools.workerPoolSize})`);
        const party = await startAudithookOnPostgres({ adminUrl: postgresAdminUrl, workers, pools, receiverUrl: receiver.url, retryDelaysMs });
        results.postgres[key] = { workers, database: party.database, ...(await deliveringRun(party)) };
        // Tenant isolation on PostgreSQL, with one worker (the process that shares its CPU with the dead tenants' work).
        if (workers === 1) {
          results.postgres[key].isolation = await isolationRun('audithook on PostgreSQL', (options) => startAudithookOnPostgres({ adminUrl: postgresAdminUrl, workers: 1, pools, ...options }));
        }
      } catch (error) {
        failures++;
        log(`audithook on PostgreSQL with ${workers} workers failed: ${error.stack ?? error}`);
        results.postgres[key] = { workers, skipped: `error: ${String(error.message ?? error).split('\n')[0]}` };
      }
    }
  }

  let redisInfo = null;
  await partyBlock('bullmq', async () => {
    const redis = await ensureRedis(flags['own-redis'] ? { port: null } : {});
    if (!redis.url) return { skipped: redis.reason };
    redisInfo = redis.source;
    try {
      return await deliveringRun(await startBullmqPeer({ redisUrl: redis.url, receiverUrl: receiver.url, retryDelaysMs, workerConcurrency: PEER_WORKER_CONCURRENCY }));
    } finally {
      await redis.stop();
    }
  });

  const rows = buildRows(results);
  const report = {
    version: 1,
    mode,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, platform: process.platform, loadAverageAtStart: loadAtStart },
    config: { counts: COUNTS, scale, retryDelaysMs, pruneHeadStartMs: PRUNE_HEAD_START_MS, hangingTenants: HANGING_TENANTS, isolationRequestTimeoutMs: ISOLATION_REQUEST_TIMEOUT_MS, peerWorkerConcurrency: PEER_WORKER_CONCURRENCY, redis: redisInfo, database, postgresWorkers, postgres: postgresInfo, audithookEnv: 'defaults, plus LOG_LEVEL=warn and loopback http destinations allowed' },
    summary: summarize(rows),
    rows,
    raw: results,
    processes: startedProcesses(),
  };
  // The per-event arrays are large and not figures: keep the JSON to what the table shows plus counts.
  console.log(formatTable(rows));
  const { met, notMet, undecided, targets } = report.summary;
  console.log(`\ntargets: ${met} of ${targets} met, ${notMet} not met${undecided ? `, ${undecided} undecided (a figure is missing)` : ''}`);
  mkdirSync(outDir, { recursive: true });
  const stem = join(outDir, `${startedAt.replace(/[:.]/g, '-')}-${mode}`);
  writeFileSync(`${stem}.json`, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(`${stem}.png`, chartPng(report));
  for (const ext of ['json', 'png']) copyFileSync(`${stem}.${ext}`, join(outDir, `latest-${mode}.${ext}`));
  if (flags.reference) for (const ext of ['json', 'png']) copyFileSync(`${stem}.${ext}`, join(outDir, `reference.${ext}`));
  console.log(`wrote ${relative(process.cwd(), stem)}.json and .png${flags.reference ? ' (and reference.json/.png)' : ''}`);
  if (failures > 0) exitCode = 1;
} catch (error) {
  log(`benchmark failed: ${error.stack ?? error}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exit(exitCode);
