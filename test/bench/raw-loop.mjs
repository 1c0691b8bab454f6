// Baseline (a): the raw keep-alive got POST loop, a process of its own, to the same receiver.
// Each request carries one event in audithook's body shape. Params (argv[2], JSON):
// { url, concurrency, total, maxSeconds }. Prints one JSON line: requests/s. Bounded by count and time.
import { Agent } from 'node:http';
import got from 'got';
import { assertLoopback, eventInput, nowMs, payloadBody } from './common.mjs';

const params = JSON.parse(process.argv[2]);
const url = assertLoopback(params.url);
const agent = new Agent({ keepAlive: true, maxSockets: params.concurrency });
const client = got.extend({ agent: { http: agent }, retry: { limit: 0 }, timeout: { request: 10_000 }, headers: { 'content-type': 'application/json' } });
const deadlineMs = nowMs() + params.maxSeconds * 1000;
const time = new Date().toISOString();

let next = 0;
let done = 0;
let errors = 0;
let firstError = null;
const startMs = nowMs();
await Promise.all(
  Array.from({ length: params.concurrency }, async () => {
    while (next < params.total && nowMs() < deadlineMs) {
      const i = next++;
      const id = `raw-c${params.concurrency}-${i}`;
      try {
        await client.post(url, { body: payloadBody(`dlv-${id}`, [{ id, time, ...eventInput(i) }]) });
        done++;
      } catch (error) {
        errors++;
        firstError ??= String(error.message ?? error);
      }
    }
  }),
);
const seconds = (nowMs() - startMs) / 1000;
agent.destroy();
process.stdout.write(JSON.stringify({ requests: done, errors, firstError, seconds, perSec: done / seconds }) + '\n');
