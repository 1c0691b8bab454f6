import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { adminClient } from '../support/test-database.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;

async function health(server: TestServer): Promise<{ status: number; body: any }> {
  const response = await fetch(new URL('/healthz', server.url));
  return { status: response.status, body: await response.json() };
}

/** Runs `sql` on the admin database (the server's own connections are what the test cuts). */
async function admin(sql: string): Promise<void> {
  const client = await adminClient();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// PostgreSQL goes away under a running server (every connection terminated, new ones refused) and comes back.
describe('a PostgreSQL outage', () => {
  let server: TestServer;
  let receiver: Receiver;
  let database: string;
  beforeAll(async () => {
    [server, receiver] = await Promise.all([startTestServer(), startReceiver()]);
    if (server.config.database.kind !== 'postgresql') throw new Error('runs in the postgres matrix only');
    database = server.config.database.database;
  });
  afterAll(async () => {
    await admin(`alter database "${database}" allow_connections true`).catch(() => undefined);
    await server?.stop();
    await receiver?.close();
  });

  it('is reported by /healthz (503, database and job backend unavailable), survived, and recovered from: delivery resumes', async () => {
    expect(await health(server)).toEqual({ status: 200, body: { status: 'ok', database: { kind: 'postgresql', status: 'ok' }, jobs: { backend: 'PostgreSQL', status: 'ok' } } });
    expect((await server.gql(REGISTER, { org: server.orgId, input: { url: receiver.url } })).errors).toBeUndefined();
    await waitFor(() => receiver.requests.length >= 1); // the registration event

    await admin(`alter database "${database}" allow_connections false`);
    await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database}' and pid <> pg_backend_pid()`);
    const down = await waitFor(async () => {
      const report = await health(server);
      return report.status === 503 && report.body.database.status === 'unavailable' && report.body.jobs.status === 'unavailable' ? report : null;
    });
    expect(down.body.status).toBe('unavailable');

    await admin(`alter database "${database}" allow_connections true`);
    await waitFor(async () => (await health(server)).status === 200, 30_000, 200);
    const recorded = await server.gql(RECORD, { org: server.orgId, input: { action: 'after_outage', actor: { id: 'u-1' } } });
    expect(recorded.errors).toBeUndefined();
    const id = recorded.data!.recordAuditEvent.id as string;
    await waitFor(() => receiver.eventIds().includes(id), 30_000);
  });
});
