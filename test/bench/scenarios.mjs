// The scenarios: each is a function (ctx, party) -> figures. ctx = { receiver, counts, limits }.
// They run one party at a time, so no two parties share the CPU. Adding a scenario means adding a
// function here, calling it in run-bench.mjs and giving its figures rows in report.mjs.
import { assertLoopback, nowMs, percentile, waitUntil } from './common.mjs';
import { runScript, startHangingTenants } from './processes.mjs';

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
async function arrivals(ctx, ids, timeoutMs) {
  await ctx.receiver.waitFor(ids, timeoutMs);
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

/** `total` single-event mutations at a steady 20 events/s; latency = mutation answer → receiver's first sight. */
async function rateLatency(ctx, party, total) {
  await ctx.receiver.reset();
  const load = await drive(ctx, party, { kind: 'rate', ratePerSec: 20, total });
  const { times, arrived } = await arrivals(ctx, load.ids, ctx.limits.deliverMs);
  const latencies = [];
  times.forEach((t, i) => t !== null && latencies.push(t - load.answeredMs[i]));
  return { events: load.events, arrived, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), p99Ms: percentile(latencies, 99) };
}

/** Idle latency: single-event mutations at a steady 20 events/s; mutation answer → receiver's first sight. */
export async function idleLatency(ctx, party) {
  return rateLatency(ctx, party, ctx.counts.idleEvents);
}

/** audithook_pruned_rows_total{table="deliveries"} from the party's /metrics (its own process's prune job). */
async function prunedDeliveries(party) {
  const text = await (await fetch(assertLoopback(party.metricsUrl))).text();
  const match = /^audithook_pruned_rows_total\{table="deliveries"\} (\S+)$/m.exec(text);
  if (!match) throw new Error('audithook_pruned_rows_total{table="deliveries"} is missing from /metrics');
  return Number(match[1]);
}

/**
 * Idle latency while pruning: `party` was started on a database seeded with `party.seeded.deliveries`
 * old finished deliveries (an attempt, a link and an event each) that all become prunable at
 * `party.pruneAt`. The same 20 events/s measurement runs first while nothing is prunable (quiet: same
 * database, no prune), then as soon as the prune job has removed its first batch (during). The
 * figures say whether the whole second window overlapped the prune (`overlapped`) and how long the
 * prune took from `pruneAt` to the last seeded delivery gone (`pruneSeconds`, bounded by limits.drainMs).
 */
export async function idleDuringPrune(ctx, party) {
  const seeded = party.seeded.deliveries;
  const quiet = await rateLatency(ctx, party, ctx.counts.pruneIdleEvents);
  if ((await prunedDeliveries(party)) > 0 || nowMs() >= party.pruneAt) throw new Error('the history became prunable before the quiet window ended; raise the head start');
  const started = await waitUntil(async () => (await prunedDeliveries(party)) > 0, { timeoutMs: party.pruneAt - Date.now() + 30_000, everyMs: 20 });
  if (!started) throw new Error('the prune job removed nothing within 30 s of the history becoming prunable');
  const prunedAtStart = await prunedDeliveries(party);
  const during = await rateLatency(ctx, party, ctx.counts.pruneIdleEvents);
  const prunedAtEnd = await prunedDeliveries(party);
  for (const [phase, figures] of Object.entries({ quiet, during })) {
    if (figures.arrived < figures.events) throw new Error(`${phase}: only ${figures.arrived} of ${figures.events} events arrived within ${ctx.limits.deliverMs} ms`);
  }
  const done = await waitUntil(async () => (await prunedDeliveries(party)) >= seeded, { timeoutMs: ctx.limits.drainMs, everyMs: 100 });
  return {
    seededDeliveries: seeded,
    seededRows: party.seeded.rows,
    seedSeconds: party.seeded.seconds,
    quiet,
    during,
    prunedDuringWindow: prunedAtEnd - prunedAtStart,
    overlapped: prunedAtEnd < seeded,
    pruneSeconds: done ? (nowMs() - party.pruneAt) / 1000 : null,
  };
}

/**
 * Tenant isolation: the healthy organization's latency at 20 events/s alone, then beside
 * `party.organizations` (40) whose webhooks point at receivers that accept and never answer. Each of
 * those gets an event every requestTimeoutMs / 5, so all of its AUDITHOOK_WEBHOOK_CONCURRENCY (4)
 * slots are busy before its first request times out; the healthy one is measured once requests have
 * been timing out (new deliveries and retries keep coming). Target: beside p95 ≤ max(200 ms, 3 ×
 * alone p95). `party` must have been started with `extraOrganizations` and AUDITHOOK_REQUEST_TIMEOUT
 * = `requestTimeoutMs`.
 */
export async function tenantIsolation(ctx, party, { requestTimeoutMs, trickleEveryMs = requestTimeoutMs / 5 }) {
  const alone = await rateLatency(ctx, party, ctx.counts.isolationEvents);
  const tenants = await startHangingTenants(party.organizations.length);
  let final = null;
  try {
    await Promise.all(party.organizations.map((org, i) => party.registerWebhook(org, assertLoopback(tenants.urls[i]))));
    await tenants.trickle(party.url, party.organizations.map((org) => ({ organizationId: org.id, token: org.token })), trickleEveryMs);
    // Saturated: on average every hanging webhook has had two requests time out, so retries are due too.
    const wanted = party.organizations.length * 2;
    const saturated = await tenants.waitSaturated(wanted, requestTimeoutMs * 3 + 30_000);
    if (saturated.abandoned < wanted) throw new Error(`hanging receivers saw only ${saturated.abandoned} of ${wanted} timed-out requests`);
    const beside = await rateLatency(ctx, party, ctx.counts.isolationEvents);
    // A late event left out of the percentiles would flatter them: all must arrive (within limits.deliverMs).
    for (const [phase, figures] of Object.entries({ alone, beside })) {
      if (figures.arrived < figures.events) throw new Error(`${phase}: only ${figures.arrived} of ${figures.events} events arrived within ${ctx.limits.deliverMs} ms`);
    }
    final = await tenants.stop();
    if (final.errors > 0) throw new Error(`trickle: ${final.errors} calls failed, first: ${final.firstError}`);
    return {
      hangingTenants: party.organizations.length,
      requestTimeoutMs,
      alone,
      beside,
      targetMs: alone.p95Ms === null ? null : Math.max(200, 3 * alone.p95Ms),
      hanging: { eventsSent: final.sent, requests: final.requests, timedOut: final.abandoned, maxOpenPerReceiver: final.maxOpenPerReceiver },
    };
  } finally {
    if (!final) await tenants.stop().catch(() => undefined);
  }
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
  const { arrived, lastMs } = await arrivals(ctx, load.ids, ctx.limits.deliverMs);
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
  const { arrived, lastMs } = await arrivals(ctx, load.ids, ctx.limits.drainMs);
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
