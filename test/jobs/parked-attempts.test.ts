import { rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARKED_RECHECK_MS } from '../../src/jobs/delivery-runtime.js';
import { KeyedSemaphore } from '../../src/jobs/keyed-semaphore.js';
import { ParkedAttempts } from '../../src/jobs/parked-attempts.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';

describe('KeyedSemaphore', () => {
  it('never waits: a full key answers null at once, other keys are unaffected, a release is reported', () => {
    const released: string[] = [];
    const slots = new KeyedSemaphore(2, (key) => released.push(key));
    const a1 = slots.tryAcquire('a')!;
    const a2 = slots.tryAcquire('a')!;
    expect(slots.tryAcquire('a')).toBeNull();
    expect(slots.tryAcquire('b')).not.toBeNull();
    a1();
    a1(); // idempotent
    expect(released).toEqual(['a']);
    expect(slots.active('a')).toBe(1);
    expect(slots.tryAcquire('a')).not.toBeNull();
    a2();
    expect(slots.active('a')).toBe(1);
  });
});

describe('ParkedAttempts', () => {
  it('wakes the oldest parked attempt of the key whose slot freed, only after its run settled', () => {
    const woken: string[] = [];
    const parked = new ParkedAttempts<string>((job) => woken.push(job));
    parked.park('w1', 'd1', 'job-d1');
    parked.park('w1', 'd2', 'job-d2');
    parked.park('w2', 'd3', 'job-d3');
    parked.settled('d2', 'job-d2');

    parked.wakeNext('w1'); // d1 is oldest but its run has not settled yet: the wake waits for it
    expect(woken).toEqual([]);
    parked.settled('d1', 'job-d1');
    expect(woken).toEqual(['job-d1']);

    parked.wakeNext('w1');
    expect(woken).toEqual(['job-d1', 'job-d2']);
    parked.wakeNext('w1'); // nobody left for w1; w2's attempt is not woken by w1's slots
    expect(woken).toEqual(['job-d1', 'job-d2']);
    expect(parked.count('w2')).toBe(1);
  });

  it('keeps a re-parked delivery in its place, and forgets cancelled ones', () => {
    const woken: string[] = [];
    const parked = new ParkedAttempts<string>((job) => woken.push(job));
    parked.park('w', 'd1', 'run-1');
    parked.park('w', 'd2', 'run-1b');
    parked.park('w', 'd1', 'run-2'); // the lost-wake recheck ran d1 again and it parked again
    parked.settled('d1', 'run-1'); // the old run settling changes nothing
    parked.settled('d1', 'run-2');
    parked.settled('d2', 'run-1b');
    parked.forget('d2');
    parked.wakeNext('w');
    parked.wakeNext('w');
    expect(woken).toEqual(['run-2']);
    expect(parked.count('w')).toBe(0);
  });
});

describe('parked attempts across a restart', () => {
  let dir: string;
  let server: TestServer | undefined;
  let receiver: Receiver;
  beforeAll(async () => {
    dir = tempDir('audithook-parked-');
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), receiver?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('redelivered attempts wait for the webhook slot, and one parked at shutdown runs soon after the next start', async () => {
    const env = { AUDITHOOK_WEBHOOK_CONCURRENCY: '1', AUDITHOOK_REQUEST_TIMEOUT: '10s', AUDITHOOK_RETRY_DELAYS: '50ms,50ms,50ms' };
    server = await startTestServer(env, { dir });
    const { orgId } = server;
    const gql = (q: string, v: Record<string, unknown> = {}) => server!.gql(q, { org: orgId, ...v });
    // Three deliveries that end FAILED (the receiver answers 500), to redeliver all at once below.
    receiver.respond(() => ({ status: 500 }));
    expect((await gql(`mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`, { input: { url: receiver.url } })).errors).toBeUndefined();
    const FAILED = `query($org: ID!) { deliveries(organizationId: $org, filter: { status: FAILED }) { edges { node { id } } } }`;
    const failedIds = async () => (await gql(FAILED)).data!.deliveries.edges.map((e: any) => e.node.id as string);
    await waitFor(async () => (await failedIds()).length === 1); // the registration event's delivery
    for (let i = 2; i <= 3; i++) {
      await gql(`mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: { action: "probe_sent", actor: { id: "u" } }) { id } }`);
      await waitFor(async () => (await failedIds()).length === i);
    }
    const failed = await failedIds();

    // Held: the first redelivered request takes the webhook's one slot and stays in flight; the other two park.
    const held: ServerResponse[] = [];
    receiver.requests.length = 0;
    receiver.respond((_request, _index, response) => void held.push(response));
    for (const id of failed) expect((await gql(`mutation($org: ID!, $id: ID!) { redeliver(organizationId: $org, deliveryId: $id) { id } }`, { id })).errors).toBeUndefined();
    await waitFor(() => held.length >= 1);

    // Stop (it waits for the request in flight, answered now), then start again with a fast receiver.
    const stopping = server.stop();
    receiver.respond(() => ({ status: 200 }));
    held[0]!.writeHead(200).end();
    await stopping;
    server = undefined;
    // AUDITHOOK_WEBHOOK_CONCURRENCY held for redelivered deliveries too: only one was sent before the stop.
    expect(held).toHaveLength(1);
    const startedAt = Date.now();
    server = await startTestServer(env, { dir });
    await waitFor(() => new Set(receiver.requests.map((r) => r.json?.id)).size === 3, 20_000);
    // Soon after the start, not after the recheck delay (PARKED_RECHECK_MS, 60 s), and each sent once.
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    expect(PARKED_RECHECK_MS).toBeGreaterThan(20_000);
    expect(receiver.requests).toHaveLength(3);
  }, 60_000);
});
