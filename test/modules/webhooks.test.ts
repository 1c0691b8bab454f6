import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

let server: TestServer;
let strict: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  [server, strict, receiver] = await Promise.all([
    startTestServer(),
    startTestServer({ AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'false', AUDITHOOK_ALLOW_HTTP: 'false' }),
    startReceiver(),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), strict?.stop(), receiver?.close()]);
});

const FIELDS = `id organizationId url status createdAt updatedAt lastAttemptAt lastSuccessAt lastFailureAt authorization { scheme username }`;
const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { ${FIELDS} } }`;
const UPDATE = `mutation($org: ID!, $input: UpdateWebhookInput!) { updateWebhook(organizationId: $org, input: $input) { ${FIELDS} } }`;
const GET = `query($org: ID!) { webhook(organizationId: $org) { ${FIELDS} } organization(id: $org) { id name webhook { id } } }`;
const REMOVE = `mutation($org: ID!) { removeWebhook(organizationId: $org) }`;
const SECRET = `query($org: ID!) { webhookSigningSecret(organizationId: $org) }`;
const ROTATE = `mutation($org: ID!) { rotateWebhookSigningSecret(organizationId: $org) }`;
const EVENTS = `query($org: ID!, $action: String) { auditEvents(organizationId: $org, filter: { action: $action }) { edges { node { action actor { id type } context { id type } } } } }`;

describe('webhook registration', () => {
  it('registers with Basic credentials, shows only scheme and user name, and keeps secrets encrypted at rest', async () => {
    const password = 'pa55-word-that-must-not-leak';
    const result = await server.gql(REGISTER, { org: server.orgId, input: { url: receiver.url, authorization: { basic: { username: 'audit-bot', password } } } });
    expect(result.errors).toBeUndefined();
    const webhook = result.data!.registerWebhook;
    expect(webhook).toMatchObject({ organizationId: server.orgId, url: receiver.url, status: 'ACTIVE', authorization: { scheme: 'Basic', username: 'audit-bot' } });
    expect(webhook.id).toMatch(/^wh_/);
    expect(JSON.stringify(result)).not.toContain(password);

    const read = await server.gql(GET, { org: server.orgId });
    expect(read.data!.webhook.id).toBe(webhook.id);
    expect(read.data!.organization.webhook.id).toBe(webhook.id);

    const secret = (await server.gql(SECRET, { org: server.orgId })).data!.webhookSigningSecret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);

    // The database file (and its WAL) must hold neither the password, the header, nor the signing secret.
    const files = ['audithook.db', 'audithook.db-wal'].map((f) => {
      try {
        return readFileSync(join(server.dir, f)).toString('latin1');
      } catch {
        return '';
      }
    });
    const basic = Buffer.from(`audit-bot:${password}`).toString('base64');
    for (const content of files) {
      expect(content).not.toContain(password);
      expect(content).not.toContain(basic);
      expect(content).not.toContain(secret.slice(6));
    }

    const events = await server.gql(EVENTS, { org: server.orgId, action: 'audit_log_webhook_registered' });
    expect(events.data!.auditEvents.edges[0].node).toMatchObject({ actor: { type: 'api_token' }, context: [{ id: webhook.id, type: 'webhook' }] });
  });

  it('refuses a second registration with WEBHOOK_ALREADY_REGISTERED', async () => {
    const result = await server.gql(REGISTER, { org: server.orgId, input: { url: receiver.url } });
    expect(result.errors?.[0]?.extensions?.code).toBe('WEBHOOK_ALREADY_REGISTERED');
  });

  it('updates URL and authorization, and removes authorization', async () => {
    const next = `${receiver.url}?v=2`;
    const updated = await server.gql(UPDATE, { org: server.orgId, input: { url: next, authorization: { header: 'Bearer abc.def' } } });
    expect(updated.data!.updateWebhook).toMatchObject({ url: next, authorization: { scheme: 'Bearer', username: null } });
    const header = await server.gql(UPDATE, { org: server.orgId, input: { authorization: { header: `Basic ${Buffer.from('svc:pw').toString('base64')}` } } });
    expect(header.data!.updateWebhook.authorization).toEqual({ scheme: 'Basic', username: 'svc' });
    const removed = await server.gql(UPDATE, { org: server.orgId, input: { removeAuthorization: true } });
    expect(removed.data!.updateWebhook.authorization).toBeNull();
    const events = await server.gql(EVENTS, { org: server.orgId, action: 'audit_log_webhook_updated' });
    expect(events.data!.auditEvents.edges.length).toBe(3);
  });

  it.each([
    ['CR/LF in a header value', { authorization: { header: 'Bearer abc\r\nX-Injected: 1' } }, 'input.authorization.header'],
    ['both basic and header', { authorization: { header: 'Bearer a', basic: { username: 'u', password: 'p' } } }, 'input.authorization'],
    ['neither basic nor header', { authorization: {} }, 'input.authorization'],
    ['a header over 4 KiB', { authorization: { header: `Bearer ${'a'.repeat(4100)}` } }, 'input.authorization.header'],
    ['a user name with a colon', { authorization: { basic: { username: 'a:b', password: 'p' } } }, 'input.authorization.basic.username'],
    ['a relative URL', { url: '/hooks' }, 'input.url'],
    ['a URL with credentials', { url: 'http://user:pw@127.0.0.1:9/x' }, 'input.url'],
    ['a URL that is too long', { url: `http://127.0.0.1:9/${'a'.repeat(2100)}` }, 'input.url'],
    ['an ftp URL', { url: 'ftp://127.0.0.1/x' }, 'input.url'],
  ])('refuses %s with BAD_USER_INPUT on the field and changes nothing', async (_name, input, field) => {
    // Deliveries of earlier tests' events stamp lastAttemptAt/lastSuccessAt: let them finish first.
    const deliveries = server.app.services.deliveryPipeline;
    await waitFor(async () => (await deliveries.unfinished()).length === 0 && (await deliveries.webhooksWithPendingEvents()).length === 0);
    const before = (await server.gql(GET, { org: server.orgId })).data!.webhook;
    const result = await server.gql(UPDATE, { org: server.orgId, input });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    const after = (await server.gql(GET, { org: server.orgId })).data!.webhook;
    expect(after).toEqual(before);
  });

  it('rotates the signing secret and keeps only the new one readable', async () => {
    const before = (await server.gql(SECRET, { org: server.orgId })).data!.webhookSigningSecret;
    const rotated = (await server.gql(ROTATE, { org: server.orgId })).data!.rotateWebhookSigningSecret;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(before);
    expect((await server.gql(SECRET, { org: server.orgId })).data!.webhookSigningSecret).toBe(rotated);
    const webhook = await server.app.services.webhooks.get(server.orgId);
    const settings = server.app.services.webhooks.sendSettings(webhook!);
    expect(settings.ok && settings.settings.signingSecrets).toEqual([rotated, before]);
    const later = server.app.services.webhooks.sendSettings(webhook!, new Date(Date.now() + 24 * 3600 * 1000 + 1000));
    expect(later.ok && later.settings.signingSecrets).toEqual([rotated]);
    const events = await server.gql(EVENTS, { org: server.orgId, action: 'audit_log_webhook_secret_rotated' });
    expect(events.data!.auditEvents.edges).toHaveLength(1);
  });

  it('removes the registration, then NOT_FOUND for update and a fresh registration works', async () => {
    expect((await server.gql(REMOVE, { org: server.orgId })).data!.removeWebhook).toBe(true);
    expect((await server.gql(REMOVE, { org: server.orgId })).data!.removeWebhook).toBe(false);
    expect((await server.gql(GET, { org: server.orgId })).data!.webhook).toBeNull();
    const update = await server.gql(UPDATE, { org: server.orgId, input: { url: receiver.url } });
    expect(update.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const secret = await server.gql(SECRET, { org: server.orgId });
    expect(secret.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const again = await server.gql(REGISTER, { org: server.orgId, input: { url: receiver.url } });
    expect(again.data!.registerWebhook.authorization).toBeNull();
    const events = await server.gql(EVENTS, { org: server.orgId, action: 'audit_log_webhook_removed' });
    expect(events.data!.auditEvents.edges).toHaveLength(1);
  });
});

describe('destination rules', () => {
  it.each([
    'https://10.0.0.1/hook',
    'https://127.0.0.1/hook',
    'https://localhost/hook',
    'https://169.254.169.254/latest/meta-data',
    'https://[::1]/hook',
    'https://[::ffff:192.168.1.1]/hook',
    'https://[fd00:ec2::254]/hook',
    'https://0.0.0.0/hook',
    'https://224.0.0.1/hook',
    'https://2130706433/hook',
  ])('refuses %s with DESTINATION_NOT_ALLOWED', async (url) => {
    const result = await strict.gql(REGISTER, { org: strict.orgId, input: { url } });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'DESTINATION_NOT_ALLOWED', field: 'input.url' });
  });

  it('refuses http when AUDITHOOK_ALLOW_HTTP is off', async () => {
    const result = await strict.gql(REGISTER, { org: strict.orgId, input: { url: 'http://10.1.2.3/hook' } });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.url' });
    expect((await strict.gql(GET, { org: strict.orgId })).data!.webhook).toBeNull();
  });
});

describe('API tokens', () => {
  it('creates (secret once), lists without secrets, and revokes with audit events', async () => {
    const created = await server.gql(`mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST, label: "billing service" }) { token apiToken { id role label createdAt lastUsedAt } } }`, { org: server.orgId });
    const { token, apiToken } = created.data!.createApiToken;
    expect(token).toMatch(/^ah_/);
    expect(apiToken).toMatchObject({ role: 'INGEST', label: 'billing service', lastUsedAt: null });
    await server.gql(`query { viewer { role } }`, {}, token);
    const listed = await server.gql(`query($org: ID!) { apiTokens(organizationId: $org) { id role label lastUsedAt } }`, { org: server.orgId });
    const entry = listed.data!.apiTokens.find((t: { id: string }) => t.id === apiToken.id);
    expect(entry.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(token);
    const revoked = await server.gql(`mutation($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }`, { org: server.orgId, id: apiToken.id });
    expect(revoked.data!.revokeApiToken).toBe(true);
    const again = await server.gql(`mutation($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }`, { org: server.orgId, id: apiToken.id });
    expect(again.data!.revokeApiToken).toBe(false);
    const missing = await server.gql(`mutation($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }`, { org: server.orgId, id: 'tok_nope' });
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const after = await server.gql(`query($org: ID!) { apiTokens(organizationId: $org) { id } }`, { org: server.orgId });
    expect(after.data!.apiTokens.map((t: { id: string }) => t.id)).not.toContain(apiToken.id);
    for (const action of ['api_token_created', 'api_token_revoked']) {
      const events = await server.gql(EVENTS, { org: server.orgId, action });
      expect(events.data!.auditEvents.edges.length, action).toBeGreaterThanOrEqual(1);
    }
  });

  it('refuses a label over 200 characters', async () => {
    const result = await server.gql(`mutation($org: ID!, $label: String) { createApiToken(organizationId: $org, input: { role: ADMIN, label: $label }) { token } }`, { org: server.orgId, label: 'x'.repeat(201) });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.label' });
  });
});
