import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/**
 * A webhook whose last attempt failed gets one request at a time (FAILING_WEBHOOK_CONCURRENCY) until
 * one succeeds; then its AUDITHOOK_WEBHOOK_CONCURRENCY slots open again at once.
 */

const CONCURRENCY = 4;
const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;

let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  [server, receiver] = await Promise.all([
    // One event per delivery, so the backlog is many deliveries competing for the webhook's slots.
    startTestServer({ AUDITHOOK_WEBHOOK_CONCURRENCY: String(CONCURRENCY), AUDITHOOK_MAX_BATCH_SIZE: '1', AUDITHOOK_RETRY_DELAYS: '50ms,50ms,50ms' }),
    startReceiver(),
  ]);
});
afterAll(async () => {
  await server?.stop();
  await receiver?.close();
});

/** Requests open at the receiver now and the most ever open at once, per phase. */
const load = { open: 0, maxOpen: 0 };
function answerAfter(ms: number, status: number): void {
  receiver.respond((_request, _index, response: ServerResponse) => {
    load.open++;
    load.maxOpen = Math.max(load.maxOpen, load.open);
    setTimeout(() => {
      load.open--;
      response.writeHead(status).end(status === 200 ? 'ok' : 'down');
    }, ms);
  });
}

async function record(label: string, count: number): Promise<string[]> {
  const inputs = Array.from({ length: count }, (_, i) => ({ action: 'breaker_probe', actor: { id: 'u-1' }, message: `${label}-${i}` }));
  const result = await server.gql(RECORD_MANY, { org: server.orgId, inputs });
  expect(result.errors).toBeUndefined();
  return result.data!.recordAuditEvents.map((e: { id: string }) => e.id);
}

describe('a failing webhook', () => {
  it('gets one request at a time while it fails, and all its slots again after a success', async () => {
    expect((await server.gql(REGISTER, { org: server.orgId, input: { url: receiver.url } })).errors).toBeUndefined();
    await waitFor(() => receiver.requests.length >= 1); // the registration event

    // Healthy: a backlog uses every slot.
    answerAfter(150, 200);
    const healthy = await record('healthy', 12);
    await waitFor(() => healthy.every((id) => receiver.eventIds().includes(id)), 20_000);
    expect(load.maxOpen).toBe(CONCURRENCY);

    // Down: the first wave (all slots, started before any failure was known) fails; after it, one request at a time.
    let firstWaveOpen = 0;
    let releaseFirstWave: (() => void) | null = null;
    const firstWave = new Promise<void>((resolve) => (releaseFirstWave = resolve));
    const afterFirstWave = { open: 0, maxOpen: 0, requests: 0, openWhenStarted: [] as number[] };
    receiver.respond((_request, _index, response: ServerResponse) => {
      if (firstWaveOpen < CONCURRENCY && releaseFirstWave) {
        // Held until every slot is busy, then all answered 500 together.
        firstWaveOpen++;
        if (firstWaveOpen === CONCURRENCY) releaseFirstWave();
        void firstWave.then(() => response.writeHead(500).end('down'));
        return;
      }
      afterFirstWave.requests++;
      afterFirstWave.openWhenStarted.push(afterFirstWave.open);
      afterFirstWave.open++;
      afterFirstWave.maxOpen = Math.max(afterFirstWave.maxOpen, afterFirstWave.open);
      setTimeout(() => {
        afterFirstWave.open--;
        response.writeHead(500).end('down');
      }, 100);
    });
    await record('down', 12);
    await firstWave;
    await waitFor(() => afterFirstWave.requests >= 12, 30_000);
    expect(afterFirstWave.maxOpen).toBe(1); // FAILING_WEBHOOK_CONCURRENCY
    expect(afterFirstWave.openWhenStarted.every((open) => open === 0)).toBe(true);

    // Back: the first success opens every slot again for the backlog.
    load.open = 0;
    load.maxOpen = 0;
    answerAfter(150, 200);
    const back = await record('back', 12);
    await waitFor(() => back.every((id) => receiver.eventIds().includes(id)), 30_000);
    expect(load.maxOpen).toBe(CONCURRENCY);
  }, 90_000);
});
