import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quiescent } from '../support/test-database.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const RECOVER = `mutation($org: ID!, $since: DateTimeISO!) { recoverDeliveries(organizationId: $org, since: $since) }`;
const DELIVERY = `query($org: ID!, $id: ID!) { delivery(organizationId: $org, id: $id) { id status attemptCount createdAt attempts { attemptNumber outcome } } }`;
const FAILED = `query($org: ID!) { deliveries(organizationId: $org, filter: { status: FAILED }, first: 500) { edges { node { id createdAt } } } }`;
const RECOVERED_EVENTS = `query($org: ID!) { auditEvents(organizationId: $org, filter: { action: "audit_log_deliveries_recovered" }) {
  edges { node { action message actor { id type } context { id type name } } } } }`;

/** Two request slots per webhook, so the cap is visible with a handful of deliveries. */
const CONCURRENCY = 2;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ AUDITHOOK_RETRY_DELAYS: '50ms,50ms,50ms', AUDITHOOK_WEBHOOK_CONCURRENCY: String(CONCURRENCY) });
});
afterAll(async () => {
  await server?.stop();
});

async function newOrg(receiver: Receiver) {
  const org = await server.createOrg(`org-${Math.random()}`);
  const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
  const registered = await gql(REGISTER, { input: { url: receiver.url } });
  expect(registered.errors).toBeUndefined();
  return { ...org, gql, webhookId: registered.data!.registerWebhook.id as string };
}


/** Records one event and waits until the receiver has had it: each call becomes a delivery of its own. */
async function recordAlone(gql: (q: string, v?: Record<string, unknown>) => Promise<any>, receiver: Receiver, actorId: string): Promise<string> {
  const eventId: string = (await gql(RECORD_MANY, { inputs: [{ action: 'outage_event', actor: { id: actorId } }] })).data!.recordAuditEvents[0].id;
  await waitFor(() => receiver.eventIds().includes(eventId));
  return eventId;
}

const deliveryIdsOf = (receiver: Receiver) => receiver.requests.map((r) => String(r.headers['webhook-id']));

describe('recoverDeliveries', () => {
  it('sends every FAILED delivery created since `since` again through the capped job path, not older ones, and records an audit event', async () => {
    const receiver = await startReceiver();
    try {
      const { gql, webhookId } = await newOrg(receiver);
      await waitFor(() => quiescent(server, webhookId)); // the registration event went through
      // The receiver is down for "fail-" events only, so deliveries in between succeed.
      receiver.respond((request) => ({ status: request.body.includes('"fail-') ? 503 : 200 }));

      await recordAlone(gql, receiver, 'fail-before');
      await waitFor(() => quiescent(server, webhookId));
      const [older] = (await gql(FAILED)).data!.deliveries.edges.map((e: any) => e.node);
      expect(older).toBeDefined();
      const since = new Date(Date.parse(older.createdAt) + 1);
      await waitFor(() => Date.now() > since.getTime() + 5); // the next deliveries are created after `since`

      for (let i = 0; i < 5; i++) await recordAlone(gql, receiver, `fail-${i}`);
      await recordAlone(gql, receiver, 'ok-meanwhile');
      await waitFor(() => quiescent(server, webhookId));
      const failed: string[] = (await gql(FAILED)).data!.deliveries.edges.map((e: any) => e.node.id).filter((id: string) => id !== older.id);
      expect(failed).toHaveLength(5);
      const succeededMeanwhile = receiver.requests.find((r) => r.body.includes('ok-meanwhile'))!.headers['webhook-id'];

      // The receiver is back, slow enough that requests overlap: the webhook's cap must hold.
      let inFlight = 0;
      let maxInFlight = 0;
      receiver.respond((_request, _index, response) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          response.writeHead(200).end('ok');
        }, 80);
      });
      receiver.requests.length = 0;
      const recovered = await gql(RECOVER, { since: since.toISOString() });
      expect(recovered.errors).toBeUndefined();
      expect(recovered.data!.recoverDeliveries).toBe(5);

      await waitFor(() => failed.every((id) => deliveryIdsOf(receiver).includes(id)));
      await waitFor(() => quiescent(server, webhookId));
      for (const id of failed) {
        const delivery = (await gql(DELIVERY, { id })).data!.delivery;
        expect(delivery).toMatchObject({ status: 'SUCCEEDED', attemptCount: 1 }); // a fresh round, as redeliver starts one
        expect(delivery.attempts.map((a: any) => a.outcome)).toEqual(['SUCCEEDED', 'FAILED', 'FAILED', 'FAILED', 'FAILED']);
      }
      const sentAgain = deliveryIdsOf(receiver);
      expect(sentAgain.filter((id) => failed.includes(id)).sort()).toEqual([...failed].sort()); // each exactly once
      expect(sentAgain).not.toContain(older.id); // created before `since`
      expect(sentAgain).not.toContain(succeededMeanwhile); // not FAILED
      expect((await gql(DELIVERY, { id: older.id })).data!.delivery.status).toBe('FAILED');
      expect(maxInFlight).toBe(CONCURRENCY); // in parallel, up to the cap and never past it

      const [event] = (await gql(RECOVERED_EVENTS)).data!.auditEvents.edges.map((e: any) => e.node);
      expect(event).toMatchObject({
        action: 'audit_log_deliveries_recovered',
        actor: { type: 'api_token' },
        context: [{ id: webhookId, type: 'webhook', name: receiver.url }],
      });
      expect(event.message).toBe(`5 failed deliveries created since ${since.toISOString()} sent again`);

      // Nothing FAILED is left since then: a second call recovers none, and says so in its own event.
      expect((await gql(RECOVER, { since: since.toISOString() })).data!.recoverDeliveries).toBe(0);
      const events = (await gql(RECOVERED_EVENTS)).data!.auditEvents.edges;
      expect(events).toHaveLength(2);
      expect(events[0].node.message).toBe(`0 failed deliveries created since ${since.toISOString()} sent again`);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a `since` in the future or malformed, and without a webhook, changing nothing', async () => {
    const receiver = await startReceiver();
    try {
      const { gql, webhookId } = await newOrg(receiver);
      await waitFor(() => quiescent(server, webhookId));
      receiver.respond(() => ({ status: 500 }));
      await recordAlone(gql, receiver, 'fail-kept');
      await waitFor(() => quiescent(server, webhookId));
      const failedBefore = (await gql(FAILED)).data!.deliveries.edges;
      expect(failedBefore).toHaveLength(1);

      const future = await gql(RECOVER, { since: new Date(Date.now() + 60_000).toISOString() });
      expect(future.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'since' });
      expect(future.errors?.[0]?.message).toMatch(/since .* must not be in the future/);
      const malformed = await gql(RECOVER, { since: 'yesterday' });
      expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(malformed.errors?.[0]?.message).toContain('since');

      expect((await gql(FAILED)).data!.deliveries.edges).toEqual(failedBefore);
      expect((await gql(RECOVERED_EVENTS)).data!.auditEvents.edges).toEqual([]);

      await gql(`mutation($org: ID!) { removeWebhook(organizationId: $org) }`);
      const none = await gql(RECOVER, { since: new Date(0).toISOString() });
      expect(none.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect((await gql(FAILED)).data!.deliveries.edges).toEqual(failedBefore);
    } finally {
      await receiver.close();
    }
  });

  it('is for ADMIN tokens only', async () => {
    const created = await server.gql(`mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST }) { token } }`, { org: server.orgId });
    const result = await server.gql(RECOVER, { org: server.orgId, since: new Date(0).toISOString() }, created.data!.createApiToken.token);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
