import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { collect, startTestServer, waitFor, type TestServer } from '../support/server.js';
import { subscribeLive } from '../support/subscriptions.js';
import { JOB_DELIVERY_ID_SQL } from '../support/test-database.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const UPDATE = `mutation($org: ID!, $input: UpdateWebhookInput!) { updateWebhook(organizationId: $org, input: $input) { id url } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const TEST = `mutation($org: ID!) { testWebhook(organizationId: $org) { id kind status nextAttemptAt eventCount events { id action } } }`;
const DELIVERY = `query($org: ID!, $id: ID!) { delivery(organizationId: $org, id: $id) { id status kind attemptCount nextAttemptAt completedAt eventCount events { id } attempts { attemptNumber outcome } } }`;
const DELIVERIES = `query($org: ID!, $filter: DeliveryFilter, $first: Int, $after: String) { deliveries(organizationId: $org, filter: $filter, first: $first, after: $after) {
  edges { cursor node { id kind status eventCount } } pageInfo { hasNextPage endCursor } } }`;
const ATTEMPTS = `subscription($org: ID!) { deliveryAttempts(organizationId: $org) { deliveryId attemptNumber outcome delivery { kind } } }`;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ AUDITHOOK_RETRY_DELAYS: '200ms,200ms,200ms', AUDITHOOK_TEST_DELAY: '600ms' });
});
afterAll(async () => {
  await server?.stop();
});

async function newOrg(receiver: Receiver) {
  const org = await server.createOrg(`org-${Math.random()}`);
  const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
  const registered = await gql(REGISTER, { input: { url: receiver.url } });
  expect(registered.errors).toBeUndefined();
  await waitFor(() => receiver.requests.length >= 1); // the audit_log_webhook_registered event
  return { ...org, gql, webhookId: registered.data!.registerWebhook.id as string };
}

/**
 * True once nothing can send to the webhook any more: no unfinished delivery, no event waiting in its
 * outbox, and no Agenda job for any of its deliveries (a job's row stays until its run has ended).
 * Waiting for this replaces "sleep long enough that a duplicate or a stray retry would have shown up".
 */
async function quiescent(webhookId: string): Promise<boolean> {
  const deliveries = server.app.services.deliveryPipeline;
  if ((await deliveries.unfinished()).some((d) => d.webhookId === webhookId)) return false;
  if ((await deliveries.webhooksWithPendingEvents()).includes(webhookId)) return false;
  const rows = await server.app.orm.em.fork().getConnection().execute<{ n: number | string }[]>(
    `select count(*) as n from agenda_jobs where ${JOB_DELIVERY_ID_SQL} in (select id from deliveries where webhook_id = ?)`,
    [webhookId],
  );
  return Number(rows[0]!.n) === 0;
}

const events = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ action: 'burst_event', actor: { id: `${prefix}-${i}` } }));

describe('batching', () => {
  it('joins waiting events into batches under a burst: every id arrives, in far fewer requests, at most 4 in flight', async () => {
    const receiver = await startReceiver();
    let inFlight = 0;
    let maxInFlight = 0;
    try {
      const { gql } = await newOrg(receiver);
      receiver.requests.length = 0;
      receiver.respond((_request, _index, response) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          response.writeHead(200).end('ok');
        }, 30);
      });
      const recorded: string[] = [];
      // 1000 events as 40 concurrent calls of 25.
      const calls = await Promise.all(Array.from({ length: 40 }, (_, i) => gql(RECORD_MANY, { inputs: events(25, `b${i}`) })));
      for (const call of calls) {
        expect(call.errors).toBeUndefined();
        recorded.push(...call.data!.recordAuditEvents.map((e: { id: string }) => e.id));
      }
      expect(recorded).toHaveLength(1000);
      await waitFor(() => new Set(receiver.eventIds()).size >= 1000, 30_000);
      const received = new Set(receiver.eventIds());
      for (const id of recorded) expect(received.has(id)).toBe(true);
      const batchSizes = receiver.requests.map((r) => r.json.data.length);
      console.log(`burst of 1000 events: ${receiver.requests.length} requests, batch sizes max ${Math.max(...batchSizes)}, max in flight ${maxInFlight}`);
      expect(receiver.requests.length).toBeLessThan(100);
      expect(Math.max(...batchSizes)).toBeLessThanOrEqual(100);
      expect(maxInFlight).toBeLessThanOrEqual(4);
      expect(maxInFlight).toBeGreaterThan(1);
    } finally {
      await receiver.close();
    }
  });

  it('sends each delivery once when batches are recorded in quick succession', async () => {
    const receiver = await startReceiver();
    try {
      const { gql, webhookId } = await newOrg(receiver);
      await waitFor(() => quiescent(webhookId)); // the registration event's delivery is done
      receiver.requests.length = 0;
      const recorded: string[] = [];
      for (let i = 0; i < 8; i++) {
        const call = await gql(RECORD_MANY, { inputs: events(3, `quick-${i}`) });
        const ids: string[] = call.data!.recordAuditEvents.map((e: { id: string }) => e.id);
        recorded.push(...ids);
        // Pairs of batches back to back (the second lands while the first is being claimed or sent),
        // then wait for that pair to arrive, so batches also land on an idle webhook.
        if (i % 2 === 1) await waitFor(() => ids.every((id) => receiver.eventIds().includes(id)));
      }
      await waitFor(() => recorded.every((id) => receiver.eventIds().includes(id)));
      await waitFor(() => quiescent(webhookId)); // no job left that could still send a duplicate
      const deliveryIds = receiver.requests.map((r) => String(r.headers['webhook-id']));
      expect(new Set(deliveryIds).size).toBe(deliveryIds.length);
      expect(receiver.eventIds().sort()).toEqual([...recorded].sort());
      const sent = (await gql(DELIVERIES, { first: 100 })).data!.deliveries.edges.map((e: any) => e.node);
      const batches = sent.filter((d: any) => d.kind === 'EVENTS' && deliveryIds.includes(d.id));
      expect(batches).toHaveLength(deliveryIds.length);
      expect(batches.every((d: any) => d.status === 'SUCCEEDED')).toBe(true);
      for (const { id } of batches) {
        expect((await gql(DELIVERY, { id })).data!.delivery.attemptCount).toBe(1); // each sent exactly once
      }
    } finally {
      await receiver.close();
    }
  });

  it('sends an event at once, alone, when the system is idle', async () => {
    const receiver = await startReceiver();
    try {
      const { gql } = await newOrg(receiver);
      receiver.requests.length = 0;
      const started = Date.now();
      const recorded = await gql(RECORD_MANY, { inputs: events(1, 'idle') });
      const request = await waitFor(() => receiver.requests[0]);
      expect(request.json.data.map((e: { id: string }) => e.id)).toEqual([recorded.data!.recordAuditEvents[0].id]);
      expect(request.receivedAt - started).toBeLessThan(1000); // well before any poll interval
    } finally {
      await receiver.close();
    }
  });
});

describe('test registration', () => {
  it('sends three sample activities after the test delay, once, even when asked twice', async () => {
    const receiver = await startReceiver();
    try {
      const { gql, adminToken, orgId } = await newOrg(receiver);
      await waitFor(async () => (await gql(DELIVERIES, { filter: { status: 'SUCCEEDED' } })).data!.deliveries.edges.length === 1);
      receiver.requests.length = 0;
      const subscription = await subscribeLive<any>(server, server.wsClient(adminToken), ATTEMPTS, { org: orgId }, 1);
      const askedAt = Date.now();
      const first = (await gql(TEST)).data!.testWebhook;
      const second = (await gql(TEST)).data!.testWebhook;
      expect(second.id).toBe(first.id);
      expect(first).toMatchObject({ kind: 'TEST', status: 'PENDING', eventCount: 3 });
      expect(first.events).toHaveLength(3);
      expect(Date.parse(first.nextAttemptAt) - askedAt).toBeGreaterThanOrEqual(500);
      const [message] = await subscription.done;
      expect(message.deliveryAttempts).toMatchObject({ deliveryId: first.id, attemptNumber: 1, outcome: 'SUCCEEDED', delivery: { kind: 'TEST' } });
      expect(receiver.requests).toHaveLength(1);
      const request = receiver.requests[0]!;
      expect(request.receivedAt - askedAt).toBeGreaterThanOrEqual(550);
      expect(request.json).toMatchObject({ id: first.id, type: 'audit_log.test', test: true });
      expect(request.json.data.map((e: { id: string }) => e.id)).toEqual(first.events.map((e: { id: string }) => e.id));
      // once finished, a new test makes a new delivery
      await waitFor(async () => (await gql(DELIVERY, { id: first.id })).data!.delivery.status === 'SUCCEEDED');
      const third = (await gql(TEST)).data!.testWebhook;
      expect(third.id).not.toBe(first.id);
      const filtered = await gql(DELIVERIES, { filter: { kind: 'TEST' } });
      expect(filtered.data!.deliveries.edges.map((e: any) => e.node.id)).toEqual([third.id, first.id]);
    } finally {
      await receiver.close();
    }
  });
});

describe('operator actions', () => {
  it('redeliver sends a finished delivery again with the same id and events', async () => {
    const receiver = await startReceiver();
    try {
      const { gql } = await newOrg(receiver);
      receiver.respond(() => ({ status: 500 }));
      const recorded = await gql(RECORD_MANY, { inputs: events(2, 'redeliver') });
      const ids = recorded.data!.recordAuditEvents.map((e: { id: string }) => e.id);
      const failed = await waitFor(async () => {
        const edges = (await gql(DELIVERIES, { filter: { status: 'FAILED', kind: 'EVENTS' } })).data!.deliveries.edges;
        return edges.find((e: any) => e.node.eventCount === 2)?.node;
      });
      const stillRunning = await gql(`mutation($org: ID!, $id: ID!) { redeliver(organizationId: $org, deliveryId: $id) { id } }`, { id: 'dlv_missing' });
      expect(stillRunning.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      receiver.respond(() => ({ status: 200 }));
      receiver.requests.length = 0;
      const again = await gql(`mutation($org: ID!, $id: ID!) { redeliver(organizationId: $org, deliveryId: $id) { id status attemptCount } }`, { id: failed.id });
      expect(again.data!.redeliver).toMatchObject({ id: failed.id, status: 'PENDING', attemptCount: 0 });
      const request = await waitFor(() => receiver.requests[0]);
      expect(request.headers['webhook-id']).toBe(failed.id);
      expect(request.json.data.map((e: { id: string }) => e.id)).toEqual(ids);
      const done = await waitFor(async () => {
        const d = (await gql(DELIVERY, { id: failed.id })).data!.delivery;
        return d.status === 'SUCCEEDED' ? d : null;
      });
      expect(done.attemptCount).toBe(1);
      expect(done.attempts.map((a: any) => a.outcome)).toEqual(['SUCCEEDED', 'FAILED', 'FAILED', 'FAILED', 'FAILED']);
    } finally {
      await receiver.close();
    }
  });

  it('redeliver refuses a delivery that has not finished', async () => {
    const receiver = await startReceiver();
    try {
      const { gql } = await newOrg(receiver);
      const test = (await gql(TEST)).data!.testWebhook;
      const result = await gql(`mutation($org: ID!, $id: ID!) { redeliver(organizationId: $org, deliveryId: $id) { id } }`, { id: test.id });
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'deliveryId' });
    } finally {
      await receiver.close();
    }
  });

  it('updateWebhook applies to the next attempts of pending deliveries', async () => {
    const [first, second] = await Promise.all([startReceiver(), startReceiver()]);
    try {
      const { gql } = await newOrg(first);
      first.respond(() => ({ status: 500 }));
      const recorded = await gql(RECORD_MANY, { inputs: events(1, 'moved') });
      const eventId = recorded.data!.recordAuditEvents[0].id;
      await waitFor(() => first.eventIds().includes(eventId));
      await gql(UPDATE, { input: { url: second.url } });
      await waitFor(() => second.eventIds().includes(eventId), 10_000);
      expect(second.requests.find((r) => r.body.includes(eventId))!.json.data[0].id).toBe(eventId);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('removeWebhook cancels unfinished deliveries, and a new registration gets only events recorded after it', async () => {
    const [first, second] = await Promise.all([startReceiver(), startReceiver()]);
    try {
      const { gql, webhookId: firstWebhookId } = await newOrg(first);
      first.respond(() => ({ status: 500 }));
      const before = await gql(RECORD_MANY, { inputs: events(3, 'before') });
      const beforeIds: string[] = before.data!.recordAuditEvents.map((e: { id: string }) => e.id);
      await waitFor(() => beforeIds.every((id) => first.eventIds().includes(id)));
      expect((await gql(`mutation($org: ID!) { removeWebhook(organizationId: $org) }`)).data!.removeWebhook).toBe(true);
      const requestsAtRemoval = first.requests.length;
      const cancelled = await gql(DELIVERIES, { filter: { status: 'CANCELLED' } });
      expect(cancelled.data!.deliveries.edges.length).toBeGreaterThanOrEqual(1);
      // their Agenda jobs are gone too (a job running right now removes itself when it finds CANCELLED)
      const cancelledIds = cancelled.data!.deliveries.edges.map((e: any) => e.node.id);
      await waitFor(async () => {
        const rows = await server.app.orm.em.fork().getConnection().execute<{ n: number | string }[]>(
          `select count(*) as n from agenda_jobs where ${JOB_DELIVERY_ID_SQL} in (${cancelledIds.map(() => '?').join(',')})`,
          cancelledIds,
        );
        return Number(rows[0]!.n) === 0;
      });
      const between = await gql(RECORD_MANY, { inputs: events(2, 'between') });
      const betweenIds: string[] = between.data!.recordAuditEvents.map((e: { id: string }) => e.id);
      await gql(REGISTER, { input: { url: second.url } });
      const after = await gql(RECORD_MANY, { inputs: events(2, 'after') });
      const afterIds: string[] = after.data!.recordAuditEvents.map((e: { id: string }) => e.id);
      await waitFor(() => afterIds.every((id) => second.eventIds().includes(id)));
      // Nothing is left that could reach the removed webhook: no unfinished delivery, outbox row or job.
      await waitFor(() => quiescent(firstWebhookId));
      expect(first.requests.length).toBe(requestsAtRemoval);
      for (const id of [...beforeIds, ...betweenIds]) expect(second.eventIds()).not.toContain(id);
      const stillOpen = await gql(DELIVERIES, { filter: { status: 'RETRYING' } });
      expect(stillOpen.data!.deliveries.edges).toEqual([]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('pages deliveries with cursors and refuses a malformed one', async () => {
    const receiver = await startReceiver();
    try {
      const { gql } = await newOrg(receiver);
      for (let i = 0; i < 4; i++) {
        await gql(RECORD_MANY, { inputs: events(1, `page-${i}`) });
        await waitFor(() => receiver.requests.length >= i + 2);
      }
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: any = await gql(DELIVERIES, { first: 2, after });
        seen.push(...page.data.deliveries.edges.map((e: any) => e.node.id));
        after = page.data.deliveries.pageInfo.hasNextPage ? page.data.deliveries.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
      const bad = await gql(DELIVERIES, { after: '!!' });
      expect(bad.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    } finally {
      await receiver.close();
    }
  });
});

describe('deliveryAttempts subscription accounting', () => {
  it('the attempt feed counts a subscription, per organization, once the server has started it', async () => {
    const org = await server.createOrg('Counted');
    const feed = server.app.services.deliveries.feed;
    expect(feed.listenerCount(org.orgId)).toBe(0);
    const subscription = await subscribeLive<any>(server, server.wsClient(org.adminToken), ATTEMPTS, { org: org.orgId }, 1);
    expect(feed.listenerCount(org.orgId)).toBe(1);
    expect(feed.listenerCount(server.orgId)).toBe(0);
    // Registered means live: an attempt published right now reaches the client.
    const receiver = await startReceiver();
    try {
      const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
      expect((await gql(REGISTER, { input: { url: receiver.url } })).errors).toBeUndefined();
      const [message] = await subscription.done;
      expect(message.deliveryAttempts).toMatchObject({ attemptNumber: 1, outcome: 'SUCCEEDED', delivery: { kind: 'EVENTS' } });
    } finally {
      await receiver.close();
    }
  });
});

describe('deliveryAttempts subscription authorization', () => {
  it('closes the socket with 4403 for a missing or bad token', async () => {
    for (const token of [null, 'ah_wrong']) {
      const closed = new Promise<{ code: number }>((resolve) => {
        const client = server.wsClient(token, { onClosed: (event) => resolve(event as { code: number }) });
        client.subscribe({ query: ATTEMPTS, variables: { org: server.orgId } }, { next: () => {}, error: () => {}, complete: () => {} });
      });
      expect((await closed).code).toBe(4403);
    }
  });

  it("gives FORBIDDEN for another organization's id and for an INGEST token", async () => {
    const other = await server.createOrg('Elsewhere');
    const forOther = collect(server.wsClient(server.adminToken), ATTEMPTS, { org: other.orgId }, 1);
    await expect(forOther.done).rejects.toMatchObject({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })] });
    const created = await server.gql(`mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST }) { token } }`, { org: server.orgId });
    const ingest = collect(server.wsClient(created.data!.createApiToken.token), ATTEMPTS, { org: server.orgId }, 1);
    await expect(ingest.done).rejects.toMatchObject({ errors: [expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) })] });
  });
});
