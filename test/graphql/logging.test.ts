import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  [server, receiver] = await Promise.all([startTestServer({}, { captureLogs: true }), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), receiver?.close()]);
});

describe('logs', () => {
  it('write one JSON line per operation with name, duration and outcome, and never a secret', async () => {
    const password = 'hunter2-do-not-log';
    const header = 'Bearer super-secret-receiver-token';
    await server.gql(`mutation Register($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`, {
      org: server.orgId,
      input: { url: receiver.url, authorization: { basic: { username: 'bot', password } } },
    });
    await server.gql(`mutation Update($org: ID!, $h: String!) { updateWebhook(organizationId: $org, input: { authorization: { header: $h } }) { id } }`, { org: server.orgId, h: header });
    const secret = (await server.gql(`query Secret($org: ID!) { webhookSigningSecret(organizationId: $org) }`, { org: server.orgId })).data!.webhookSigningSecret;
    const created = await server.gql(`mutation Token($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST }) { token } }`, { org: server.orgId });
    const token = created.data!.createApiToken.token;
    await server.gql(`query Broken { viewer { role } }`, {}, 'ah_wrong');
    // Both webhook events delivered, in one request or two (they share a batch when the second is recorded before the first is claimed).
    await waitFor(() => receiver.eventIds().length >= 2);

    const entries = server.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const operations = entries.filter((e) => e.msg === 'graphql operation');
    expect(operations.map((e) => e.operationName)).toEqual(expect.arrayContaining(['Register', 'Update', 'Secret', 'Token', 'Broken']));
    const broken = operations.find((e) => e.operationName === 'Broken')!;
    expect(broken).toMatchObject({ outcome: 'error', errorCodes: ['UNAUTHENTICATED'] });
    expect(typeof broken.durationMs).toBe('number');
    expect(operations.find((e) => e.operationName === 'Register')).toMatchObject({ outcome: 'ok', operationType: 'mutation' });
    const all = server.logs.join('\n');
    for (const value of [password, header, 'super-secret-receiver-token', secret, secret.slice(6), token, server.adminToken]) {
      expect(all).not.toContain(value);
    }
  });

  it('masks an unexpected error as INTERNAL_SERVER_ERROR and logs it in full', async () => {
    // A sealed secret that no longer decrypts (e.g. the database restored under another key).
    await server.app.orm.em.fork().getConnection().execute(`update webhooks set signing_secret_sealed = 'v1.AAAA.AAAA.AAAA' where active_organization = ?`, [server.orgId]);
    const result = await server.gql(`query Broken2($org: ID!) { webhookSigningSecret(organizationId: $org) }`, { org: server.orgId });
    expect(result.errors).toEqual([{ message: 'Internal server error', path: ['webhookSigningSecret'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    const logged = server.logs.map((line) => JSON.parse(line) as { level: number; msg: string; err?: { message?: string } }).find((e) => e.msg === 'unexpected error in GraphQL operation');
    expect(logged?.level).toBe(50);
    expect(logged?.err?.message).toBeTruthy();
  });
});
