import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/**
 * How the job store is used on PostgreSQL (@agendajs/postgres-backend, see postgres-job-backend.ts):
 * job saves are announced on the jobs channel and nothing else is (no per-run state notifications),
 * a deliver job is found by its delivery through an index, and a burst of due jobs all run.
 */

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD_MANY = `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`;

let server: TestServer;
let receiver: Receiver;
let client: pg.Client;

beforeAll(async () => {
  // One event per delivery: a burst of 120 events is 120 deliver jobs.
  [server, receiver] = await Promise.all([startTestServer({ AUDITHOOK_MAX_BATCH_SIZE: '1' }), startReceiver()]);
  const database = server.config.database;
  if (database.kind !== 'postgresql') throw new Error('runs in the postgres matrix only');
  client = new pg.Client({ host: database.host, port: database.port, user: database.user, password: database.password ?? undefined, database: database.database });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await server?.stop();
  await receiver?.close();
});

describe('the PostgreSQL job store', () => {
  it('announces saved jobs on its channel and publishes no per-run state notifications', async () => {
    const heard: Record<string, number> = {};
    client.on('notification', (message) => (heard[message.channel] = (heard[message.channel] ?? 0) + 1));
    await client.query('listen "audithook_jobs"');
    await client.query('listen "audithook_jobs:state"');
    expect((await server.gql(REGISTER, { org: server.orgId, input: { url: receiver.url } })).errors).toBeUndefined();
    const inputs = Array.from({ length: 5 }, (_, i) => ({ action: 'job_store_probe', actor: { id: `u-${i}` } }));
    const recorded = await server.gql(RECORD_MANY, { org: server.orgId, inputs });
    expect(recorded.errors).toBeUndefined();
    const ids: string[] = recorded.data!.recordAuditEvents.map((e: { id: string }) => e.id);
    await waitFor(() => ids.every((id) => receiver.eventIds().includes(id)));
    // A notification heard on this connection was sent before the last request went out.
    await waitFor(() => (heard['audithook_jobs'] ?? 0) >= 5);
    expect(heard['audithook_jobs:state'] ?? 0).toBe(0);
  });

  it('finds a deliver job by its delivery through an index, as the backend queries it', async () => {
    await client.query('set enable_seqscan = off'); // the table is small: ask whether the index applies at all
    // The backend binds the JSON key as a parameter; a one-off statement is planned with its values.
    const plan = await client.query({
      text: 'explain select * from agenda_jobs where name = $1 and data->>$2 = $3 limit 1',
      values: ['deliver-webhook', 'deliveryId', 'dlv_x'],
    });
    expect(plan.rows.map((row: Record<string, string>) => Object.values(row)[0]).join('\n')).toContain('agenda_jobs_delivery_id_idx');
  });

  it('runs a burst of due jobs, locked in batches, each delivery once', async () => {
    const before = receiver.requests.length;
    const inputs = Array.from({ length: 120 }, (_, i) => ({ action: 'job_store_burst', actor: { id: `u-${i}` } }));
    const recorded = await server.gql(RECORD_MANY, { org: server.orgId, inputs });
    expect(recorded.errors).toBeUndefined();
    const ids: string[] = recorded.data!.recordAuditEvents.map((e: { id: string }) => e.id);
    await waitFor(() => ids.every((id) => receiver.eventIds().includes(id)), 30_000);
    const sent = receiver.requests.slice(before).map((request) => request.headers['webhook-id']);
    expect(new Set(sent).size).toBe(sent.length); // no delivery sent twice
    // Every job ran to completion and was removed: none is left locked in a buffer.
    await waitFor(async () => (await client.query(`select count(*)::int as n from agenda_jobs where name = 'deliver-webhook'`)).rows[0].n === 0, 10_000);
  });
});
