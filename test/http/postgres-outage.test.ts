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

describe('PostgreSQL connection settings', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ AUDITHOOK_DB_STATEMENT_TIMEOUT: '300ms', AUDITHOOK_DB_POOL_SIZE: '3' }, { deliver: false });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('AUDITHOOK_DB_STATEMENT_TIMEOUT: the server cancels a longer statement (57014)', async () => {
    const connection = server.app.orm.em.fork().getConnection();
    expect(await connection.execute<{ statement_timeout: string }[]>('show statement_timeout')).toEqual([{ statement_timeout: '300ms' }]);
    await expect(connection.execute('select pg_sleep(2)')).rejects.toMatchObject({ code: '57014' });
  });

  it('AUDITHOOK_DB_POOL_SIZE: no more connections than that for queries, however many run at once', async () => {
    const database = server.config.database.kind === 'postgresql' ? server.config.database.database : '';
    const connection = server.app.orm.em.fork().getConnection();
    let most = 0;
    const sampling = (async () => {
      const client = await adminClient();
      try {
        for (let i = 0; i < 10; i++) {
          const { rows } = await client.query<{ n: string }>(`select count(*) as n from pg_stat_activity where datname = $1 and query like '%pg_sleep(0.2)%'`, [database]);
          most = Math.max(most, Number(rows[0]!.n));
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await client.end();
      }
    })();
    await Promise.all([...Array.from({ length: 9 }, () => connection.execute('select pg_sleep(0.2)')), sampling]);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(3);
  });
});
