import { rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_LIFETIME_MS } from '../src/jobs/delivery-runtime.js';
import { attemptsLoggedBy, liveAttempts, OPS, queryDatabase, wsClientOf } from './support/cluster.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { createOrgWithCli, postGraphql, startServerProcess, type ServerProcess } from './support/server-process.js';
import { collect, TEST_ENV, waitFor } from './support/server.js';
import { tempDir } from './support/temp-dir.js';
import { createPostgresDatabase } from './support/test-database.js';

/**
 * Cross-process behaviour on PostgreSQL, over real processes: api processes take events in, worker
 * processes deliver, and what one process does is seen by the others (LISTEN/NOTIFY, shared leases
 * and job locks). The SQLite side of roles is in roles.test.ts.
 */

let dir = '';
const receivers: Receiver[] = [];
const servers: ServerProcess[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop(5_000)));
  for (const receiver of receivers.splice(0)) await receiver.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

async function setUp(extra: Record<string, string> = {}) {
  dir = tempDir('audithook-scale-out-');
  const receiver = await startReceiver();
  receivers.push(receiver);
  const databaseUrl = await createPostgresDatabase();
  const env = { ...TEST_ENV, LOG_LEVEL: 'debug', DATABASE_URL: databaseUrl, ...extra };
  const { orgId, adminToken } = await createOrgWithCli(env, 'Scale');
  return { env, databaseUrl, receiver, orgId, adminToken };
}

async function start(env: Record<string, string>, role: 'api' | 'worker'): Promise<ServerProcess> {
  const server = await startServerProcess({ ...env, AUDITHOOK_ROLE: role });
  servers.push(server);
  return server;
}

const DUPLICATE_ATTEMPT_NUMBERS = 'select delivery_id, attempt_number from delivery_attempts group by delivery_id, attempt_number having count(*) > 1';

describe('scale-out on PostgreSQL', () => {
  it('an event recorded through an api process reaches the receiver at once (a notification, not the 5 s sweep), from a worker', async () => {
    const { env, receiver, orgId, adminToken } = await setUp();
    const api = await start(env, 'api');
    const worker = await start(env, 'worker');
    expect((await postGraphql(api.url, adminToken, OPS.register, { org: orgId, url: receiver.url })).errors).toBeUndefined();
    await waitFor(() => receiver.requests.length >= 1); // webhook_registered, itself delivered
    const latenciesMs: number[] = [];
    for (let n = 0; n < 5; n++) {
      const before = Date.now();
      const recorded = await postGraphql(api.url, adminToken, OPS.record, { org: orgId, input: { action: 'latency_probe', actor: { id: `u${n}` } } });
      const id = recorded.data.recordAuditEvent.id as string;
      await waitFor(() => receiver.eventIds().includes(id), 10_000, 5);
      latenciesMs.push(Date.now() - before);
    }
    // The outbox sweep runs every 5 s: every one of these well under it means the workers were told.
    expect(Math.max(...latenciesMs)).toBeLessThan(1_500);
    await waitFor(() => attemptsLoggedBy(worker).size >= 6);
    expect(attemptsLoggedBy(api).size).toBe(0);
    console.log(`api → worker latency (ms): ${latenciesMs.join(', ')}`);
  }, 60_000);

  it("a deliveryAttempts subscriber on either api process sees every worker's attempts, a large one read back by id", async () => {
    const { env, databaseUrl, receiver, orgId, adminToken } = await setUp();
    const [apiA, apiB] = [await start(env, 'api'), await start(env, 'api')];
    const workers = [await start(env, 'worker'), await start(env, 'worker')];
    expect((await postGraphql(apiA.url, adminToken, OPS.register, { org: orgId, url: receiver.url })).errors).toBeUndefined();
    const onB = await liveAttempts(apiB, apiA.url, adminToken, orgId);
    const onA = await liveAttempts(apiA, apiB.url, adminToken, orgId);
    // A response body of control characters: 4 KiB stored, six times that as JSON, far over NOTIFY's 8,000 bytes.
    const hugeBody = '\u0001'.repeat(4_096);
    receiver.respond((request) => (request.json?.data?.some((e: { attributes?: { action?: string } }) => e.attributes?.action === 'big_answer') ? { status: 200, body: hugeBody } : { status: 200 }));
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) {
      const action = n === 10 ? 'big_answer' : 'feed_probe';
      const via = n % 2 === 0 ? apiA : apiB;
      ids.push((await postGraphql(via.url, adminToken, OPS.record, { org: orgId, input: { action, actor: { id: `u${n}` } } })).data.recordAuditEvent.id);
    }
    await waitFor(() => ids.every((id) => receiver.eventIds().includes(id)), 20_000);
    // The attempts of the probe events (warm-up attempts made before both subscribers listened are left out).
    const probeAttempts = `select distinct a.id from delivery_attempts a join delivery_events de on de.delivery_id = a.delivery_id
      join audit_events e on e.id = de.event_id where e.action in ('feed_probe', 'big_answer')`;
    const stored = await waitFor(async () => {
      const rows = await queryDatabase(databaseUrl, probeAttempts);
      const seenA = new Set(onA.seen.map((a) => a.id));
      const seenB = new Set(onB.seen.map((a) => a.id));
      return rows.length > 0 && rows.every((r) => seenA.has(String(r.id)) && seenB.has(String(r.id))) && rows;
    }, 20_000);
    const bigRow = await queryDatabase(databaseUrl, `select id, response_body from delivery_attempts where length(response_body) > 1000`);
    expect(bigRow).toHaveLength(1);
    const big = String(bigRow[0]!.id);
    expect(onB.seen.some((a) => a.id === big)).toBe(true);
    // Every stored attempt came from a worker, and each api process saw each of them exactly once.
    const byWorker = new Map([...attemptsLoggedBy(workers[0]!), ...attemptsLoggedBy(workers[1]!)]);
    expect(stored.every((r) => byWorker.has(String(r.id)))).toBe(true);
    expect(new Set(onA.seen.map((a) => a.id)).size).toBe(onA.seen.length);
    expect(new Set(onB.seen.map((a) => a.id)).size).toBe(onB.seen.length);
    await onA.client.dispose();
    await onB.client.dispose();
  }, 90_000);

  it('a token revoked through one api process closes its sockets on another within one second', async () => {
    const { env, orgId, adminToken } = await setUp();
    const [apiA, apiB] = [await start(env, 'api'), await start(env, 'api')];
    const created = await postGraphql(apiA.url, adminToken, OPS.createToken, { org: orgId });
    const { token, apiToken } = created.data.createApiToken as { token: string; apiToken: { id: string } };
    let closedAt = 0;
    let closeCode: unknown = null;
    const client = wsClientOf(apiB, token, (event) => {
      closedAt = Date.now();
      closeCode = (event as { code?: number }).code;
    });
    const subscription = collect(client, OPS.attempts, { org: orgId }, 1, 30_000);
    subscription.done.catch(() => undefined);
    // The socket is open once the subscription is admitted: a query over the same socket proves it.
    await waitFor(async () => {
      const answer = await new Promise<unknown>((resolve) => {
        const stop = client.subscribe({ query: '{ viewer { role } }' }, { next: (v) => resolve(v), error: () => resolve(null), complete: () => undefined });
        void stop;
      });
      return answer !== null;
    });
    const revokedAt = Date.now();
    expect((await postGraphql(apiA.url, adminToken, OPS.revoke, { org: orgId, id: apiToken.id })).data.revokeApiToken).toBe(true);
    await waitFor(() => closedAt > 0, 5_000, 10);
    expect(closeCode).toBe(4403);
    expect(closedAt - revokedAt).toBeLessThan(1_000);
    await client.dispose();
    console.log(`revocation on another process closed the socket after ${closedAt - revokedAt} ms`);
  }, 60_000);

  it('a worker SIGKILLed mid-request: another takes its deliveries over within 30 s, none lost, no attempt number twice', async () => {
    const { env, databaseUrl, receiver, orgId, adminToken } = await setUp({ AUDITHOOK_MAX_BATCH_SIZE: '5' });
    const api = await start(env, 'api');
    const doomed = await start(env, 'worker');
    expect((await postGraphql(api.url, adminToken, OPS.register, { org: orgId, url: receiver.url })).errors).toBeUndefined();
    await waitFor(() => receiver.requests.length >= 1);
    // From now on the receiver holds every request: the doomed worker's requests stay in flight.
    const held: ServerResponse[] = [];
    let holding = true;
    receiver.respond((_request, _index, response) => {
      if (!holding) return { status: 200 };
      held.push(response);
    });
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) {
      const inputs = Array.from({ length: 5 }, (_, i) => ({ action: 'kill_probe', actor: { id: `u${n}-${i}` } }));
      ids.push(...(await postGraphql(api.url, adminToken, OPS.recordMany, { org: orgId, inputs })).data.recordAuditEvents.map((e: { id: string }) => e.id));
    }
    await waitFor(() => held.length >= 4); // the webhook's 4 slots, all the doomed worker's
    const survivor = await start(env, 'worker');
    holding = false;
    doomed.child.kill('SIGKILL');
    const killedAt = Date.now();
    // Everything the doomed worker had in flight (sent, never recorded) is sent again by the survivor and succeeds.
    await waitFor(async () => (await queryDatabase(databaseUrl, `select count(*) as n from deliveries where status <> 'SUCCEEDED'`))[0]!.n === 0, 30_000, 100);
    const takenOverMs = Date.now() - killedAt;
    expect(takenOverMs).toBeLessThan(30_000);
    const answered = receiver.requests.slice(held.length + 1).flatMap((r) => (Array.isArray(r.json?.data) ? r.json.data.map((e: { id: string }) => e.id) : []));
    expect(ids.filter((id) => !answered.includes(id))).toEqual([]);
    expect(await queryDatabase(databaseUrl, DUPLICATE_ATTEMPT_NUMBERS)).toEqual([]);
    expect(attemptsLoggedBy(survivor).size).toBeGreaterThan(0);
    for (const response of held) response.destroy();
    console.log(`SIGKILLed worker: its ${held.length} requests in flight were taken over and every event delivered ${takenOverMs} ms after the kill`);
  }, 90_000);

  it('a worker stopped with SIGTERM finishes its request in flight once; the other worker carries on at once, not after the lock lifetime', async () => {
    const { env, databaseUrl, receiver, orgId, adminToken } = await setUp({ AUDITHOOK_MAX_BATCH_SIZE: '1' });
    const api = await start(env, 'api');
    const leaving = await start(env, 'worker');
    expect((await postGraphql(api.url, adminToken, OPS.register, { org: orgId, url: receiver.url })).errors).toBeUndefined();
    await waitFor(() => receiver.requests.length >= 1);
    // Each request is answered after 0.3 s: the leaving worker has requests in flight when told to stop.
    receiver.respond((_request, _index, response) => void setTimeout(() => response.writeHead(200).end('ok'), 300));
    const record = async (count: number, label: string) => {
      const inputs = Array.from({ length: count }, (_, i) => ({ action: 'term_probe', actor: { id: `${label}-${i}` } }));
      return (await postGraphql(api.url, adminToken, OPS.recordMany, { org: orgId, inputs })).data.recordAuditEvents.map((e: { id: string }) => e.id) as string[];
    };
    const before = await record(8, 'before');
    const staying = await start(env, 'worker');
    await waitFor(() => receiver.requests.length >= 3); // the leaving worker has requests in flight
    const stoppedAt = Date.now();
    const exited = leaving.stop(20_000);
    const after = await record(8, 'after');
    const ids = [...before, ...after];
    // Every event received (events still in the outbox have no delivery yet), and no delivery unfinished.
    await waitFor(async () => {
      const received = new Set(receiver.eventIds());
      return ids.every((id) => received.has(id)) && (await queryDatabase(databaseUrl, `select count(*) as n from deliveries where status <> 'SUCCEEDED'`))[0]!.n === 0;
    }, 30_000, 50);
    const doneMs = Date.now() - stoppedAt;
    expect(await exited).toBe(0);
    const counts = new Map<string, number>();
    for (const id of receiver.eventIds()) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]); // each exactly once: nothing in flight was abandoned
    expect(await queryDatabase(databaseUrl, DUPLICATE_ATTEMPT_NUMBERS)).toEqual([]);
    expect(attemptsLoggedBy(staying).size).toBeGreaterThan(0);
    // 16 requests of 0.3 s, 4 at a time: ~1.2 s of work; waiting for the leaving worker's locks would take 10 s (LOCK_LIFETIME_MS).
    expect(doneMs).toBeLessThan(LOCK_LIFETIME_MS);
    console.log(`SIGTERM: leaving worker exited 0; all ${ids.length} events delivered exactly once ${doneMs} ms after the stop`);
  }, 90_000);
});
