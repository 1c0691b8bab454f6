import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlOf } from '../../src/db/kysely.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/** One family as parse-prometheus-text-format gives it (values are strings, as in prom2json). */
interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

const REGISTER = `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`;
const REMOVE = `mutation($org: ID!) { removeWebhook(organizationId: $org) }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const VIEWER = `query { viewer { role } }`;
const TOKEN = 'metrics-token-0123456789abcdef';

const events = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ action: 'user_logged_in', actor: { id: `user_${i}` }, idempotencyKey: `${prefix}-${i}` }));

async function scrape(server: TestServer, token?: string): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(new URL('/metrics', server.url), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

/** Scrapes and parses with a real Prometheus text-format parser; every non-comment line must be a well-formed sample. */
async function families(server: TestServer, token?: string): Promise<Map<string, Family>> {
  const { status, contentType, text } = await scrape(server, token);
  expect(status).toBe(200);
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? -?([0-9.e+-]+|\+Inf|NaN)$/);
  }
  const parsed = parsePrometheusTextFormat(text) as Family[];
  return new Map(parsed.map((f) => [f.name, f]));
}

function value(all: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = all.get(name);
  expect(family, `${name} is exported`).toBeDefined();
  const sample = family!.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return sample ? Number(sample.value) : 0;
}

describe('GET /metrics', () => {
  let server: TestServer;
  let ok: Receiver;
  let failing: Receiver;
  let orgB: { orgId: string; adminToken: string };

  beforeAll(async () => {
    [server, ok, failing] = await Promise.all([startTestServer(), startReceiver(), startReceiver()]);
    failing.respond(() => ({ status: 500, body: 'no' }));
    orgB = await server.createOrg('Beta');
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), ok?.close(), failing?.close()]);
  });

  it('counts events, finished deliveries, attempts (with durations) and GraphQL operations, with low-cardinality labels and process metrics', async () => {
    const operations = { mutationOk: 0, queryOk: 0, queryError: 0, mutationError: 0 };
    expect((await server.gql(REGISTER, { org: server.orgId, url: ok.url })).errors).toBeUndefined();
    expect((await server.gql(REGISTER, { org: orgB.orgId, url: failing.url }, orgB.adminToken)).errors).toBeUndefined();
    operations.mutationOk += 2;
    expect((await server.gql(RECORD_MANY, { org: server.orgId, inputs: events(3, 'a') })).errors).toBeUndefined();
    expect((await server.gql(RECORD_MANY, { org: orgB.orgId, inputs: events(2, 'b') }, orgB.adminToken)).errors).toBeUndefined();
    // An idempotent repeat records nothing new.
    expect((await server.gql(RECORD_MANY, { org: server.orgId, inputs: events(1, 'a') })).errors).toBeUndefined();
    operations.mutationOk += 3;
    expect((await server.gql(VIEWER, {})).errors).toBeUndefined();
    operations.queryOk += 1;
    expect((await server.gql(VIEWER, {}, null)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    operations.queryError += 1;
    expect((await server.gql(RECORD_MANY, { org: server.orgId, inputs: [{ action: 'Not Snake', actor: { id: 'u' } }] })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    operations.mutationError += 1;

    // Wait until every delivery is finished: org A's succeed, org B's fail after all retries (100/200/300 ms).
    const db = () => sqlOf(server.app.orm.em.fork());
    await waitFor(async () => {
      const rows = await db().selectFrom('deliveries').select(['status', 'webhook_id']).execute();
      const ids = await db().selectFrom('pending_events').select('event_id').execute();
      return ids.length === 0 && rows.length >= 2 && rows.every((r) => r.status === 'SUCCEEDED' || r.status === 'FAILED') && rows.some((r) => r.status === 'FAILED') && rows.some((r) => r.status === 'SUCCEEDED');
    }, 20_000);
    expect(ok.eventIds().length).toBeGreaterThanOrEqual(3);
    expect(failing.requests.length).toBeGreaterThanOrEqual(4);

    const all = await families(server);

    // Events recorded through the API: 3 + 2; the idempotent repeat and the rejected batch add nothing.
    expect(all.get('audithook_events_recorded_total')!.type).toBe('COUNTER');
    expect(value(all, 'audithook_events_recorded_total')).toBe(5);

    // Finished deliveries and attempts match what the database recorded, label by label.
    const deliveries = await db().selectFrom('deliveries').select(['kind', 'status']).execute();
    const byKindStatus = new Map<string, number>();
    for (const d of deliveries) byKindStatus.set(`${d.kind}/${d.status}`, (byKindStatus.get(`${d.kind}/${d.status}`) ?? 0) + 1);
    const deliveryFamily = all.get('audithook_deliveries_total')!;
    expect(deliveryFamily.type).toBe('COUNTER');
    expect(new Map(deliveryFamily.metrics.map((m) => [`${m.labels!.kind}/${m.labels!.status}`, Number(m.value)]))).toEqual(byKindStatus);
    expect(value(all, 'audithook_deliveries_total', { kind: 'EVENTS', status: 'FAILED' })).toBeGreaterThanOrEqual(1);
    expect(value(all, 'audithook_deliveries_total', { kind: 'EVENTS', status: 'SUCCEEDED' })).toBeGreaterThanOrEqual(1);

    const attempts = await db().selectFrom('delivery_attempts').select(['outcome', 'error', 'duration_ms']).execute();
    const byOutcome = new Map<string, number>();
    for (const a of attempts) byOutcome.set(`${a.outcome}/${a.error ?? 'none'}`, (byOutcome.get(`${a.outcome}/${a.error ?? 'none'}`) ?? 0) + 1);
    const attemptFamily = all.get('audithook_delivery_attempts_total')!;
    expect(new Map(attemptFamily.metrics.map((m) => [`${m.labels!.outcome}/${m.labels!.error}`, Number(m.value)]))).toEqual(byOutcome);
    expect(value(all, 'audithook_delivery_attempts_total', { outcome: 'FAILED', error: 'HTTP_500' })).toBeGreaterThanOrEqual(4);
    expect(value(all, 'audithook_delivery_attempts_total', { outcome: 'SUCCEEDED', error: 'none' })).toBeGreaterThanOrEqual(1);

    const histogram = all.get('audithook_delivery_attempt_duration_seconds')!;
    expect(histogram.type).toBe('HISTOGRAM');
    expect(Number(histogram.metrics[0]!.count)).toBe(attempts.length);
    expect(Number(histogram.metrics[0]!.buckets!['+Inf'])).toBe(attempts.length);
    expect(Number(histogram.metrics[0]!.sum)).toBeCloseTo(attempts.reduce((s, a) => s + a.duration_ms, 0) / 1000, 6);

    // Nothing waits any more; both webhooks are active.
    expect(all.get('audithook_outbox_events')!.type).toBe('GAUGE');
    expect(value(all, 'audithook_outbox_events')).toBe(0);
    expect(value(all, 'audithook_oldest_waiting_event_age_seconds')).toBe(0);
    expect(value(all, 'audithook_webhooks', { status: 'ACTIVE' })).toBe(2);
    expect(value(all, 'audithook_webhooks', { status: 'DISABLED' })).toBe(0);

    // GraphQL operations over HTTP, by type and outcome.
    expect(value(all, 'audithook_graphql_operations_total', { operation_type: 'mutation', outcome: 'ok' })).toBe(operations.mutationOk);
    expect(value(all, 'audithook_graphql_operations_total', { operation_type: 'query', outcome: 'ok' })).toBe(operations.queryOk);
    expect(value(all, 'audithook_graphql_operations_total', { operation_type: 'query', outcome: 'error' })).toBe(operations.queryError);
    expect(value(all, 'audithook_graphql_operations_total', { operation_type: 'mutation', outcome: 'error' })).toBe(operations.mutationError);

    // Node's default process metrics are there too.
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(all.has(name), name).toBe(true);
    }

    // No label value names an organization, a webhook, a delivery, or a URL.
    const webhookIds = (await db().selectFrom('webhooks').select('id').execute()).map((w) => w.id);
    const forbidden = [server.orgId, orgB.orgId, ...webhookIds, ok.url, failing.url, String(ok.port), String(failing.port), '127.0.0.1', 'http', 'org_', 'wh_', 'dlv_'];
    for (const family of all.values()) {
      for (const sample of family.metrics) {
        for (const labelValue of Object.values(sample.labels ?? {})) {
          for (const word of forbidden) expect(labelValue, `${family.name} label`).not.toContain(word);
        }
      }
    }
  });

  it('counts deliveries cancelled with their webhook once, by kind', async () => {
    const hanging = await startReceiver();
    try {
      hanging.respond(() => undefined); // never answers: the attempt stays in flight
      const org = await server.createOrg('Gamma');
      expect((await server.gql(REGISTER, { org: org.orgId, url: hanging.url }, org.adminToken)).errors).toBeUndefined();
      await waitFor(() => hanging.requests.length > 0);
      expect((await server.gql(REMOVE, { org: org.orgId }, org.adminToken)).data?.removeWebhook).toBe(true);
      const db = () => sqlOf(server.app.orm.em.fork());
      const webhookId = (await db().selectFrom('webhooks').select('id').where('organization_id', '=', org.orgId).executeTakeFirstOrThrow()).id;
      const cancelled = (await db().selectFrom('deliveries').select('id').where('webhook_id', '=', webhookId).where('status', '=', 'CANCELLED').execute()).length;
      expect(cancelled).toBeGreaterThanOrEqual(1);
      const total = (await db().selectFrom('deliveries').select('id').where('kind', '=', 'EVENTS').where('status', '=', 'CANCELLED').execute()).length;
      expect(value(await families(server), 'audithook_deliveries_total', { kind: 'EVENTS', status: 'CANCELLED' })).toBe(total);
      // The in-flight attempt times out (2 s) and is recorded, but the delivery stays CANCELLED and is not counted again.
      await waitFor(async () => (await db().selectFrom('delivery_attempts').select('id').where('webhook_id', '=', webhookId).execute()).length > 0, 15_000);
      const after = await families(server);
      expect(value(after, 'audithook_deliveries_total', { kind: 'EVENTS', status: 'CANCELLED' })).toBe(total);
      expect(value(after, 'audithook_delivery_attempts_total', { outcome: 'FAILED', error: 'TIMEOUT' })).toBeGreaterThanOrEqual(1);
      expect(value(after, 'audithook_webhooks', { status: 'ACTIVE' })).toBe(2);
    } finally {
      await hanging.close();
    }
  });

  it('answers 405 to other methods', async () => {
    const response = await fetch(new URL('/metrics', server.url), { method: 'POST' });
    expect(response.status).toBe(405);
  });
});

describe('GET /metrics with AUDITHOOK_METRICS_TOKEN, delivery off', () => {
  let server: TestServer;
  let receiver: Receiver;

  beforeAll(async () => {
    [server, receiver] = await Promise.all([startTestServer({ AUDITHOOK_METRICS_TOKEN: TOKEN }, { deliver: false }), startReceiver()]);
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), receiver?.close()]);
  });

  it('requires the token as a Bearer token', async () => {
    const without = await scrape(server);
    expect(without.status).toBe(401);
    expect(without.text).not.toContain('audithook_');
    expect((await scrape(server, 'metrics-token-0123456789abcdeX')).status).toBe(401);
    expect((await scrape(server, TOKEN.slice(0, -1))).status).toBe(401);
    const basic = await fetch(new URL('/metrics', server.url), { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
    const withToken = await scrape(server, TOKEN);
    expect(withToken.status).toBe(200);
    expect(withToken.text).toContain('audithook_events_recorded_total');
  });

  it('reads the outbox and webhook gauges from the database at scrape time', async () => {
    expect((await server.gql(REGISTER, { org: server.orgId, url: receiver.url })).errors).toBeUndefined();
    expect((await server.gql(RECORD_MANY, { org: server.orgId, inputs: events(3, 'w') })).errors).toBeUndefined();

    // A second organization's webhook, disabled; a third one's registered then removed (not counted).
    const disabled = await server.createOrg('Disabled');
    const disabledId = (await server.gql(REGISTER, { org: disabled.orgId, url: receiver.url }, disabled.adminToken)).data!.registerWebhook.id as string;
    await sqlOf(server.app.orm.em.fork()).updateTable('webhooks').set({ status: 'DISABLED' }).where('id', '=', disabledId).execute();
    const removed = await server.createOrg('Removed');
    expect((await server.gql(REGISTER, { org: removed.orgId, url: receiver.url }, removed.adminToken)).errors).toBeUndefined();
    expect((await server.gql(REMOVE, { org: removed.orgId }, removed.adminToken)).errors).toBeUndefined();

    // Delivery is off, so the recorded events (and the registration's own system event) stay in the outbox.
    const waiting = (await sqlOf(server.app.orm.em.fork()).selectFrom('pending_events').select('event_id').execute()).length;
    expect(waiting).toBeGreaterThanOrEqual(3);
    const all = await waitFor(async () => {
      const scraped = await families(server, TOKEN);
      return value(scraped, 'audithook_oldest_waiting_event_age_seconds') > 0.02 ? scraped : null;
    });
    expect(value(all, 'audithook_outbox_events')).toBe(waiting);
    expect(value(all, 'audithook_oldest_waiting_event_age_seconds')).toBeLessThan(60);
    expect(value(all, 'audithook_webhooks', { status: 'ACTIVE' })).toBe(1);
    expect(value(all, 'audithook_webhooks', { status: 'DISABLED' })).toBe(1);
    expect(value(all, 'audithook_events_recorded_total')).toBe(3);
  });
});

describe('AUDITHOOK_METRICS_TOKEN in the configuration', () => {
  it('is optional, and refused when shorter than 16 characters or holding spaces', async () => {
    const { loadConfig } = await import('../../src/config.js');
    const base = { AUDITHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'), DATABASE_URL: 'sqlite:/tmp/unused-metrics-config.db' };
    expect(loadConfig(base).metricsToken).toBeNull();
    expect(loadConfig({ ...base, AUDITHOOK_METRICS_TOKEN: TOKEN }).metricsToken).toBe(TOKEN);
    expect(() => loadConfig({ ...base, AUDITHOOK_METRICS_TOKEN: 'short' })).toThrow(/AUDITHOOK_METRICS_TOKEN: expected at least 16 characters/);
    expect(() => loadConfig({ ...base, AUDITHOOK_METRICS_TOKEN: 'has a space inside it' })).toThrow(/AUDITHOOK_METRICS_TOKEN: expected no spaces/);
  });
});
