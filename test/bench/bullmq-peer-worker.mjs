// Baseline (c), back half: a BullMQ worker process that POSTs each job (one event, in audithook's
// body shape) with got to the receiver; non-2xx or network errors fail the job, which BullMQ retries
// on audithook's schedule. argv: --redis --queue --prefix --url --concurrency --retry-delays-ms a,b,c
import { Agent } from 'node:http';
import { Worker } from 'bullmq';
import got from 'got';
import { assertLoopback, parseFlags, payloadBody } from './common.mjs';
import { connectionOf, peerBackoff } from './bullmq-peer.mjs';

const flags = parseFlags(process.argv.slice(2));
const url = assertLoopback(flags.url);
const concurrency = Number(flags.concurrency);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const client = got.extend({ agent: { http: agent }, retry: { limit: 0 }, timeout: { request: 10_000 }, headers: { 'content-type': 'application/json' } });
const delaysMs = String(flags['retry-delays-ms']).split(',').map(Number);

const worker = new Worker(
  flags.queue,
  async (job) => {
    await client.post(url, { body: payloadBody(`job-${job.id}`, [job.data]) });
  },
  { connection: connectionOf(flags.redis), prefix: flags.prefix, concurrency, settings: { backoffStrategy: peerBackoff(delaysMs) } },
);
worker.on('error', () => undefined); // connection hiccups are retried by BullMQ; failed jobs are the measured outcome
await worker.waitUntilReady();
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
const stop = () => worker.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
