import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { testDatabaseUrl } from '../support/test-database.js';

const ATTEMPTS = `subscription($org: ID!) { deliveryAttempts(organizationId: $org) { id } }`;
const CREATE_TOKEN = `mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: ADMIN, label: "made over ws" }) { token apiToken { id } } }`;
const REVOKE = `mutation($org: ID!, $id: ID!) { revokeApiToken(organizationId: $org, id: $id) }`;

interface CloseInfo {
  code: number;
  reason: string;
}

/** Runs one operation over graphql-ws and resolves with its first result (or the error/close that ended it). */
function wsRun(client: Client, query: string, variables: Record<string, unknown>): Promise<{ data?: any; errors?: any[]; closed?: unknown }> {
  return new Promise((resolve) => {
    client.subscribe(
      { query, variables },
      {
        next: (value) => resolve(value as { data?: any; errors?: any[] }),
        error: (error) => resolve(Array.isArray(error) ? { errors: error } : { closed: error }),
        complete: () => undefined,
      },
    );
  });
}

/** A graphql-ws client whose close event is captured. */
function trackedClient(server: TestServer, token: string) {
  let resolveClosed!: (info: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((resolve) => (resolveClosed = resolve));
  const client = server.wsClient(token, {
    onClosed: (event) => resolveClosed({ code: (event as CloseInfo).code, reason: String((event as CloseInfo).reason) }),
  });
  return { client, closed };
}

/** Subscribes `count` times on `client`; resolves with the unsubscribe functions and the errors of refused ones. */
function subscribeMany(client: Client, orgId: string, count: number) {
  const errors: any[] = [];
  const unsubscribes: (() => void)[] = [];
  for (let i = 0; i < count; i += 1) {
    unsubscribes.push(
      client.subscribe(
        { query: ATTEMPTS, variables: { org: orgId } },
        { next: (value) => value.errors && errors.push(...value.errors), error: (error) => errors.push(error), complete: () => undefined },
      ),
    );
  }
  return { errors, unsubscribes };
}

async function newAdminToken(server: TestServer): Promise<{ token: string; id: string }> {
  const created = await server.gql(CREATE_TOKEN.replace('made over ws', 'short-lived'), { org: server.orgId });
  return { token: created.data!.createApiToken.token, id: created.data!.createApiToken.apiToken.id };
}

describe('revocation over WebSocket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('closes every socket of a revoked token with 4403 within a second and ends its subscriptions', async () => {
    const { token, id } = await newAdminToken(server);
    const first = trackedClient(server, token);
    const second = trackedClient(server, token);
    subscribeMany(first.client, server.orgId, 2);
    subscribeMany(second.client, server.orgId, 1);
    const feed = server.app.services.deliveries.feed;
    await waitFor(() => feed.listenerCount(server.orgId) === 3);

    const revokedAt = Date.now();
    expect((await server.gql(REVOKE, { org: server.orgId, id })).data?.revokeApiToken).toBe(true);
    const [a, b] = await Promise.all([first.closed, second.closed]);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    expect(a.code).toBe(4403);
    expect(b.code).toBe(4403);
    expect(a.reason).toMatch(/revoked/);
    await waitFor(() => feed.listenerCount(server.orgId) === 0);
    await waitFor(() => server.app.wsSessions!.size === 0);
  });
});

describe('revocation made by another server process on the same database', () => {
  let server: TestServer;
  let other: TestServer;
  beforeAll(async () => {
    // A long periodic re-check first, so the per-operation check is what refuses; the sweep is tested below.
    server = await startTestServer();
    other = await startTestServer({ DATABASE_URL: await testDatabaseUrl(server.dir) }, { deliver: false, dir: server.dir });
  });
  afterAll(async () => {
    await other?.stop();
    await server?.stop();
  });

  it('closes the socket within a second (periodic re-check), though this process never saw the revocation', async () => {
    const { token, id } = await newAdminToken(server);
    const tracked = trackedClient(server, token);
    subscribeMany(tracked.client, server.orgId, 1);
    await waitFor(() => server.app.services.deliveries.feed.listenerCount(server.orgId) === 1);
    const revokedAt = Date.now();
    expect((await other.gql(REVOKE, { org: server.orgId, id }, server.adminToken)).data?.revokeApiToken).toBe(true);
    const closed = await tracked.closed;
    expect(closed.code).toBe(4403);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
  });

  it('refuses the revoked token over HTTP on this process within a second too (its short authentication cache expires)', async () => {
    const { token, id } = await newAdminToken(server);
    expect((await server.gql(`query { viewer { tokenId } }`, {}, token)).data?.viewer.tokenId).toBe(id);
    const revokedAt = Date.now();
    expect((await other.gql(REVOKE, { org: server.orgId, id }, server.adminToken)).data?.revokeApiToken).toBe(true);
    await waitFor(async () => (await server.gql(`query { viewer { tokenId } }`, {}, token)).errors?.[0]?.extensions?.code === 'UNAUTHENTICATED', 2_000, 20);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
  });
});

describe('per-operation token check', () => {
  let server: TestServer;
  let other: TestServer;
  beforeAll(async () => {
    server = await startTestServer({}, { ws: { recheckIntervalMs: 600_000 } });
    other = await startTestServer({}, { deliver: false, dir: server.dir });
  });
  afterAll(async () => {
    await other?.stop();
    await server?.stop();
  });

  it('refuses createApiToken on an open socket whose token was revoked elsewhere, and creates nothing', async () => {
    const { token, id } = await newAdminToken(server);
    const tracked = trackedClient(server, token);
    subscribeMany(tracked.client, server.orgId, 1); // keeps the lazy client's socket open between operations
    const before = await wsRun(tracked.client, `query { viewer { tokenId } }`, {});
    expect(before.data?.viewer.tokenId).toBe(id);
    expect((await other.gql(REVOKE, { org: server.orgId, id }, server.adminToken)).data?.revokeApiToken).toBe(true);
    const tokensBefore = (await server.gql(`query($org: ID!) { apiTokens(organizationId: $org) { id } }`, { org: server.orgId })).data!.apiTokens.length;

    const result = await wsRun(tracked.client, CREATE_TOKEN, { org: server.orgId });
    expect(result.data?.createApiToken).toBeFalsy();
    const refusal = result.errors?.[0] ?? (result.closed as CloseInfo | undefined);
    expect(refusal).toBeDefined();
    expect((await tracked.closed).code).toBe(4403);
    const tokensAfter = (await server.gql(`query($org: ID!) { apiTokens(organizationId: $org) { id } }`, { org: server.orgId })).data!.apiTokens.length;
    expect(tokensAfter).toBe(tokensBefore);
  });

  it('refuses webhookSigningSecret the same way', async () => {
    const { token, id } = await newAdminToken(server);
    const tracked = trackedClient(server, token);
    subscribeMany(tracked.client, server.orgId, 1);
    await wsRun(tracked.client, `query { viewer { tokenId } }`, {});
    await other.gql(REVOKE, { org: server.orgId, id }, server.adminToken);
    const result = await wsRun(tracked.client, `query($org: ID!) { webhookSigningSecret(organizationId: $org) }`, { org: server.orgId });
    expect(result.data?.webhookSigningSecret).toBeFalsy();
    expect((await tracked.closed).code).toBe(4403);
  });
});

describe('connection lifetime and initialisation', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ AUDITHOOK_WS_MAX_LIFETIME: '1s' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('closes a connection when AUDITHOOK_WS_MAX_LIFETIME is reached', async () => {
    const tracked = trackedClient(server, server.adminToken);
    subscribeMany(tracked.client, server.orgId, 1);
    const openedAt = Date.now();
    // No wait for the subscription here: on a loaded machine it may start late, and the lifetime counts from the connection.
    const closed = await tracked.closed;
    expect(closed.code).toBe(1000);
    expect(closed.reason).toMatch(/lifetime/);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(900);
    // A graphql-ws client with a live subscription reconnects after a 1000 close (and authenticates
    // again): that is the point of the lifetime. Dispose it, and nothing may stay behind.
    await tracked.client.dispose();
    await waitFor(() => server.app.services.deliveries.feed.listenerCount(server.orgId) === 0 && server.app.wsSessions!.size === 0);
  });

  it('closes a socket that never sends connection_init after 3 s (4408)', async () => {
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const openedAt = Date.now();
    const code = await new Promise<number>((resolve) => socket.on('close', (c) => resolve(c)));
    expect(code).toBe(4408);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(2_500);
    expect(Date.now() - openedAt).toBeLessThan(6_000);
  });
});

describe('subscription caps and release', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('refuses the 21st subscription on one connection with TOO_MANY_SUBSCRIPTIONS, and frees a slot on complete', async () => {
    const feed = server.app.services.deliveries.feed;
    const client = server.wsClient(server.adminToken);
    const { errors, unsubscribes } = subscribeMany(client, server.orgId, 21);
    await waitFor(() => errors.length === 1);
    expect(errors[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(feed.listenerCount(server.orgId)).toBe(20);
    unsubscribes[0]!();
    await waitFor(() => feed.listenerCount(server.orgId) === 19);
    const again = subscribeMany(client, server.orgId, 1);
    await waitFor(() => feed.listenerCount(server.orgId) === 20);
    expect(again.errors).toEqual([]);
    await client.dispose();
    await waitFor(() => feed.listenerCount(server.orgId) === 0);
  });

  it('refuses the 101st subscription of one token across connections', async () => {
    const feed = server.app.services.deliveries.feed;
    const clients = Array.from({ length: 6 }, () => server.wsClient(server.adminToken));
    const results = clients.map((client, i) => subscribeMany(client, server.orgId, i < 5 ? 20 : 1));
    // Whichever subscription arrives 101st is refused: connections authenticate concurrently (a database
    // round trip each), so on PostgreSQL the sixth client's may well not be the last to arrive.
    const refused = () => results.flatMap((result) => result.errors);
    await waitFor(() => feed.listenerCount(server.orgId) === 100 && refused().length === 1);
    expect(refused()[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(refused()[0].message).toMatch(/per API token/);
    await Promise.all(clients.map((c) => c.dispose()));
    await waitFor(() => feed.listenerCount(server.orgId) === 0);
  });

  it('releases every listener when sockets close, cycle after cycle', async () => {
    const feed = server.app.services.deliveries.feed;
    for (let cycle = 0; cycle < 10; cycle += 1) {
      const clients = Array.from({ length: 5 }, () => server.wsClient(server.adminToken));
      clients.forEach((client) => subscribeMany(client, server.orgId, 20));
      await waitFor(() => feed.listenerCount(server.orgId) === 100);
      await Promise.all(clients.map((c) => c.dispose()));
      await waitFor(() => feed.listenerCount() === 0 && server.app.wsSessions!.size === 0);
    }
  });
});
