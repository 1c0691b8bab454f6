import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id url } }`;
const UPDATE = `mutation($org: ID!, $input: UpdateWebhookInput!) { updateWebhook(organizationId: $org, input: $input) { id url } }`;
const EVENTS = `query($org: ID!, $action: String) { auditEvents(organizationId: $org, filter: { action: $action }) { edges { node { action message context { id type name } } } } }`;
const TOKEN = 'abc-receiver-token-7Qx';
const NEW_TOKEN = 'def-receiver-token-9Zk';

let server: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  [server, receiver] = await Promise.all([startTestServer({}, { captureLogs: true }), startReceiver('/hook')]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), receiver?.close()]);
});

describe('webhook URLs in audit events and logs', () => {
  it('shows query values as *** in the self-audit events and in logs, while the admin still reads the full URL', async () => {
    // The first requests fail, so delivery logs a failed attempt for this URL.
    receiver.respond((_request, index) => ({ status: index < 1 ? 500 : 200 }));
    const url = `http://127.0.0.1:${receiver.port}/hook?token=${TOKEN}&x=1`;
    const registered = await server.gql(REGISTER, { org: server.orgId, input: { url } });
    expect(registered.errors).toBeUndefined();
    expect(registered.data!.registerWebhook.url).toBe(url); // the admin's own configuration, in full
    await waitFor(() => receiver.requests.length >= 2); // failed once, then delivered
    expect(receiver.requests[0]!.path).toBe(`/hook?token=${TOKEN}&x=1`); // and delivery uses the real URL

    const newUrl = `http://127.0.0.1:${receiver.port}/hook?token=${NEW_TOKEN}`;
    const updated = await server.gql(UPDATE, { org: server.orgId, input: { url: newUrl } });
    expect(updated.data!.updateWebhook.url).toBe(newUrl);

    const registeredEvent = (await server.gql(EVENTS, { org: server.orgId, action: 'audit_log_webhook_registered' })).data!.auditEvents.edges[0].node;
    const redacted = `http://127.0.0.1:${receiver.port}/hook?token=***&x=***`;
    expect(registeredEvent.message).toContain(`registered for ${redacted}`);
    expect(registeredEvent.context).toEqual([{ id: registered.data!.registerWebhook.id, type: 'webhook', name: redacted }]);
    const updatedEvent = (await server.gql(EVENTS, { org: server.orgId, action: 'audit_log_webhook_updated' })).data!.auditEvents.edges[0].node;
    expect(updatedEvent.context[0].name).toBe(`http://127.0.0.1:${receiver.port}/hook?token=***`);

    // What the receiver got as the audit events' payload must not carry the token either.
    await waitFor(() => receiver.requests.some((r) => r.body.includes('audit_log_webhook_updated')));
    for (const request of receiver.requests) {
      expect(request.body).not.toContain(TOKEN);
      expect(request.body).not.toContain(NEW_TOKEN);
    }

    const failed = server.logs.map((line) => JSON.parse(line)).find((l) => l.msg === 'delivery attempt failed');
    expect(failed).toMatchObject({ error: 'HTTP_500', url: redacted });
    const logs = server.logs.join('\n');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(NEW_TOKEN);
  });
});
