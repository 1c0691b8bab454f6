import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlOf } from '../../src/db/kysely.js';
import { HELD_RECHECK_MS } from '../../src/modules/deliveries/delivery-pipeline.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';

const WEBHOOK_FIELDS = `id status disabledAt disabledReason failingSince lastFailureAt lastSuccessAt`;
const REGISTER = `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`;
const UPDATE = `mutation($org: ID!, $input: UpdateWebhookInput!) { updateWebhook(organizationId: $org, input: $input) { ${WEBHOOK_FIELDS} } }`;
const GET = `query($org: ID!) { webhook(organizationId: $org) { ${WEBHOOK_FIELDS} } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const AUDIT = `query($org: ID!, $action: String) { auditEvents(organizationId: $org, filter: { action: $action }) { edges { node {
  id action message actor { id type name } context { id type name attributes }
} } } }`;
const DELIVERIES = `query($org: ID!) { deliveries(organizationId: $org, first: 100) { edges { node { id kind status eventCount attempts { statusCode nextAttemptAt } } } } }`;

const events = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ action: 'user_logged_in', actor: { id: `${prefix}_${i}` } }));

/** One organization with its webhook registered to `url`, on a shared server. */
async function scenario(server: TestServer, url: string) {
  const org = await server.createOrg(`org-${Math.random()}`);
  const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
  const registered = await gql(REGISTER, { url });
  expect(registered.errors).toBeUndefined();
  const webhookId = registered.data!.registerWebhook.id as string;
  const webhook = async () => (await gql(GET)).data!.webhook;
  const record = async (n: number, prefix: string): Promise<string[]> => {
    const result = await gql(RECORD_MANY, { inputs: events(n, prefix) });
    expect(result.errors).toBeUndefined();
    return result.data!.recordAuditEvents.map((e: { id: string }) => e.id);
  };
  const auditEvents = async (action: string) => (await gql(AUDIT, { action })).data!.auditEvents.edges.map((e: { node: any }) => e.node);
  const deliveries = async () => (await gql(DELIVERIES)).data!.deliveries.edges.map((e: { node: any }) => e.node);
  const waiting = async () =>
    (await sqlOf(server.app.orm.em.fork()).selectFrom('pending_events').select('event_id').where('webhook_id', '=', webhookId).execute()).map((r) => r.event_id);
  return { org, gql, webhookId, webhook, record, auditEvents, deliveries, waiting };
}

/** One sample of a metric from /metrics (0 when absent). */
async function metric(server: TestServer, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(new URL('/metrics', server.url))).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const SECOND_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('failing webhooks are disabled, and nothing is lost meanwhile', () => {
  let server: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    [server, receiver] = await Promise.all([
      // Attempts about 1 s apart, disabled after 2 s of failures; a long buffer so nothing is dropped; small batches.
      startTestServer({ AUDITHOOK_RETRY_DELAYS: '1s,1s,1s', AUDITHOOK_DISABLE_AFTER: '2s', AUDITHOOK_DISABLED_BUFFER: '1h', AUDITHOOK_MAX_BATCH_SIZE: '3' }),
      startReceiver(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), receiver?.close()]);
  });

  it('a receiver failing for AUDITHOOK_DISABLE_AFTER gets DISABLED (FAILING_SINCE_...), events wait, and updateWebhook({}) sends them all', async () => {
    let healthy = false;
    receiver.respond((r) => (r.path.startsWith('/failing') && !healthy ? { status: 500, body: 'down' } : { status: 200 }));
    const s = await scenario(server, receiver.url.replace('/hooks/audit', '/failing'));

    // The registration's own event is the first delivery; every attempt fails until the run lasts 2 s.
    const disabled = await waitFor(async () => {
      const webhook = await s.webhook();
      return webhook.status === 'DISABLED' ? webhook : null;
    }, 20_000);
    expect(disabled.disabledReason).toMatch(/^FAILING_SINCE_/);
    const since = disabled.disabledReason.slice('FAILING_SINCE_'.length);
    expect(since).toMatch(SECOND_ISO);
    expect(since).toBe(new Date(disabled.failingSince).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    expect(Date.parse(disabled.disabledAt) - Date.parse(disabled.failingSince)).toBeGreaterThanOrEqual(2_000);
    expect(disabled.lastSuccessAt).toBeNull();

    const [auditDisabled] = await s.auditEvents('audit_log_webhook_disabled');
    expect(auditDisabled.actor).toEqual({ id: 'audithook', type: 'system', name: 'audithook' });
    expect(auditDisabled.context[0]).toMatchObject({ id: s.webhookId, type: 'webhook', attributes: { reason: disabled.disabledReason, statusCode: 500, error: 'HTTP_500' } });
    expect(auditDisabled.message).toMatch(/disabled: every attempt has failed for \d+ seconds/);
    expect(await metric(server, 'audithook_webhooks', '{status="DISABLED"}')).toBeGreaterThanOrEqual(1);
    expect(await metric(server, 'audithook_webhooks_disabled_total', '{reason="FAILING"}')).toBeGreaterThanOrEqual(1);

    // While DISABLED: new events wait in the outbox and nothing takes them into a delivery.
    const requestsBefore = receiver.requests.length;
    const held = await s.record(7, 'held');
    expect(await server.app.services.deliveryPipeline.takeBatch(s.webhookId)).toBeNull();
    const waiting = await s.waiting();
    expect(waiting).toEqual(expect.arrayContaining([...held, auditDisabled.id]));
    expect(receiver.requests.length).toBe(requestsBefore);
    const unfinishedBefore = (await s.deliveries()).filter((d: { status: string }) => d.status === 'RETRYING' || d.status === 'PENDING');

    // Any update, even {}, turns it back on: the waiting events go out in batches, held deliveries resume.
    healthy = true;
    const updated = await s.gql(UPDATE, { input: {} });
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateWebhook).toMatchObject({ status: 'ACTIVE', disabledAt: null, disabledReason: null, failingSince: null });
    const received = await waitFor(() => {
      const ids = receiver.eventIds();
      return [...held, auditDisabled.id].every((id) => ids.includes(id)) ? ids : null;
    });
    for (const id of held) expect(received.filter((x) => x === id)).toHaveLength(1);
    const batches = (await s.deliveries()).filter((d: { kind: string; eventCount: number }) => d.kind === 'EVENTS');
    expect(batches.every((d: { eventCount: number }) => d.eventCount <= 3)).toBe(true);
    expect(batches.length).toBeGreaterThanOrEqual(3); // 7 held + the disabled event + re-enable events, 3 at most per batch
    await waitFor(async () => {
      const now = await s.deliveries();
      return unfinishedBefore.every((d: { id: string }) => now.find((n: { id: string; status: string }) => n.id === d.id)?.status === 'SUCCEEDED');
    });
    expect(await s.waiting()).toEqual([]);

    const [reenabled] = await s.auditEvents('audit_log_webhook_reenabled');
    expect(reenabled.context[0].attributes).toMatchObject({ disabledReason: disabled.disabledReason, droppedEvents: 0 });
    expect(reenabled.message).toContain('no waiting event was dropped');
    await waitFor(async () => (await s.webhook()).lastSuccessAt !== null);
  });

  it('a 410 Gone disables at once (HTTP_410); the delivery is held, not failed out, and resumes on re-enable', async () => {
    let gone = true;
    receiver.respond((r) => (r.path.startsWith('/gone') && gone ? { status: 410, body: 'gone' } : { status: 200 }));
    const s = await scenario(server, receiver.url.replace('/hooks/audit', '/gone'));
    const disabled = await waitFor(async () => {
      const webhook = await s.webhook();
      return webhook.status === 'DISABLED' ? webhook : null;
    });
    expect(disabled.disabledReason).toBe('HTTP_410');
    expect(disabled.failingSince).not.toBeNull();
    const [first] = await s.deliveries();
    expect(first.attempts).toHaveLength(1); // disabled on its first failure, long before AUDITHOOK_DISABLE_AFTER
    expect(first.status).toBe('RETRYING');
    const [auditDisabled] = await s.auditEvents('audit_log_webhook_disabled');
    expect(auditDisabled.context[0].attributes).toMatchObject({ reason: 'HTTP_410', statusCode: 410 });
    expect(auditDisabled.message).toContain('410 Gone');
    expect(await metric(server, 'audithook_webhooks_disabled_total', '{reason="HTTP_410"}')).toBeGreaterThanOrEqual(1);

    // Its retry comes due (1 s) while DISABLED: the attempt sends nothing, counts nothing, and looks again later.
    const requestsToGone = () => receiver.requests.filter((r) => r.path.startsWith('/gone')).length;
    const retryAt = Date.parse(first.attempts[0].nextAttemptAt);
    await waitFor(() => Date.now() > retryAt + 200);
    let sent = 0;
    const held = await server.app.services.deliveryPipeline.attempt(first.id, async () => {
      sent += 1;
      throw new Error('must not send');
    });
    expect(sent).toBe(0);
    expect(held.ok).toBe(false);
    expect(!held.ok && held.retryAt!.getTime()).toBeGreaterThan(Date.now() + HELD_RECHECK_MS - 5_000);
    expect(requestsToGone()).toBe(1);
    expect((await s.deliveries()).find((d: { id: string }) => d.id === first.id)).toMatchObject({ status: 'RETRYING', attempts: [{ statusCode: 410 }] });

    // A test registration is still sent while DISABLED (it is asked for); its success ends the failing run.
    gone = false;
    expect((await s.gql(`mutation($org: ID!) { testWebhook(organizationId: $org) { id } }`)).errors).toBeUndefined();
    await waitFor(() => receiver.requests.some((r) => r.path.startsWith('/gone') && r.json?.test === true));
    const afterTest = await waitFor(async () => {
      const webhook = await s.webhook();
      return webhook.lastSuccessAt ? webhook : null;
    });
    expect(afterTest).toMatchObject({ status: 'DISABLED', disabledReason: 'HTTP_410', failingSince: null });
    expect((await s.deliveries()).find((d: { id: string }) => d.id === first.id).status).toBe('RETRYING');

    const updated = await s.gql(UPDATE, { input: { url: receiver.url.replace('/hooks/audit', '/gone-moved') } });
    expect(updated.data!.updateWebhook.status).toBe('ACTIVE');
    await waitFor(async () => (await s.deliveries()).find((d: { id: string }) => d.id === first.id)?.status === 'SUCCEEDED');
    const [updatedEvent] = await s.auditEvents('audit_log_webhook_updated');
    expect(updatedEvent.context[0].attributes.changed).toEqual(['url', 'status']);
  });

  it('a success ends the failing run: failingSince is cleared and the webhook stays ACTIVE', async () => {
    let calls = 0;
    receiver.respond((r) => (r.path.startsWith('/flaky') && ++calls === 1 ? { status: 503, body: 'busy' } : { status: 200 }));
    const s = await scenario(server, receiver.url.replace('/hooks/audit', '/flaky'));
    const failing = await waitFor(async () => {
      const webhook = await s.webhook();
      return webhook.failingSince ? webhook : null;
    });
    expect(failing.status).toBe('ACTIVE');
    const recovered = await waitFor(async () => {
      const webhook = await s.webhook();
      return webhook.lastSuccessAt ? webhook : null;
    });
    expect(recovered).toMatchObject({ status: 'ACTIVE', failingSince: null, disabledReason: null });
  });
});

describe('the disabled buffer', () => {
  let server: TestServer;
  let receiver: Receiver;
  beforeAll(async () => {
    [server, receiver] = await Promise.all([startTestServer({ AUDITHOOK_RETRY_DELAYS: '1s,1s,1s', AUDITHOOK_DISABLE_AFTER: '1h', AUDITHOOK_DISABLED_BUFFER: '2s' }), startReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), receiver?.close()]);
  });

  it('drops events older than AUDITHOOK_DISABLED_BUFFER, counts them in the metric and the re-enable event, and delivers the rest', async () => {
    let gone = true;
    receiver.respond(() => (gone ? { status: 410 } : { status: 200 }));
    const s = await scenario(server, receiver.url);
    await waitFor(async () => (await s.webhook()).status === 'DISABLED');
    const droppedBefore = await metric(server, 'audithook_disabled_buffer_dropped_events_total');

    const old = await s.record(2, 'old');
    const expiring = await s.waiting(); // the old events and the audit_log_webhook_disabled event
    expect(expiring).toEqual(expect.arrayContaining(old));
    // The sweep drops them once they have waited 2 s, and counts them.
    await waitFor(async () => (await metric(server, 'audithook_disabled_buffer_dropped_events_total')) - droppedBefore >= expiring.length, 20_000);
    expect(await s.waiting()).toEqual([]);
    const stored = await sqlOf(server.app.orm.em.fork()).selectFrom('webhooks').select('dropped_buffered_events').where('id', '=', s.webhookId).executeTakeFirstOrThrow();
    expect(Number(stored.dropped_buffered_events)).toBe(expiring.length);

    const fresh = await s.record(2, 'fresh');
    gone = false;
    const updated = await s.gql(UPDATE, { input: {} });
    expect(updated.data!.updateWebhook.status).toBe('ACTIVE');
    await waitFor(() => fresh.every((id) => receiver.eventIds().includes(id)));
    for (const id of old) expect(receiver.eventIds()).not.toContain(id);
    // The events still recorded in the audit log: dropped from delivery only.
    expect((await s.auditEvents('user_logged_in')).map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining(old));

    const [reenabled] = await s.auditEvents('audit_log_webhook_reenabled');
    expect(reenabled.context[0].attributes).toMatchObject({ disabledReason: 'HTTP_410', droppedEvents: expiring.length });
    expect(reenabled.message).toContain(`${expiring.length} events older than the disabled buffer were dropped`);
    expect(await metric(server, 'audithook_disabled_buffer_dropped_events_total')).toBe(droppedBefore + expiring.length);
    const reset = await sqlOf(server.app.orm.em.fork()).selectFrom('webhooks').select('dropped_buffered_events').where('id', '=', s.webhookId).executeTakeFirstOrThrow();
    expect(Number(reset.dropped_buffered_events)).toBe(0);
  });

  it('re-enabling drops what is already past the buffer in the same transaction, so the count is right whoever drops first', async () => {
    let gone = true;
    receiver.respond(() => (gone ? { status: 410 } : { status: 200 }));
    const s = await scenario(server, receiver.url);
    await waitFor(async () => (await s.webhook()).status === 'DISABLED');
    const droppedBefore = await metric(server, 'audithook_disabled_buffer_dropped_events_total');
    const old = await s.record(3, 'aged');
    const fresh = await s.record(1, 'recent');
    // Age the first ones past the buffer (as if recorded an hour ago); re-enable right away.
    await sqlOf(server.app.orm.em.fork()).updateTable('pending_events').set({ enqueued_at: new Date(Date.now() - 3_600_000) }).where('event_id', 'in', old).execute();
    gone = false;
    expect((await s.gql(UPDATE, { input: {} })).data!.updateWebhook.status).toBe('ACTIVE');
    const [reenabled] = await s.auditEvents('audit_log_webhook_reenabled');
    expect(reenabled.context[0].attributes.droppedEvents).toBeGreaterThanOrEqual(old.length);
    await waitFor(() => fresh.every((id) => receiver.eventIds().includes(id)));
    for (const id of old) expect(receiver.eventIds()).not.toContain(id);
    expect(await metric(server, 'audithook_disabled_buffer_dropped_events_total')).toBe(droppedBefore + reenabled.context[0].attributes.droppedEvents);
  });
});

describe('failures that say nothing about the receiver', () => {
  it('attempts that sent nothing (SECRET_UNREADABLE) neither start nor extend a failing run', async () => {
    const receiver = await startReceiver();
    const dir = tempDir('audithook-disable-key-');
    try {
      // Registered under one key, then served with another: the stored secrets cannot be read.
      const first = await startTestServer({ AUDITHOOK_SECRET_KEY: Buffer.alloc(32, 0xa1).toString('base64') }, { dir });
      const admin = { orgId: first.orgId, token: first.adminToken };
      expect((await first.gql(REGISTER, { org: admin.orgId, url: receiver.url })).errors).toBeUndefined();
      await waitFor(() => receiver.requests.length > 0);
      await first.stop();
      const wrongKey = await startTestServer(
        { AUDITHOOK_SECRET_KEY: Buffer.alloc(32, 0xb2).toString('base64'), AUDITHOOK_RETRY_DELAYS: '500ms,500ms,500ms', AUDITHOOK_DISABLE_AFTER: '1s' },
        { dir },
      );
      try {
        const gql = (q: string, v: Record<string, unknown> = {}) => wrongKey.gql(q, { org: admin.orgId, ...v }, admin.token);
        expect((await gql(RECORD_MANY, { inputs: events(1, 'unreadable') })).errors).toBeUndefined();
        const failed = await waitFor(async () => {
          const all = (await gql(DELIVERIES)).data!.deliveries.edges.map((e: { node: any }) => e.node);
          return all.find((d: { status: string }) => d.status === 'FAILED');
        });
        expect(failed.attempts).toHaveLength(4); // at least 1.2 s of failures (500 ms −20% × 3), longer than AUDITHOOK_DISABLE_AFTER
        const webhook = (await gql(GET)).data!.webhook;
        expect(webhook).toMatchObject({ status: 'ACTIVE', failingSince: null, disabledReason: null });
        expect(webhook.lastFailureAt).not.toBeNull();
      } finally {
        await wrongKey.stop();
      }
    } finally {
      await receiver.close();
    }
  });
});
