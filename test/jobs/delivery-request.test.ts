import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const UPDATE = `mutation($org: ID!, $input: UpdateWebhookInput!) { updateWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const TEST = `mutation($org: ID!) { testWebhook(organizationId: $org) { id } }`;
const SIGNING_SECRET = `query($org: ID!) { webhookSigningSecret(organizationId: $org) }`;
const DELIVERY = `query($org: ID!, $id: ID!) { delivery(organizationId: $org, id: $id) {
  id status payload attempts { attemptNumber outcome url requestHeaders { name value } } } }`;
const ATTEMPTS = `subscription($org: ID!) { deliveryAttempts(organizationId: $org) { deliveryId url requestHeaders { name value } } }`;

const PASSWORD = 'pw-Zq81-never-shown';
const QUERY_TOKEN = 'qt-Lm40';
const BEARER = 'bearer-Xy77-never-shown';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ AUDITHOOK_RETRY_DELAYS: '100ms,100ms,100ms', AUDITHOOK_TEST_DELAY: '100ms' });
});
afterAll(async () => {
  await server?.stop();
});

async function newOrg(receiver: Receiver, authorization: Record<string, unknown> | null, path = '') {
  const org = await server.createOrg(`org-${Math.random()}`);
  const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
  const url = `${receiver.url}${path}`;
  const registered = await gql(REGISTER, { input: { url, ...(authorization ? { authorization } : {}) } });
  expect(registered.errors).toBeUndefined();
  return { ...org, gql, url, webhookId: registered.data!.registerWebhook.id as string };
}

/** Every stored delivery_attempts row of the webhook, as SQLite holds it (secrets at rest). */
async function storedAttempts(webhookId: string): Promise<string> {
  const rows = await server.app.orm.em.fork().getConnection().execute(`select * from delivery_attempts where webhook_id = ?`, [webhookId]);
  return JSON.stringify(rows);
}

describe('the request as sent', () => {
  it('Delivery.payload is byte for byte the body the receiver got, for EVENTS and TEST deliveries', async () => {
    const receiver = await startReceiver();
    try {
      const { gql } = await newOrg(receiver, null);
      const recorded = await gql(RECORD_MANY, {
        inputs: [
          { action: 'user_renamed', actor: { id: 'u-1', name: 'Zoë "Q" Ünïcode ✓', email: null }, context: [{ id: 'c-1', type: 'user', attributes: { n: 1.5, nested: { a: [1, 'x'] } } }], message: 'line\nbreak \u2028 sep' },
          { action: 'user_logged_in', actor: { id: 'u-2' }, location: { ip: '203.0.113.9', city: null } },
        ],
      });
      expect(recorded.errors).toBeUndefined();
      const ids = recorded.data!.recordAuditEvents.map((e: { id: string }) => e.id);
      const request = await waitFor(() => receiver.requests.find((r) => r.body.includes(ids[0])));
      const delivery = (await gql(DELIVERY, { id: String(request.headers['webhook-id']) })).data!.delivery;
      expect(JSON.stringify(delivery.payload)).toBe(request.body);

      const test = (await gql(TEST)).data!.testWebhook;
      const testRequest = await waitFor(() => receiver.requests.find((r) => r.headers['webhook-id'] === test.id));
      const testDelivery = (await gql(DELIVERY, { id: test.id })).data!.delivery;
      expect(testDelivery.payload.type).toBe('audit_log.test');
      expect(JSON.stringify(testDelivery.payload)).toBe(testRequest.body);
    } finally {
      await receiver.close();
    }
  });

  it('each attempt keeps the URL it went to and its headers, authorization as its scheme only; no secret is returned or stored', async () => {
    const [first, second] = await Promise.all([startReceiver(), startReceiver()]);
    try {
      const { gql, url: firstUrl, webhookId, adminToken, orgId } = await newOrg(first, { basic: { username: 'audit-bot', password: PASSWORD } }, `?token=${QUERY_TOKEN}`);
      const signingSecret: string = (await gql(SIGNING_SECRET)).data!.webhookSigningSecret;
      const credentials = Buffer.from(`audit-bot:${PASSWORD}`).toString('base64');
      await waitFor(() => first.requests.length >= 1); // the registration event
      first.respond(() => ({ status: 500 }));

      const live: any[] = [];
      const stop = server.wsClient(adminToken).subscribe({ query: ATTEMPTS, variables: { org: orgId } }, { next: (m) => void live.push(m.data), error: () => {}, complete: () => {} });
      const eventId = (await gql(RECORD_MANY, { inputs: [{ action: 'moved_event', actor: { id: 'm-1' } }] })).data!.recordAuditEvents[0].id;
      const firstRequest = await waitFor(() => first.requests.find((r) => r.body.includes(eventId)));
      const deliveryId = String(firstRequest.headers['webhook-id']);
      expect(firstRequest.headers.authorization).toBe(`Basic ${credentials}`); // the receiver does get the credentials

      // The URL and the credentials change; the next attempt goes to the new ones.
      const secondUrl = `${second.url}?token=new`;
      expect((await gql(UPDATE, { input: { url: secondUrl, authorization: { header: `Bearer ${BEARER}` } } })).errors).toBeUndefined();
      const secondRequest = await waitFor(() => second.requests.find((r) => r.headers['webhook-id'] === deliveryId), 10_000);
      const delivery = await waitFor(async () => {
        const d = (await gql(DELIVERY, { id: deliveryId })).data!.delivery;
        return d.status === 'SUCCEEDED' ? d : null;
      });
      const attempts = [...delivery.attempts].reverse(); // oldest first
      const firstAttempts = attempts.filter((a: any) => a.outcome === 'FAILED');
      expect(firstAttempts.length).toBeGreaterThanOrEqual(1);
      expect(firstAttempts.every((a: any) => a.url === firstUrl)).toBe(true); // the URL it went to, not the edited one
      expect(attempts.at(-1)).toMatchObject({ outcome: 'SUCCEEDED', url: secondUrl });

      // Headers: exactly what the receiver got, authorization reduced to its scheme.
      const asReceived = (request: typeof firstRequest, headers: { name: string; value: string }[]) => {
        for (const { name, value } of headers) {
          if (name === 'authorization') continue;
          expect([name, value]).toEqual([name, request.headers[name]]);
        }
      };
      const firstHeaders = attempts.find((a: any) => a.attemptNumber === 1).requestHeaders;
      expect(firstHeaders.map((h: any) => h.name)).toEqual(['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'authorization']);
      expect(firstHeaders.find((h: any) => h.name === 'authorization').value).toBe('Basic');
      expect(firstHeaders.find((h: any) => h.name === 'webhook-signature').value).toBe(firstRequest.headers['webhook-signature']);
      const lastHeaders = attempts.at(-1).requestHeaders;
      expect(lastHeaders.find((h: any) => h.name === 'authorization').value).toBe('Bearer');
      asReceived(secondRequest, lastHeaders);
      const firstAttemptRequest = first.requests.filter((r) => r.headers['webhook-id'] === deliveryId)[0]!;
      asReceived(firstAttemptRequest, firstHeaders);

      // The live feed carries the same.
      await waitFor(() => live.some((m) => m.deliveryAttempts.deliveryId === deliveryId && m.deliveryAttempts.url === secondUrl));
      stop();
      const liveLast = live.find((m) => m.deliveryAttempts.deliveryId === deliveryId && m.deliveryAttempts.url === secondUrl).deliveryAttempts;
      expect(liveLast.requestHeaders).toEqual(lastHeaders);

      // No secret in any response, nor at rest in the attempt history.
      const everything = JSON.stringify([delivery, live]) + (await storedAttempts(webhookId));
      for (const secret of [PASSWORD, credentials, BEARER, signingSecret, signingSecret.replace(/^whsec_/, '')]) expect(everything).not.toContain(secret);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('PageInfo', () => {
  it('gives hasPreviousPage and startCursor on audit events and deliveries, honouring filters', async () => {
    const receiver = await startReceiver();
    try {
      const { gql } = await newOrg(receiver, null);
      const EVENTS = `query($org: ID!, $first: Int, $after: String, $action: String) { auditEvents(organizationId: $org, first: $first, after: $after, filter: { action: $action }) {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } }`;
      for (let i = 0; i < 5; i++) await gql(RECORD_MANY, { inputs: [{ action: i % 2 === 0 ? 'paged_even' : 'paged_odd', actor: { id: `p-${i}` } }] });

      const first = (await gql(EVENTS, { first: 2 })).data!.auditEvents;
      expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[1].cursor, hasPreviousPage: false, startCursor: first.edges[0].cursor });
      const second = (await gql(EVENTS, { first: 2, after: first.pageInfo.endCursor })).data!.auditEvents;
      expect(second.pageInfo).toEqual({ hasNextPage: true, endCursor: second.edges[1].cursor, hasPreviousPage: true, startCursor: second.edges[0].cursor });
      let last = second;
      while (last.pageInfo.hasNextPage) last = (await gql(EVENTS, { first: 2, after: last.pageInfo.endCursor })).data!.auditEvents;
      const beyond = (await gql(EVENTS, { first: 2, after: last.pageInfo.endCursor })).data!.auditEvents;
      expect(beyond).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null, hasPreviousPage: true, startCursor: null } });

      // With a filter, only matching items count as "before": an `after` past every even event has some, one
      // taken from an item no even event is at or newer than has none.
      const evens = (await gql(EVENTS, { first: 1, action: 'paged_even' })).data!.auditEvents;
      expect((await gql(EVENTS, { first: 1, action: 'paged_even', after: evens.pageInfo.endCursor })).data!.auditEvents.pageInfo.hasPreviousPage).toBe(true);
      const newest = (await gql(EVENTS, { first: 1 })).data!.auditEvents; // paged_even p-4 or newer
      const oldestOdd = (await gql(EVENTS, { first: 10, action: 'paged_odd' })).data!.auditEvents.edges.at(-1).cursor;
      expect((await gql(EVENTS, { first: 1, action: 'paged_odd', after: newest.pageInfo.startCursor })).data!.auditEvents.pageInfo.hasPreviousPage).toBe(false);
      expect((await gql(EVENTS, { first: 1, action: 'paged_odd', after: oldestOdd })).data!.auditEvents.pageInfo.hasPreviousPage).toBe(true);

      const DELIVERIES = `query($org: ID!, $first: Int, $after: String) { deliveries(organizationId: $org, first: $first, after: $after) {
        edges { cursor } pageInfo { hasNextPage endCursor hasPreviousPage startCursor } } }`;
      await waitFor(async () => (await gql(DELIVERIES, { first: 10 })).data!.deliveries.edges.length >= 2);
      const page1 = (await gql(DELIVERIES, { first: 1 })).data!.deliveries;
      expect(page1.pageInfo).toMatchObject({ hasPreviousPage: false, startCursor: page1.edges[0].cursor });
      const page2 = (await gql(DELIVERIES, { first: 1, after: page1.pageInfo.endCursor })).data!.deliveries;
      expect(page2.pageInfo).toMatchObject({ hasPreviousPage: true, startCursor: page2.edges[0].cursor });
    } finally {
      await receiver.close();
    }
  });
});
