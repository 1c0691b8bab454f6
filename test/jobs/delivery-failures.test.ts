import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD = `mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: { action: "probe_sent", actor: { id: "u" } }) { id } }`;
const FIRST_DELIVERY = `query($org: ID!) { deliveries(organizationId: $org, first: 1) { edges { node {
  id status attemptCount nextAttemptAt
  attempts { attemptNumber outcome statusCode error responseBody durationMs startedAt willRetry nextAttemptAt }
} } } }`;

/** Each scenario gets its own organization on one server, so its deliveries are its own. */
async function scenario(server: TestServer, url: string) {
  const org = await server.createOrg(`org-${Math.random()}`);
  const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: org.orgId, ...v }, org.adminToken);
  const registered = await gql(REGISTER, { input: { url } });
  expect(registered.errors).toBeUndefined();
  const firstAttempts = async (n: number) =>
    waitFor(async () => {
      const node = (await gql(FIRST_DELIVERY)).data!.deliveries.edges[0]?.node;
      // attemptCount and the attempt rows change in one transaction, but GraphQL reads them in two
      // statements: equal, they were read on the same side of that commit.
      return node && node.attempts.length >= n && node.attemptCount === node.attempts.length ? node : null;
    });
  return { org, gql, firstAttempts };
}

let server: TestServer;
let receiver: Receiver;
let other: Receiver;
beforeAll(async () => {
  [server, receiver, other] = await Promise.all([
    startTestServer({ AUDITHOOK_REQUEST_TIMEOUT: '500ms', AUDITHOOK_RETRY_DELAYS: '5s,5s,5s' }),
    startReceiver(),
    startReceiver(),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.stop(), receiver?.close(), other?.close()]);
});

describe('failed attempts', () => {
  it('records TIMEOUT when the receiver does not answer in time', async () => {
    const hanging = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    try {
      const { firstAttempts } = await scenario(server, `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/`);
      const delivery = await firstAttempts(1);
      const [attempt] = delivery.attempts;
      expect(attempt).toMatchObject({ attemptNumber: 1, outcome: 'FAILED', statusCode: null, error: 'TIMEOUT', willRetry: true });
      expect(attempt.durationMs).toBeGreaterThanOrEqual(450);
      expect(attempt.durationMs).toBeLessThan(2000);
      expect(delivery.status).toBe('RETRYING');
    } finally {
      hanging.closeAllConnections();
      hanging.close();
    }
  });

  it('records CONNECTION_REFUSED when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { firstAttempts } = await scenario(server, `http://127.0.0.1:${port}/`);
    const delivery = await firstAttempts(1);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'FAILED', statusCode: null, error: 'CONNECTION_REFUSED', willRetry: true });
    const wait = Date.parse(delivery.attempts[0].nextAttemptAt) - Date.parse(delivery.attempts[0].startedAt);
    expect(wait).toBeGreaterThanOrEqual(4000 - 50); // 5s −20% jitter
    expect(wait).toBeLessThanOrEqual(6000 + 1000);
  });

  it('a job run before the recorded next attempt (a re-run after a crash) sends nothing and answers the recorded schedule', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { firstAttempts } = await scenario(server, `http://127.0.0.1:${port}/`);
    const delivery = await firstAttempts(1);
    let sent = 0;
    const result = await server.app.services.deliveryPipeline.attempt(delivery.id, async () => {
      sent += 1;
      throw new Error('must not send');
    });
    expect(sent).toBe(0);
    expect(result).toEqual({ ok: false, retryAt: new Date(delivery.nextAttemptAt) });
    expect((await firstAttempts(1)).attempts).toHaveLength(1);
  });

  it('does not follow a redirect: a 3xx fails the attempt and the target gets nothing', async () => {
    receiver.respond((r) => (r.path.startsWith('/redirect') ? { status: 302, headers: { location: other.url }, body: 'moved' } : { status: 200 }));
    const { firstAttempts } = await scenario(server, receiver.url.replace('/hooks/audit', '/redirect'));
    const delivery = await firstAttempts(1);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'FAILED', statusCode: 302, error: 'HTTP_302', responseBody: 'moved' });
    expect(other.requests).toHaveLength(0);
  });

  it('honours Retry-After on 503 instead of the scheduled delay', async () => {
    let calls = 0;
    receiver.respond((r) => {
      if (!r.path.startsWith('/busy')) return { status: 200 };
      calls++;
      return calls === 1 ? { status: 503, headers: { 'retry-after': '1' }, body: 'busy' } : { status: 200, body: 'fine' };
    });
    const { firstAttempts } = await scenario(server, receiver.url.replace('/hooks/audit', '/busy'));
    const delivery = await firstAttempts(2);
    const [second, first] = delivery.attempts;
    expect(first).toMatchObject({ attemptNumber: 1, statusCode: 503, error: 'HTTP_503', willRetry: true });
    const scheduledMs = Date.parse(first.nextAttemptAt) - Date.parse(first.startedAt);
    expect(scheduledMs).toBeGreaterThanOrEqual(1000);
    expect(scheduledMs).toBeLessThan(2500); // not the 5 s schedule
    expect(second).toMatchObject({ attemptNumber: 2, outcome: 'SUCCEEDED', statusCode: 200 });
    expect(Date.parse(second.startedAt) - Date.parse(first.startedAt)).toBeGreaterThanOrEqual(1000);
    expect(delivery.status).toBe('SUCCEEDED');
  });

  it('keeps only the first 4 KiB of a response body', async () => {
    receiver.respond((r) => (r.path.startsWith('/big') ? { status: 500, body: 'x'.repeat(100_000) } : { status: 200 }));
    const { firstAttempts } = await scenario(server, receiver.url.replace('/hooks/audit', '/big'));
    const delivery = await firstAttempts(1);
    expect(delivery.attempts[0].responseBody).toHaveLength(4096);
  });
});

describe('destination rules at connect time', () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startTestServer(
      { AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'false' },
      {
        // At registration the name resolves to a public address; when delivering it resolves to loopback (DNS rebinding).
        destinationPolicy: { resolveHost: async () => ['93.184.215.14'] },
        deliveryResolveHost: async () => ['127.0.0.1'],
      },
    );
  });
  afterAll(async () => {
    await strict?.stop();
  });

  it('refuses a connection whose address became private after registration, and nothing reaches the receiver', async () => {
    const url = `http://rebinding.test:${receiver.port}/rebind`;
    const { gql, firstAttempts } = await scenario(strict, url);
    await gql(RECORD);
    const delivery = await firstAttempts(1);
    expect(delivery.attempts[0]).toMatchObject({ outcome: 'FAILED', statusCode: null, error: 'DESTINATION_NOT_ALLOWED' });
    expect(receiver.requests.filter((r) => r.path.startsWith('/rebind'))).toHaveLength(0);
  });
});
