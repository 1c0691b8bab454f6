// The scenarios: each is a function (ctx, party) -> figures. ctx = { receiver, counts, limits }.
// They run one party at a time, so no two parties share the CPU. Adding a scenario means adding a
// function here, calling it in run-bench.mjs and giving its figures rows in report.mjs.
import { nowMs, percentile } from './common.mjs';
import { runScript } from './processes.mjs';

/** Fails loudly when the load generator saw errors: a figure built on failed calls would mislead. */
function checked(load, what) {
  if (load.errors > 0) throw new Error(`${what}: ${load.errors} calls failed, first: ${load.firstError}`);
  return load;
}

async function drive(ctx, party, params) {
  const load = await runScript(
    'load-generator.mjs',
    { url: party.url, organizationId: party.organizationId, maxSeconds: ctx.limits.loadSeconds, ...params },
    { timeoutMs: (ctx.limits.loadSeconds + 60) * 1000, env: { BENCH_TOKEN: party.token } },
  );
  return checked(load, `${party.name} ${params.kind}`);
}

/** Which of `ids` the receiver saw, and when the last of them arrived. */
async function arrivals(ctx, ids, expected, timeoutMs) {
  await ctx.receiver.waitFor(expected, timeoutMs);
  const { times } = await ctx.receiver.collect(ids);
  let arrived = 0;
  let lastMs = 0;
  for (const t of times) {
    if (t === null) continue;
    arrived++;
    if (t > lastMs) lastMs = t;
  }
  return { times, arrived, lastMs };
}

/** Warm-up before measuring: `warmupEvents` single-event mutations at concurrency 4, delivered, figures dropped. */
export async function warmUp(ctx, party) {
  await ingest(ctx, party, { concurrency: 4, batchSize: 1, total: ctx.counts.warmupEvents });
}

/** Idle latency: single-event mutations at a steady 20 events/s; mutation answer → receiver's first sight. */
export async function idleLatency(ctx, party) {
  await ctx.receiver.reset();
  const load = await drive(ctx, party, { kind: 'rate', ratePerSec: 20, total: ctx.counts.idleEvents });
  const { times, arrived } = await arrivals(ctx, load.ids, load.events, ctx.limits.deliverMs);
  const latencies = [];
  times.forEach((t, i) => t !== null && latencies.push(t - load.answeredMs[i]));
  return { events: load.events, arrived, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), p99Ms: percentile(latencies, 99) };
}

/**
 * Ingest under load: `total` events at `concurrency` (`batchSize` per call, 1 = recordAuditEvent);
 * ingest/s from the load generator, delivered/s = events / (first call sent → last arrival).
 */
export async function ingest(ctx, party, { concurrency, batchSize, total }) {
  await ctx.receiver.reset();
  const load = await drive(ctx, party, { kind: batchSize > 1 ? 'batch' : 'single', concurrency, batchSize, total });
  const figures = { events: load.events, ingestPerSec: load.perSec, callP50Ms: load.callP50Ms, callP99Ms: load.callP99Ms };
  if (!party.delivers) return figures;
  const { arrived, lastMs } = await arrivals(ctx, load.ids, load.events, ctx.limits.deliverMs);
  return { ...figures, arrived, deliveredPerSec: arrived === load.events ? arrived / ((lastMs - load.startMs) / 1000) : null };
}

/**
 * Backlog drain: `backlogEvents` recorded (100-event batches, concurrency 4) while the receiver
 * refuses connections; then it comes back and we time until every event arrived.
 */
export async function backlogDrain(ctx, party) {
  await ctx.receiver.reset();
  await ctx.receiver.down();
  let load;
  let upMs;
  try {
    load = await drive(ctx, party, { kind: 'batch', concurrency: 4, batchSize: 100, total: ctx.counts.backlogEvents });
  } finally {
    upMs = nowMs();
    await ctx.receiver.up();
  }
  const { arrived, lastMs } = await arrivals(ctx, load.ids, load.events, ctx.limits.drainMs);
  const complete = arrived === load.events;
  const drainSeconds = complete ? (lastMs - upMs) / 1000 : (nowMs() - upMs) / 1000;
  return { events: load.events, recordSeconds: load.seconds, arrived, complete, drainSeconds, drainPerSec: complete ? arrived / drainSeconds : null };
}

/** Raw loop (baseline a): keep-alive got POSTs straight to the receiver at `concurrency`. */
export async function rawLoop(ctx, { concurrency }) {
  await ctx.receiver.reset();
  const result = await runScript('raw-loop.mjs', { url: ctx.receiver.url, concurrency, total: ctx.counts.rawRequests, maxSeconds: ctx.limits.loadSeconds }, { timeoutMs: (ctx.limits.loadSeconds + 60) * 1000 });
  if (result.errors > 0) throw new Error(`raw loop c${concurrency}: ${result.errors} requests failed, first: ${result.firstError}`);
  return { requests: result.requests, requestsPerSec: result.perSec };
}
