import { readFileSync } from 'node:fs';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { subscribeLive } from '../support/subscriptions.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  [server, receiver] = await Promise.all([startTestServer(), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), receiver?.close()]);
});
afterEach(async () => {
  await server.gql(`mutation($org: ID!) { removeWebhook(organizationId: $org) }`, { org: server.orgId });
  receiver.respond(() => ({ status: 200, body: 'ok' }));
  receiver.requests.length = 0;
});

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;
const DELIVERY = `query($org: ID!, $id: ID!) { delivery(organizationId: $org, id: $id) {
  id webhookId kind status eventCount attemptCount maxAttempts nextAttemptAt createdAt completedAt
  events { id action }
  attempts { id deliveryId webhookId attemptNumber outcome statusCode error responseBody durationMs startedAt willRetry nextAttemptAt }
} }`;
const ATTEMPTS = `subscription($org: ID!) { deliveryAttempts(organizationId: $org) {
  id deliveryId webhookId attemptNumber outcome statusCode error willRetry nextAttemptAt delivery { id status }
} }`;

async function register(authorization?: unknown, url = receiver.url) {
  const result = await server.gql(REGISTER, { org: server.orgId, input: { url, ...(authorization ? { authorization } : {}) } });
  expect(result.errors).toBeUndefined();
  const webhookId = result.data!.registerWebhook.id as string;
  // Registering records audit_log_webhook_registered, which is delivered too: wait for it, then start clean.
  await waitFor(() => receiver.requests.length >= 1);
  await waitFor(async () => (await server.gql(`query($org: ID!) { deliveries(organizationId: $org, filter: { status: PENDING }) { edges { cursor } } }`, { org: server.orgId })).data!.deliveries.edges.length === 0);
  await waitFor(async () => (await server.gql(`query($org: ID!) { deliveries(organizationId: $org, filter: { status: RETRYING }) { edges { cursor } } }`, { org: server.orgId })).data!.deliveries.edges.length === 0);
  receiver.requests.length = 0;
  return webhookId;
}

async function record(action = 'user_logged_in', extra: Record<string, unknown> = {}) {
  const result = await server.gql(RECORD, { org: server.orgId, input: { action, actor: { id: 'u-1', name: 'Ada' }, ...extra } });
  expect(result.errors).toBeUndefined();
  return result.data!.recordAuditEvent.id as string;
}

async function deliveryOf(eventId: string) {
  const list = await server.gql(`query($org: ID!) { deliveries(organizationId: $org, first: 500) { edges { node { id events { id } } } } }`, { org: server.orgId });
  const node = list.data!.deliveries.edges.map((e: any) => e.node).find((d: any) => d.events.some((e: any) => e.id === eventId));
  return node?.id as string | undefined;
}

describe('delivery', () => {
  it('sends each event signed, with the registered authorization and the documented body', async () => {
    await register({ basic: { username: 'audit-bot', password: 's3cret' } });
    const secret = (await server.gql(`query($org: ID!) { webhookSigningSecret(organizationId: $org) }`, { org: server.orgId })).data!.webhookSigningSecret;
    const eventId = await record('user_logged_in', { message: 'hello', location: { ip: '203.0.113.9', city: 'Paris' }, context: [{ id: 'p1', type: 'page' }] });
    const request = await waitFor(() => receiver.requests.find((r) => r.body.includes(eventId)));
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['user-agent']).toBe(`audithook/${packageVersion}`);
    expect(request.headers.authorization).toBe(`Basic ${Buffer.from('audit-bot:s3cret').toString('base64')}`);
    const verified = new StandardWebhook(secret).verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({ id: request.headers['webhook-id'], type: 'audit_log.events', organizationId: server.orgId, test: false });
    expect(request.json.id).toMatch(/^dlv_/);
    expect(request.json.data).toEqual([
      {
        id: eventId,
        type: 'events',
        attributes: {
          time: expect.any(String),
          action: 'user_logged_in',
          actor: { id: 'u-1', name: 'Ada' },
          context: [{ id: 'p1', type: 'page' }],
          container: [],
          location: { ip: '203.0.113.9', city: 'Paris' },
          message: 'hello',
        },
      },
    ]);
    const deliveryId = request.json.id;
    const delivery = await waitFor(async () => {
      const d = (await server.gql(DELIVERY, { org: server.orgId, id: deliveryId })).data!.delivery;
      return d.status === 'SUCCEEDED' ? d : null;
    });
    expect(delivery).toMatchObject({ kind: 'EVENTS', eventCount: 1, attemptCount: 1, maxAttempts: 4, nextAttemptAt: null, events: [{ id: eventId }] });
    expect(delivery.attempts).toEqual([expect.objectContaining({ attemptNumber: 1, outcome: 'SUCCEEDED', statusCode: 200, responseBody: 'ok', error: null, willRetry: false, nextAttemptAt: null })]);
  });

  it('a receiver answering 500 gets four attempts, then FAILED, with four attempt records and four subscription messages', async () => {
    await register();
    receiver.respond(() => ({ status: 500, body: 'receiver broke' }));
    const subscription = await subscribeLive<any>(server, server.wsClient(server.adminToken), ATTEMPTS, { org: server.orgId }, 4);
    const eventId = await record();
    const messages = await subscription.done;
    expect(messages.map((m) => m.deliveryAttempts.attemptNumber)).toEqual([1, 2, 3, 4]);
    expect(messages.map((m) => m.deliveryAttempts.willRetry)).toEqual([true, true, true, false]);
    expect(messages.every((m) => m.deliveryAttempts.statusCode === 500 && m.deliveryAttempts.error === 'HTTP_500')).toBe(true);
    const deliveryId = messages[0].deliveryAttempts.deliveryId;
    expect(await deliveryOf(eventId)).toBe(deliveryId);
    const delivery = await waitFor(async () => {
      const d = (await server.gql(DELIVERY, { org: server.orgId, id: deliveryId })).data!.delivery;
      return d.status === 'FAILED' ? d : null;
    });
    expect(delivery.attemptCount).toBe(4);
    expect(delivery.completedAt).not.toBeNull();
    expect(delivery.attempts.map((a: any) => a.attemptNumber)).toEqual([4, 3, 2, 1]);
    expect(delivery.attempts.every((a: any) => a.outcome === 'FAILED' && a.responseBody === 'receiver broke')).toBe(true);
    expect(receiver.requests.filter((r) => r.body.includes(eventId))).toHaveLength(4);
    // the same webhook-id on every attempt
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([deliveryId]));
    const webhook = (await server.gql(`query($org: ID!) { webhook(organizationId: $org) { lastAttemptAt lastFailureAt lastSuccessAt } }`, { org: server.orgId })).data!.webhook;
    expect(webhook.lastFailureAt).not.toBeNull();
  });

  it('500, 500, then 200 ends SUCCEEDED at attempt 3', async () => {
    await register();
    receiver.respond((_r, index) => (index < 2 ? { status: 500 } : { status: 204 }));
    const eventId = await record();
    const deliveryId = await waitFor(() => deliveryOf(eventId));
    const delivery = await waitFor(async () => {
      const d = (await server.gql(DELIVERY, { org: server.orgId, id: deliveryId })).data!.delivery;
      return d.status === 'SUCCEEDED' ? d : null;
    });
    expect(delivery.attemptCount).toBe(3);
    expect(delivery.attempts.map((a: any) => [a.attemptNumber, a.outcome, a.statusCode])).toEqual([
      [3, 'SUCCEEDED', 204],
      [2, 'FAILED', 500],
      [1, 'FAILED', 500],
    ]);
  });
});
