import type { ServerResponse } from 'node:http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it } from 'vitest';
import { sqlOf } from '../../src/db/kysely.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/*
 * Retention over the real server: history is made by real deliveries to loopback receivers, then
 * aged by moving its timestamps back (the one thing a test cannot wait for), and the recurring prune
 * job (every 200 ms here) must remove exactly what is past its retention and finished.
 */

const REGISTER = `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const HOUR_MS = 3_600_000;

/** Short prune interval, 1 h delivery retention; retries an hour apart so a failing delivery stays unfinished. */
const RETENTION_ENV = {
  AUDITHOOK_DELIVERY_RETENTION: '1h',
  AUDITHOOK_PRUNE_INTERVAL: '200ms',
  AUDITHOOK_RETRY_DELAYS: '1h,1h,1h',
  AUDITHOOK_WEBHOOK_CONCURRENCY: '1',
  AUDITHOOK_REQUEST_TIMEOUT: '20s',
};

interface Family {
  name: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

const events = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ action: 'user_logged_in', actor: { id: `user_${i}` }, idempotencyKey: `${prefix}-${i}` }));

async function metrics(server: TestServer): Promise<(name: string, labels?: Record<string, string>) => number> {
  const response = await fetch(new URL('/metrics', server.url));
  expect(response.status).toBe(200);
  const families = new Map((parsePrometheusTextFormat(await response.text()) as Family[]).map((f) => [f.name, f]));
  return (name, labels = {}) => {
    const family = families.get(name);
    expect(family, `${name} is exported`).toBeDefined();
    const sample = family!.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    expect(sample, `${name} ${JSON.stringify(labels)}`).toBeDefined();
    return Number(sample!.value);
  };
}

const db = (server: TestServer) => sqlOf(server.app.orm.em.fork());

async function ids(server: TestServer, table: 'deliveries' | 'delivery_attempts' | 'audit_events'): Promise<Set<string>> {
  return new Set((await db(server).selectFrom(table).select('id').execute()).map((r) => r.id));
}

async function links(server: TestServer): Promise<Set<string>> {
  return new Set((await db(server).selectFrom('delivery_events').select(['delivery_id', 'event_id']).execute()).map((r) => `${r.delivery_id}/${r.event_id}`));
}

/** Waits until every delivery of an organization has the status and the outbox is empty for its webhook. */
async function settled(server: TestServer, orgId: string, status: string): Promise<void> {
  await waitFor(async () => {
    const rows = await db(server).selectFrom('deliveries').select('status').where('organization_id', '=', orgId).execute();
    const waiting = await db(server)
      .selectFrom('pending_events')
      .innerJoin('webhooks', 'webhooks.id', 'pending_events.webhook_id')
      .select('event_id')
      .where('webhooks.organization_id', '=', orgId)
      .execute();
    return rows.length > 0 && waiting.length === 0 && rows.every((r) => r.status === status);
  });
}

/** Waits for a prune run that started after now: two completions later than now. */
async function prunedAfter(server: TestServer, since: number): Promise<void> {
  const first = await waitFor(async () => {
    const at = (await metrics(server))('audithook_last_prune_timestamp_seconds');
    return at > since / 1000 ? at : null;
  });
  await waitFor(async () => (await metrics(server))('audithook_last_prune_timestamp_seconds') > first);
}

/**
 * Org A delivers to a receiver answering 200 (old and recent finished deliveries), org B to one
 * answering 500 (an unfinished RETRYING delivery, an hour before its retry). Answers what was made
 * before `recentFrom`, the point after which everything stays recent.
 */
async function makeHistory(server: TestServer, ok: Receiver, failing: Receiver): Promise<{ orgB: string; oldDeliveries: Set<string>; agedAt: number }> {
  failing.respond(() => ({ status: 500, body: 'down' }));
  const orgB = await server.createOrg('Beta');
  expect((await server.gql(REGISTER, { org: server.orgId, url: ok.url })).errors).toBeUndefined();
  expect((await server.gql(REGISTER, { org: orgB.orgId, url: failing.url }, orgB.adminToken)).errors).toBeUndefined();
  for (const batch of ['a1', 'a2', 'a3']) expect((await server.gql(RECORD_MANY, { org: server.orgId, inputs: events(3, batch) })).errors).toBeUndefined();
  expect((await server.gql(RECORD_MANY, { org: orgB.orgId, inputs: events(2, 'b') }, orgB.adminToken)).errors).toBeUndefined();
  await settled(server, server.orgId, 'SUCCEEDED');
  await settled(server, orgB.orgId, 'RETRYING');
  const oldDeliveries = new Set((await db(server).selectFrom('deliveries').select('id').where('organization_id', '=', server.orgId).execute()).map((r) => r.id));
  expect(oldDeliveries.size).toBeGreaterThan(0);

  // Everything so far is two hours old: finished deliveries by completion, events by recording.
  const old = new Date(Date.now() - 2 * HOUR_MS);
  await db(server).updateTable('deliveries').set({ created_at: old }).execute();
  await db(server).updateTable('deliveries').set({ completed_at: old }).where('completed_at', 'is not', null).execute();
  await db(server).updateTable('delivery_attempts').set({ started_at: old }).execute();
  await db(server).updateTable('audit_events').set({ received_at: old }).execute();
  const agedAt = Date.now();

  // Recent history: one more finished delivery for org A, after the ageing.
  expect((await server.gql(RECORD_MANY, { org: server.orgId, inputs: events(2, 'recent') })).errors).toBeUndefined();
  await settled(server, server.orgId, 'SUCCEEDED');
  return { orgB: orgB.orgId, oldDeliveries, agedAt };
}

describe('retention', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map((stop) => stop()));
  });

  it('prunes finished deliveries past AUDITHOOK_DELIVERY_RETENTION with their attempts and links, keeps unfinished and recent ones and every audit event, and reports it in /metrics', async () => {
    const [server, ok, failing] = await Promise.all([startTestServer(RETENTION_ENV), startReceiver(), startReceiver()]);
    cleanup.push(
      () => server.stop(),
      () => ok.close(),
      () => failing.close(),
    );
    const { orgB, oldDeliveries, agedAt } = await makeHistory(server, ok, failing);
    const before = {
      deliveries: await ids(server, 'deliveries'),
      attempts: await ids(server, 'delivery_attempts'),
      links: await links(server),
      events: await ids(server, 'audit_events'),
    };
    const oldAttempts = new Set(
      (
        await db(server)
          .selectFrom('delivery_attempts')
          .select('id')
          .where('delivery_id', 'in', [...oldDeliveries])
          .execute()
      ).map((r) => r.id),
    );
    const oldLinks = [...before.links].filter((link) => oldDeliveries.has(link.split('/')[0]!));
    expect(oldAttempts.size).toBeGreaterThanOrEqual(oldDeliveries.size);
    expect(oldLinks.length).toBeGreaterThanOrEqual(9);

    await prunedAfter(server, agedAt);

    const after = {
      deliveries: await ids(server, 'deliveries'),
      attempts: await ids(server, 'delivery_attempts'),
      links: await links(server),
      events: await ids(server, 'audit_events'),
    };
    expect(after.deliveries).toEqual(new Set([...before.deliveries].filter((id) => !oldDeliveries.has(id))));
    expect(after.attempts).toEqual(new Set([...before.attempts].filter((id) => !oldAttempts.has(id))));
    expect(after.links).toEqual(new Set([...before.links].filter((link) => !oldDeliveries.has(link.split('/')[0]!))));
    // The unfinished delivery of org B is two hours old but still RETRYING: kept, with its attempt.
    const unfinished = await db(server).selectFrom('deliveries').select(['id', 'status']).where('organization_id', '=', orgB).execute();
    expect(unfinished.length).toBeGreaterThan(0);
    expect(unfinished.every((d) => d.status === 'RETRYING')).toBe(true);
    // The recent finished delivery stays, and no audit event goes without AUDITHOOK_EVENT_RETENTION.
    expect((await db(server).selectFrom('deliveries').select('id').where('organization_id', '=', server.orgId).execute()).length).toBe(1);
    expect(after.events).toEqual(before.events);

    const value = await metrics(server);
    expect(value('audithook_pruned_rows_total', { table: 'deliveries' })).toBe(oldDeliveries.size);
    expect(value('audithook_pruned_rows_total', { table: 'delivery_attempts' })).toBe(oldAttempts.size);
    expect(value('audithook_pruned_rows_total', { table: 'delivery_events' })).toBe(oldLinks.length);
    expect(value('audithook_pruned_rows_total', { table: 'audit_events' })).toBe(0);
    expect(value('audithook_last_prune_timestamp_seconds')).toBeGreaterThan(agedAt / 1000);
    expect(value('audithook_stored_rows', { table: 'deliveries' })).toBe(after.deliveries.size);
    expect(value('audithook_stored_rows', { table: 'delivery_attempts' })).toBe(after.attempts.size);
    expect(value('audithook_stored_rows', { table: 'delivery_events' })).toBe(after.links.size);
    expect(value('audithook_stored_rows', { table: 'audit_events' })).toBe(after.events.size);
    expect(value('audithook_stored_rows', { table: 'pending_events' })).toBe(0);
  });

  it('prunes a history larger than one batch over several short transactions', async () => {
    const [server, ok] = await Promise.all([startTestServer(RETENTION_ENV), startReceiver()]);
    cleanup.push(
      () => server.stop(),
      () => ok.close(),
    );
    const registered = await server.gql<{ registerWebhook: { id: string } }>(REGISTER, { org: server.orgId, url: ok.url });
    const webhookId = registered.data!.registerWebhook.id;
    // 400 old finished deliveries seeded straight into the file, each with 2 events and 1 attempt:
    // 4 rows each, so a 500-row batch takes 125 of them and the run needs 4 batches.
    const count = 400;
    const old = new Date(Date.now() - 3 * HOUR_MS);
    const pad = (i: number) => String(i).padStart(26, '0');
    // The webhook's own system event (audit_log_webhook_registered) is delivered first: recent history that stays.
    await settled(server, server.orgId, 'SUCCEEDED');
    const before = {
      events: (await ids(server, 'audit_events')).size,
      deliveries: (await ids(server, 'deliveries')).size,
      attempts: (await ids(server, 'delivery_attempts')).size,
      links: (await links(server)).size,
    };
    await server.app.orm.em.fork().transactional(async (em) => {
      const tx = sqlOf(em);
      const events = Array.from({ length: count * 2 }, (_, i) => ({
        id: `evt_${pad(i)}`,
        organization_id: server.orgId,
        time: old,
        action: 'user_logged_in',
        actor_id: 'u',
        actor: '{"id":"u"}',
        context: '[]',
        container: '[]',
        location: null,
        message: null,
        idempotency_key: null,
        received_at: old,
      }));
      for (let i = 0; i < events.length; i += 200)
        await tx
          .insertInto('audit_events')
          .values(events.slice(i, i + 200))
          .execute();
      for (let i = 0; i < count; i += 100) {
        const slice = Array.from({ length: 100 }, (_, k) => i + k);
        await tx
          .insertInto('deliveries')
          .values(
            slice.map((d) => ({
              id: `dlv_${pad(d)}`,
              organization_id: server.orgId,
              webhook_id: webhookId,
              kind: 'EVENTS',
              status: 'SUCCEEDED',
              event_count: 2,
              attempt_count: 1,
              max_attempts: 4,
              created_at: old,
              completed_at: new Date(old.getTime() + d),
              sample_events: null,
            })),
          )
          .execute();
        await tx
          .insertInto('delivery_events')
          .values(slice.flatMap((d) => [0, 1].map((position) => ({ delivery_id: `dlv_${pad(d)}`, event_id: `evt_${pad(2 * d + position)}`, position }))))
          .execute();
        await tx
          .insertInto('delivery_attempts')
          .values(
            slice.map((d) => ({
              id: `att_${pad(d)}`,
              delivery_id: `dlv_${pad(d)}`,
              webhook_id: webhookId,
              organization_id: server.orgId,
              url: 'http://127.0.0.1:9/',
              request_headers: null,
              attempt_number: 1,
              outcome: 'SUCCEEDED',
              status_code: 200,
              error: null,
              response_body: 'ok',
              duration_ms: 3,
              started_at: old,
              will_retry: false,
              next_attempt_at: null,
            })),
          )
          .execute();
      }
    });

    await waitFor(async () => (await metrics(server))('audithook_pruned_rows_total', { table: 'deliveries' }) === count);
    const value = await metrics(server);
    expect(value('audithook_pruned_rows_total', { table: 'delivery_events' })).toBe(count * 2);
    expect(value('audithook_pruned_rows_total', { table: 'delivery_attempts' })).toBe(count);
    expect(value('audithook_stored_rows', { table: 'deliveries' })).toBe(before.deliveries);
    expect(value('audithook_stored_rows', { table: 'delivery_events' })).toBe(before.links);
    expect(value('audithook_stored_rows', { table: 'delivery_attempts' })).toBe(before.attempts);
    // Every seeded event stays (no AUDITHOOK_EVENT_RETENTION).
    expect(value('audithook_stored_rows', { table: 'audit_events' })).toBe(before.events + count * 2);
  });

  it('with AUDITHOOK_EVENT_RETENTION prunes old audit events too, but never one waiting in the outbox or carried by an unfinished delivery', async () => {
    const [server, ok, failing, holding] = await Promise.all([
      startTestServer({ ...RETENTION_ENV, AUDITHOOK_EVENT_RETENTION: '1h' }),
      startReceiver(),
      startReceiver(),
      startReceiver(),
    ]);
    const held: ServerResponse[] = [];
    const release = () => {
      for (const response of held.splice(0)) response.writeHead(200).end('ok');
    };
    cleanup.push(async () => {
      release();
      await server.stop();
      await Promise.all([ok.close(), failing.close(), holding.close()]);
    });
    // Org C's receiver holds its first request open: its delivery stays PENDING, and with one slot per
    // webhook (AUDITHOOK_WEBHOOK_CONCURRENCY=1) the next event waits in the outbox.
    holding.respond((_request, _index, response) => void held.push(response));
    const orgC = await server.createOrg('Gamma');
    expect((await server.gql(REGISTER, { org: orgC.orgId, url: holding.url }, orgC.adminToken)).errors).toBeUndefined();
    expect((await server.gql(RECORD_MANY, { org: orgC.orgId, inputs: events(1, 'c1') }, orgC.adminToken)).errors).toBeUndefined();
    await waitFor(() => held.length === 1);
    expect((await server.gql(RECORD_MANY, { org: orgC.orgId, inputs: events(1, 'c2') }, orgC.adminToken)).errors).toBeUndefined();
    const waiting = await waitFor(async () => {
      const rows = await db(server).selectFrom('pending_events').select('event_id').execute();
      return rows.length > 0 ? new Set(rows.map((r) => r.event_id)) : null;
    });

    const { agedAt } = await makeHistory(server, ok, failing);
    const carried = new Set(
      (
        await db(server)
          .selectFrom('delivery_events')
          .innerJoin('deliveries', 'deliveries.id', 'delivery_events.delivery_id')
          .select('delivery_events.event_id')
          .where('deliveries.status', 'in', ['PENDING', 'RETRYING'])
          .execute()
      ).map((r) => r.event_id),
    );
    const recent = new Set(
      (
        await db(server)
          .selectFrom('audit_events')
          .select('id')
          .where('received_at', '>', new Date(agedAt - 1))
          .execute()
      ).map((r) => r.id),
    );
    const before = await ids(server, 'audit_events');
    // Both protections are exercised: events in the outbox (org C) and on unfinished deliveries (org B's RETRYING, org C's PENDING).
    expect(waiting.size).toBeGreaterThan(0);
    expect(carried.size).toBeGreaterThanOrEqual(3);
    expect(recent.size).toBe(2);
    expect((await db(server).selectFrom('pending_events').select('event_id').execute()).map((r) => r.event_id).every((id) => waiting.has(id))).toBe(true);

    await prunedAfter(server, agedAt);

    const kept = new Set([...waiting, ...carried, ...recent]);
    expect(await ids(server, 'audit_events')).toEqual(new Set([...before].filter((id) => kept.has(id))));
    expect(before.size - kept.size).toBeGreaterThanOrEqual(9);
    const value = await metrics(server);
    expect(value('audithook_pruned_rows_total', { table: 'audit_events' })).toBe(before.size - kept.size);
    expect(value('audithook_stored_rows', { table: 'audit_events' })).toBe(kept.size);
    expect(value('audithook_stored_rows', { table: 'pending_events' })).toBe(waiting.size);

    // The held delivery and the waiting event are delivered once the receiver answers: nothing was lost.
    release();
    holding.respond(() => ({ status: 200, body: 'ok' }));
    await settled(server, orgC.orgId, 'SUCCEEDED');
    for (const id of waiting) expect(holding.eventIds()).toContain(id);
  });
});
