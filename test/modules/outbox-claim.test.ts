import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skippingLockedRows, sqlOf } from '../../src/db/kysely.js';
import { TEST_DATABASE } from '../support/test-database.js';
import { startTestServer, type TestServer } from '../support/server.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;
const EVENTS = 1_200;
const CLAIMERS_PER_PROCESS = 4;

// Two apps on one database (two processes' worth of ORM connections), neither delivering, so the
// outbox fills; then both take batches concurrently, several claimers each, as workers would.
describe('outbox claim with concurrent claimers on one database', () => {
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    first = await startTestServer({ AUDITHOOK_MAX_BATCH_SIZE: '50' }, { deliver: false });
    second = await startTestServer({ AUDITHOOK_MAX_BATCH_SIZE: '50' }, { deliver: false, dir: first.dir });
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  it('puts each waiting event in exactly one delivery (SQLite: serial write transactions; PostgreSQL: FOR UPDATE SKIP LOCKED)', async () => {
    const registered = await first.gql(REGISTER, { org: first.orgId, input: { url: 'http://127.0.0.1:9/never-called' } });
    expect(registered.errors).toBeUndefined();
    const webhookId = registered.data!.registerWebhook.id as string;
    const recorded: string[] = [];
    for (let i = 0; i < EVENTS; i += 100) {
      const inputs = Array.from({ length: 100 }, (_, k) => ({ action: 'claim_probe', actor: { id: `u-${i + k}` } }));
      const call = await first.gql(RECORD_MANY, { org: first.orgId, inputs });
      expect(call.errors).toBeUndefined();
      recorded.push(...call.data!.recordAuditEvents.map((e: { id: string }) => e.id));
    }

    const taken: { id: string; eventCount: number }[] = [];
    const claimer = async (server: TestServer) => {
      for (;;) {
        const batch = await server.app.services.deliveryPipeline.takeBatch(webhookId);
        if (!batch) return;
        taken.push(batch);
      }
    };
    await Promise.all([first, second].flatMap((server) => Array.from({ length: CLAIMERS_PER_PROCESS }, () => claimer(server))));

    const links = await sqlOf(first.app.orm.em.fork())
      .selectFrom('delivery_events')
      .innerJoin('deliveries', 'deliveries.id', 'delivery_events.delivery_id')
      .select(['delivery_events.event_id', 'delivery_events.delivery_id'])
      .where('deliveries.webhook_id', '=', webhookId)
      .where('deliveries.kind', '=', 'EVENTS')
      .execute();
    const claimed = links.map((link) => link.event_id).filter((id) => recorded.includes(id));
    expect(claimed.length).toBe(EVENTS); // none twice
    expect(new Set(claimed).size).toBe(EVENTS); // none missing
    expect(taken.reduce((n, batch) => n + batch.eventCount, 0)).toBeGreaterThanOrEqual(EVENTS);
    expect(taken.every((batch) => batch.eventCount <= 50)).toBe(true);
    expect(await first.app.services.deliveryPipeline.webhooksWithPendingEvents()).not.toContain(webhookId);
  });

  it('claims with FOR UPDATE SKIP LOCKED on PostgreSQL, and as it is on SQLite (one writer at a time)', () => {
    const em = first.app.orm.em.fork();
    const query = skippingLockedRows(em)(sqlOf(em).selectFrom('pending_events').select('event_id').limit(10));
    expect(query.compile().sql.endsWith('for update skip locked')).toBe(TEST_DATABASE === 'postgres');
  });
});
