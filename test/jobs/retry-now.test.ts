import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD = `mutation($org: ID!, $action: String!) { recordAuditEvent(organizationId: $org, input: { action: $action, actor: { id: "u" } }) { id } }`;
const RETRY = `mutation($org: ID!, $id: ID!) { retryDelivery(organizationId: $org, deliveryId: $id) { id status attemptCount maxAttempts } }`;
const DELIVERY = `query($org: ID!, $id: ID!) { delivery(organizationId: $org, id: $id) {
  id status attemptCount maxAttempts nextAttemptAt events { action }
  attempts { attemptNumber outcome willRetry nextAttemptAt startedAt }
} }`;
const DELIVERIES = `query($org: ID!) { deliveries(organizationId: $org, first: 20) { edges { node { id status nextAttemptAt events { action } } } } }`;
const AUDIT = `query($org: ID!) { auditEvents(organizationId: $org, first: 50) { edges { node { action context { id type } } } } }`;

const HOUR_MS = 3_600_000;
let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  // Retries an hour apart: an attempt that arrives within seconds can only be the one asked for.
  [server, receiver] = await Promise.all([startTestServer({ AUDITHOOK_RETRY_DELAYS: '1h,2h,3h' }), startReceiver()]);
  failSelected();
});
afterAll(async () => {
  await Promise.all([server?.stop(), receiver?.close()]);
});

/** An organization whose receiver fails every request carrying `action` until told otherwise; returns that delivery once it is RETRYING. */
async function retryingDelivery(action: string) {
  const org = await server.createOrg(`org-${Math.random()}`);
  const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
  expect((await gql(REGISTER, { input: { url: receiver.url } })).errors).toBeUndefined();
  expect((await gql(RECORD, { action })).errors).toBeUndefined();
  const delivery = await waitFor(async () => {
    const nodes = (await gql(DELIVERIES)).data!.deliveries.edges.map((e: { node: { events: { action: string }[] } }) => e.node);
    return nodes.find((n: { status: string; events: { action: string }[] }) => n.status === 'RETRYING' && n.events.some((e) => e.action === action)) ?? null;
  });
  return { org, gql, delivery };
}

let failing = new Set<string>();
function failSelected(): void {
  receiver.respond((request) => {
    const actions: string[] = Array.isArray(request.json?.data) ? request.json.data.map((e: { attributes: { action: string } }) => e.attributes.action) : [];
    return actions.some((a) => failing.has(a)) ? { status: 500, body: 'down' } : { status: 200, body: 'ok' };
  });
}

describe('retryDelivery', () => {
  it('runs the planned retry now, as that attempt, with the retry budget unchanged', async () => {
    failing = new Set(['retry_now_ok']);
    const { gql, delivery } = await retryingDelivery('retry_now_ok');
    // The delivery shows the retry its first attempt planned, an hour out.
    const before = (await gql(DELIVERY, { id: delivery.id })).data!.delivery;
    expect(before).toMatchObject({ status: 'RETRYING', attemptCount: 1, maxAttempts: 4 });
    expect(before.nextAttemptAt).toBe(before.attempts[0].nextAttemptAt);
    expect(Date.parse(before.nextAttemptAt) - Date.parse(before.attempts[0].startedAt)).toBeGreaterThanOrEqual(HOUR_MS * 0.75); // 1h with ±20% jitter

    failing = new Set();
    const retried = await gql(RETRY, { id: delivery.id });
    expect(retried.errors).toBeUndefined();
    expect(retried.data!.retryDelivery).toMatchObject({ id: delivery.id, status: 'RETRYING', attemptCount: 1, maxAttempts: 4 });

    const after = await waitFor(async () => {
      const d = (await gql(DELIVERY, { id: delivery.id })).data!.delivery;
      return d.status === 'SUCCEEDED' ? d : null;
    });
    expect(after).toMatchObject({ attemptCount: 2, maxAttempts: 4, nextAttemptAt: null });
    expect(after.attempts.map((a: { attemptNumber: number; outcome: string }) => [a.attemptNumber, a.outcome])).toEqual([
      [2, 'SUCCEEDED'],
      [1, 'FAILED'],
    ]);
  });

  it('a retried attempt that fails again plans the next retry by the policy (the second delay), not from the start', async () => {
    failing = new Set(['retry_now_fails']);
    const { gql, delivery } = await retryingDelivery('retry_now_fails');
    expect((await gql(RETRY, { id: delivery.id })).errors).toBeUndefined();
    const after = await waitFor(async () => {
      const d = (await gql(DELIVERY, { id: delivery.id })).data!.delivery;
      return d.attemptCount === 2 ? d : null;
    });
    expect(after.status).toBe('RETRYING');
    const second = after.attempts[0];
    expect(second).toMatchObject({ attemptNumber: 2, outcome: 'FAILED', willRetry: true });
    const delayMs = Date.parse(second.nextAttemptAt) - Date.parse(second.startedAt);
    expect(delayMs).toBeGreaterThan(HOUR_MS * 1.5); // the 2h delay (with jitter), not the first 1h one
    expect(after.nextAttemptAt).toBe(second.nextAttemptAt);
  });

  it('is recorded in the organization audit log', async () => {
    failing = new Set(['retry_now_audited']);
    const { gql, delivery } = await retryingDelivery('retry_now_audited');
    expect((await gql(RETRY, { id: delivery.id })).errors).toBeUndefined();
    const events = (await gql(AUDIT)).data!.auditEvents.edges.map((e: { node: unknown }) => e.node);
    expect(events).toContainEqual({ action: 'audit_log_delivery_retried', context: [{ id: delivery.id, type: 'delivery' }] });
  });

  it('refuses a delivery that is not RETRYING, and an unknown or malformed id, naming deliveryId; nothing is sent', async () => {
    failing = new Set();
    const org = await server.createOrg(`org-${Math.random()}`);
    const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
    expect((await gql(REGISTER, { input: { url: receiver.url } })).errors).toBeUndefined();
    const succeeded = await waitFor(async () => (await gql(DELIVERIES)).data!.deliveries.edges.find((e: { node: { status: string } }) => e.node.status === 'SUCCEEDED')?.node ?? null);
    const requestsBefore = receiver.requests.length;

    const finished = await gql(RETRY, { id: succeeded.id });
    expect(finished.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'deliveryId' });
    expect(finished.errors?.[0]?.message).toMatch(/SUCCEEDED/);
    const unknown = await gql(RETRY, { id: 'dlv_00000000000000000000000000' });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    const malformed = await gql(RETRY, { id: 'nope' });
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
    // A refused retry records nothing, so no self-audit event goes out either.
    const events = (await gql(AUDIT)).data!.auditEvents.edges.map((e: { node: { action: string } }) => e.node.action);
    expect(events).not.toContain('audit_log_delivery_retried');
    expect(receiver.requests.length).toBe(requestsBefore);
  });

  it("refuses another organization's delivery as not found", async () => {
    failing = new Set(['retry_now_foreign']);
    const { delivery } = await retryingDelivery('retry_now_foreign');
    const stranger = await server.createOrg(`org-${Math.random()}`);
    const foreign = await server.gql(RETRY, { org: stranger.orgId, id: delivery.id }, stranger.adminToken);
    expect(foreign.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });
});
