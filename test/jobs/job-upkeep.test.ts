import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlOf } from '../../src/db/kysely.js';
import { OVERDUE_AFTER_MS, UPKEEP_INTERVAL_MS } from '../../src/jobs/job-upkeep.js';
import { newId } from '../../src/lib/ids.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/**
 * A worker killed after committing a batch's delivery but before saving its job leaves a delivery
 * without a job. The running workers give it one again (without a restart): the delivery is sent.
 */

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  [server, receiver] = await Promise.all([startTestServer(), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), receiver?.close()]);
});

describe('job upkeep', () => {
  it('sends a delivery that was left without a job, within the upkeep interval once overdue', async () => {
    const registered = await server.gql(`mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`, { org: server.orgId, url: receiver.url });
    const webhookId = registered.data!.registerWebhook.id as string;
    const recorded = await server.gql(`mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: { action: "stranded", actor: { id: "u1" } }) { id } }`, { org: server.orgId });
    const eventId = recorded.data!.recordAuditEvent.id as string;
    await waitFor(() => receiver.eventIds().includes(eventId));

    // What a worker killed between takeBatch's commit and the job's save leaves: a due delivery, no job.
    const dueAt = new Date(Date.now() - OVERDUE_AFTER_MS - 1_000);
    const id = newId('dlv');
    const db = sqlOf(server.app.orm.em.fork());
    await db
      .insertInto('deliveries')
      .values({ id, organization_id: server.orgId, webhook_id: webhookId, kind: 'EVENTS', status: 'PENDING', event_count: 1, attempt_count: 0, max_attempts: 4, created_at: dueAt, completed_at: null, sample_events: null })
      .execute();
    await db.insertInto('delivery_events').values({ delivery_id: id, event_id: eventId, position: 0 }).execute();

    const startedAt = Date.now();
    await waitFor(() => receiver.requests.some((r) => r.headers['webhook-id'] === id), UPKEEP_INTERVAL_MS + 10_000, 50);
    expect(Date.now() - startedAt).toBeLessThan(UPKEEP_INTERVAL_MS + 5_000);
    await waitFor(async () => (await server.gql(`query($org: ID!, $id: ID!) { delivery(organizationId: $org, id: $id) { status } }`, { org: server.orgId, id })).data!.delivery.status === 'SUCCEEDED');
  });
});
