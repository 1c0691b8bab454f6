// Benchmark: ingest and delivery throughput of a real audithook (compiled build) over HTTP, with a
// loopback receiver. Run with `npm run bench`. Prints figures; asserts nothing. Bounded: fixed
// counts and a hard time limit; traffic stays on 127.0.0.1.
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../../dist/src/app.js';
import { loadConfig } from '../../dist/src/config.js';
import { createLogger } from '../../dist/src/lib/logger.js';

const BATCH_EVENTS = Number(process.env.BENCH_BATCH_EVENTS ?? 20_000);
const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE_EVENTS ?? 2_000);
const CONCURRENCY = 8;
const HARD_LIMIT_MS = 120_000;
setTimeout(() => {
  console.error(`benchmark exceeded ${HARD_LIMIT_MS} ms; stopping`);
  process.exit(1);
}, HARD_LIMIT_MS).unref();

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

const received = new Map(); // event id -> receivedAt
let requests = 0;
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    requests++;
    const now = Date.now();
    for (const event of JSON.parse(Buffer.concat(chunks).toString('utf8')).data) if (!received.has(event.id)) received.set(event.id, now);
    res.writeHead(204).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));

const dir = mkdtempSync(join(tmpdir(), 'audithook-bench-'));
const config = loadConfig(
  { PORT: '0', LOG_LEVEL: 'silent', AUDITHOOK_ALLOW_HTTP: 'true', AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'true', DATABASE_URL: `sqlite:${join(dir, 'bench.db')}` },
  dir,
);
const app = await startApp(config, createLogger('silent'));
const { organization, token } = await app.services.organizations.create('Bench');
const gql = async (query, variables) => {
  const response = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
};
if (!process.env.BENCH_NO_WEBHOOK) await gql(`mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`, {
  org: organization.id,
  url: `http://127.0.0.1:${receiver.address().port}/audit`,
});

const recordedAt = new Map();
const event = (i) => ({ action: 'bench_event', actor: { id: `user-${i % 97}`, name: 'Bench User' }, context: [{ id: `doc-${i}`, type: 'document' }], message: `event ${i}` });

async function run(label, total, perCall, query, variablesOf) {
  const latencies = [];
  let next = 0;
  const eluBefore = performance.eventLoopUtilization();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) {
        const from = next;
        next += perCall;
        const t = performance.now();
        const data = await gql(query, variablesOf(from, Math.min(perCall, total - from)));
        latencies.push(performance.now() - t);
        const now = Date.now();
        for (const e of Object.values(data).flat()) recordedAt.set(e.id, now);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(34)} ${String(total).padStart(6)} events  ${(total / seconds).toFixed(0).padStart(6)} events/s  ` +
      `call p50 ${percentile(latencies, 50).toFixed(1)} ms  p99 ${percentile(latencies, 99).toFixed(1)} ms  ` +
      `event loop busy ${(performance.eventLoopUtilization(eluBefore).utilization * 100).toFixed(0)}%`,
  );
}

const deliveryStart = performance.now();
console.log(`audithook benchmark (node ${process.version}, SQLite, ${CONCURRENCY} concurrent clients, receiver on loopback)`);
await run('recordAuditEvents, 100 per call', BATCH_EVENTS, 100, `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`, (from, n) => ({
  org: organization.id,
  inputs: Array.from({ length: n }, (_, k) => event(from + k)),
}));
await run('recordAuditEvent, one per call', SINGLE_EVENTS, 1, `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`, (from) => ({
  org: organization.id,
  input: event(from),
}));
const expected = process.env.BENCH_NO_WEBHOOK ? [] : [...recordedAt.keys()];
while (expected.some((id) => !received.has(id))) await new Promise((r) => setTimeout(r, 20));
const deliverySeconds = (performance.now() - deliveryStart) / 1000;
const lags = expected.map((id) => received.get(id) - recordedAt.get(id));
if (expected.length > 0) console.log(
  `${'delivery to the webhook'.padEnd(34)} ${String(expected.length).padStart(6)} events  ${(expected.length / deliverySeconds).toFixed(0).padStart(6)} events/s  ` +
    `${requests} requests (avg ${(received.size / requests).toFixed(1)} events each)  record→receive p50 ${percentile(lags, 50)} ms  p99 ${percentile(lags, 99)} ms`,
);

await app.stop();
receiver.close();
rmSync(dir, { recursive: true, force: true });
