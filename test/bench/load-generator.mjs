// The load generator, a process of its own (one run per invocation): sends the audit-event
// mutations to a GraphQL server over keep-alive HTTP and prints one JSON line with ingest figures
// and, per event id the server returned, the time its mutation answered (nowMs, shared clock).
// Params (argv[2], JSON): { url, organizationId, kind: 'single'|'batch'|'rate', total,
//   concurrency, batchSize, ratePerSec, maxSeconds, firstIndex }; the bearer token comes in BENCH_TOKEN
// (never on the command line). Bounded by total and maxSeconds.
import { Agent, request } from 'node:http';
import { assertLoopback, eventInput, nowMs, percentile, sleep } from './common.mjs';

const SINGLE = 'mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }';
const BATCH = 'mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }';

const params = JSON.parse(process.argv[2]);
const token = process.env.BENCH_TOKEN;
const url = new URL(assertLoopback(params.url));
const concurrency = params.kind === 'rate' ? 64 : params.concurrency;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const deadlineMs = nowMs() + params.maxSeconds * 1000;

/** One GraphQL POST; resolves with the parsed body. */
function post(body) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(new Error(`HTTP ${res.statusCode}: not JSON (${error.message})`));
          }
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('request timed out after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const ids = [];
const answeredMs = [];
const callMs = [];
let errors = 0;
let firstError = null;
let events = 0;

async function call(index, count) {
  const body =
    count === 1 && params.kind !== 'batch'
      ? JSON.stringify({ query: SINGLE, variables: { org: params.organizationId, input: eventInput(index) } })
      : JSON.stringify({ query: BATCH, variables: { org: params.organizationId, inputs: Array.from({ length: count }, (_, k) => eventInput(index + k)) } });
  const sent = nowMs();
  try {
    const answer = await post(body);
    const at = nowMs();
    if (answer.errors || !answer.data) throw new Error(JSON.stringify(answer.errors ?? answer).slice(0, 300));
    callMs.push(at - sent);
    for (const event of [answer.data.recordAuditEvent ?? answer.data.recordAuditEvents].flat()) {
      ids.push(event.id);
      answeredMs.push(at);
      events++;
    }
  } catch (error) {
    errors++;
    firstError ??= String(error.message ?? error);
  }
}

const firstIndex = params.firstIndex ?? 0;
const startMs = nowMs();
if (params.kind === 'rate') {
  // Open loop: one single-event mutation every 1000/rate ms, whatever the answers do.
  const intervalMs = 1000 / params.ratePerSec;
  const inFlight = [];
  for (let i = 0; i < params.total && nowMs() < deadlineMs; i++) {
    const due = startMs + i * intervalMs;
    const waitMs = due - nowMs();
    if (waitMs > 0) await sleep(waitMs);
    inFlight.push(call(firstIndex + i, 1));
  }
  await Promise.all(inFlight);
} else {
  const perCall = params.kind === 'batch' ? params.batchSize : 1;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < params.total && nowMs() < deadlineMs) {
        const from = next;
        const count = Math.min(perCall, params.total - from);
        next += count;
        await call(firstIndex + from, count);
      }
    }),
  );
}
const endMs = nowMs();
agent.destroy();
const seconds = (endMs - startMs) / 1000;
process.stdout.write(
  JSON.stringify({
    kind: params.kind,
    events,
    errors,
    firstError,
    startMs,
    endMs,
    seconds,
    perSec: events / seconds,
    callP50Ms: percentile(callMs, 50),
    callP99Ms: percentile(callMs, 99),
    ids,
    answeredMs,
  }) + '\n',
);
