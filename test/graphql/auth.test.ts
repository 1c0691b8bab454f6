import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { TEST_DATABASE } from '../support/test-database.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const VIEWER = `query { viewer { role tokenId organization { id name } } }`;

describe('authentication', () => {
  it('answers viewer for a valid ADMIN token', async () => {
    const result = await server.gql(VIEWER);
    expect(result.errors).toBeUndefined();
    expect(result.data?.viewer).toMatchObject({ role: 'ADMIN', organization: { id: server.orgId, name: 'Acme' } });
    expect(result.data?.viewer.tokenId).toMatch(/^tok_/);
  });

  it('refuses a request without a token as UNAUTHENTICATED', async () => {
    const result = await server.gql(VIEWER, {}, null);
    expect(result.data).toBeNull();
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses an unknown token and a malformed Authorization header', async () => {
    const unknown = await server.gql(VIEWER, {}, 'ah_not-a-real-token');
    expect(unknown.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Token abc' },
      body: JSON.stringify({ query: VIEWER }),
    });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0]!.message).toMatch(/Bearer/);
  });

  it('refuses a revoked token', async () => {
    const created = await server.gql(`mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST, label: "short-lived" }) { token apiToken { id } } }`, { org: server.orgId });
    const { token, apiToken } = created.data!.createApiToken;
    expect((await server.gql(VIEWER, {}, token)).data?.viewer.role).toBe('INGEST');
    const revoked = await server.gql(`mutation($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }`, { org: server.orgId, id: apiToken.id });
    expect(revoked.data?.revokeApiToken).toBe(true);
    const after = await server.gql(VIEWER, {}, token);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(after.errors?.[0]?.message).toMatch(/revoked/);
  });

  it("refuses another organization's id as FORBIDDEN", async () => {
    const other = await server.createOrg('Globex');
    const queries = [
      `query($org: ID!) { webhook(organizationId: $org) { id } }`,
      `query($org: ID!) { auditEvents(organizationId: $org) { edges { cursor } } }`,
      `query($org: ID!) { apiTokens(organizationId: $org) { id } }`,
      `query($org: ID!) { organization(id: $org) { id } }`,
      `mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: { action: "x_y", actor: { id: "u1" } }) { id } }`,
    ];
    for (const query of queries) {
      const result = await server.gql(query, { org: other.orgId });
      expect(result.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
    }
    const events = await server.gql(`query($org: ID!) { auditEvents(organizationId: $org) { edges { cursor } } }`, { org: other.orgId }, other.adminToken);
    expect(events.data?.auditEvents.edges).toEqual([]);
  });

  it('lets an INGEST token record events but not manage the webhook, tokens or read the log', async () => {
    const created = await server.gql(`mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST }) { token } }`, { org: server.orgId });
    const ingest = created.data!.createApiToken.token as string;
    const recorded = await server.gql(`mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: { action: "user_logged_in", actor: { id: "u1" } }) { id } }`, { org: server.orgId }, ingest);
    expect(recorded.data?.recordAuditEvent.id).toMatch(/^evt_/);
    const forbidden = [
      `mutation($org: ID!) { registerWebhook(organizationId: $org, input: { url: "http://127.0.0.1:9/x" }) { id } }`,
      `mutation($org: ID!) { updateWebhook(organizationId: $org, input: { url: "http://127.0.0.1:9/x" }) { id } }`,
      `mutation($org: ID!) { removeWebhook(organizationId: $org) }`,
      `mutation($org: ID!) { rotateWebhookSigningSecret(organizationId: $org) }`,
      `query($org: ID!) { webhookSigningSecret(organizationId: $org) }`,
      `query($org: ID!) { webhook(organizationId: $org) { id } }`,
      `query($org: ID!) { auditEvents(organizationId: $org) { edges { cursor } } }`,
      `mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: ADMIN }) { token } }`,
    ];
    for (const query of forbidden) {
      const result = await server.gql(query, { org: server.orgId }, ingest);
      expect(result.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect(result.errors?.[0]?.message, query).toBe('this operation needs an ADMIN token; this one is INGEST');
    }
  });
});

describe('HTTP', () => {
  it('answers /healthz with 200 naming the database and the job backend, both answering', async () => {
    const response = await fetch(server.url.replace('/graphql', '/healthz'));
    expect(response.status).toBe(200);
    const [kind, backend] = TEST_DATABASE === 'postgres' ? ['postgresql', 'PostgreSQL'] : ['sqlite', 'SQLite'];
    expect(await response.json()).toEqual({ status: 'ok', database: { kind, status: 'ok' }, jobs: { backend, status: 'ok' } });
  });

  it('refuses a malformed JSON body with 400 BAD_REQUEST', async () => {
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` }, body: '{"query": "{ viewer { role } }"' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const query = `mutation { recordAuditEvent(organizationId: "x", input: { action: "a", actor: { id: "${'x'.repeat(1024 * 1024)}" } }) { id } }`;
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    expect(response.status).toBe(413);
  });

  it('reports a bad variable with BAD_USER_INPUT and its field', async () => {
    const result = await server.gql(`mutation($org: ID!, $input: CreateApiTokenInput!) { createApiToken(organizationId: $org, input: $input) { token } }`, { org: server.orgId, input: { role: 'OWNER' } });
    expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.errors?.[0]?.extensions?.field).toBe('input.role');
  });

  it('answers unknown paths with 404', async () => {
    const response = await fetch(server.url.replace('/graphql', '/nope'));
    expect(response.status).toBe(404);
  });
});
