import { describe, expect, it } from 'vitest';
import { attemptsLoggedBy, liveAttempts, OPS, queryDatabase } from './support/cluster.js';
import { processFixture } from './support/process-fixture.js';
import { createOrgWithCli, postGraphql, startServerProcess, type ServerProcess } from './support/server-process.js';
import { TEST_ENV, waitFor } from './support/server.js';
import { createPostgresDatabase } from './support/test-database.js';

/**
 * The scale test of the PostgreSQL scale-out: one api and two workers on one throwaway database,
 * 5,000 events recorded over the API in singles and batches, one worker SIGKILLed mid-stream.
 * Every event must reach the receiver at least once; duplicates (at-least-once) are counted and reported.
 */

const SINGLE_EVENTS = 2_000;
const BATCHES = 60;
const BATCH_SIZE = 50;
const TOTAL_EVENTS = SINGLE_EVENTS + BATCHES * BATCH_SIZE;
/** Requests of each single-event client in flight at once. */
const CLIENT_CONCURRENCY = 8;

const fixture = processFixture();
const servers = fixture.servers;

describe('scale test', () => {
  it(`one api and two workers on PostgreSQL: ${TOTAL_EVENTS} events, one worker SIGKILLed mid-stream, every event received`, async () => {
    const { receiver } = await fixture.open('audithook-scale-');
    const databaseUrl = await createPostgresDatabase();
    const env = { ...TEST_ENV, LOG_LEVEL: 'info', DATABASE_URL: databaseUrl };
    const { orgId, adminToken } = await createOrgWithCli(env, 'Scale');
    const start = async (role: string, extra: Record<string, string> = {}) => {
      const server = await startServerProcess({ ...env, AUDITHOOK_ROLE: role, ...extra });
      servers.push(server);
      return server;
    };
    const api = await start('api');
    // debug: each worker logs every attempt it records with its identity, to attribute what the subscriber saw.
    const [doomed, survivor] = [await start('worker', { LOG_LEVEL: 'debug' }), await start('worker', { LOG_LEVEL: 'debug' })];
    // Each request takes 20 ms at the receiver, so requests are in flight when the worker is killed.
    const recv = receiver;
    recv.respond((_request, _index, response) => void setTimeout(() => response.writeHead(200).end('ok'), 20));
    expect((await postGraphql(api.url, adminToken, OPS.register, { org: orgId, url: recv.url })).errors).toBeUndefined();
    const live = await liveAttempts(api, api.url, adminToken, orgId);

    const acknowledged: string[] = [];
    const errors: string[] = [];
    let killedAt = 0;
    const killWhenBusy = async () => {
      await waitFor(() => recv.eventIds().length >= TOTAL_EVENTS / 3, 120_000, 20);
      doomed.child.kill('SIGKILL');
      killedAt = Date.now();
    };
    let nextSingle = 0;
    const singles = async () => {
      while (nextSingle < SINGLE_EVENTS) {
        const n = nextSingle++;
        const answer = await postGraphql(api.url, adminToken, OPS.record, { org: orgId, input: { action: 'scale_single', actor: { id: `s${n}` } } }).catch((e: Error) => ({ status: 0, errors: [e.message], data: null }));
        if (answer.data?.recordAuditEvent?.id) acknowledged.push(answer.data.recordAuditEvent.id);
        else errors.push(JSON.stringify(answer.errors).slice(0, 200));
      }
    };
    const batches = async () => {
      for (let b = 0; b < BATCHES; b++) {
        const inputs = Array.from({ length: BATCH_SIZE }, (_, i) => ({ action: 'scale_batch', actor: { id: `b${b}-${i}` } }));
        const answer = await postGraphql(api.url, adminToken, OPS.recordMany, { org: orgId, inputs });
        if (answer.data?.recordAuditEvents) acknowledged.push(...answer.data.recordAuditEvents.map((e: { id: string }) => e.id));
        else errors.push(JSON.stringify(answer.errors).slice(0, 200));
      }
    };
    const startedAt = Date.now();
    await Promise.all([killWhenBusy(), batches(), ...Array.from({ length: CLIENT_CONCURRENCY }, singles)]);
    const recordedMs = Date.now() - startedAt;
    expect(errors).toEqual([]);
    expect(acknowledged).toHaveLength(TOTAL_EVENTS);
    expect(killedAt).toBeGreaterThan(0);

    // Every acknowledged event reaches the receiver at least once, and every delivery ends SUCCEEDED.
    const missing = () => {
      const received = new Set(recv.eventIds());
      return acknowledged.filter((id) => !received.has(id));
    };
    await waitFor(() => missing().length === 0, 60_000, 100).catch(() => undefined);
    expect(missing()).toEqual([]);
    await waitFor(async () => (await queryDatabase(databaseUrl, `select count(*) as n from deliveries where status <> 'SUCCEEDED'`))[0]!.n === 0, 60_000, 200);
    const doneMs = Date.now() - startedAt;
    expect(await queryDatabase(databaseUrl, 'select delivery_id, attempt_number from delivery_attempts group by delivery_id, attempt_number having count(*) > 1')).toEqual([]);

    // The api's subscriber saw the attempts of both workers (attributed through each worker's log of its attempts).
    const attempts = await queryDatabase(databaseUrl, 'select id from delivery_attempts');
    await waitFor(() => live.seen.length >= attempts.length, 20_000).catch(() => undefined);
    const byDoomed = attemptsLoggedBy(doomed);
    const bySurvivor = attemptsLoggedBy(survivor);
    const seen = live.seen.map((a) => a.id);
    const seenFromDoomed = seen.filter((id) => byDoomed.has(id)).length;
    const seenFromSurvivor = seen.filter((id) => bySurvivor.has(id)).length;
    expect(seenFromDoomed).toBeGreaterThan(0);
    expect(seenFromSurvivor).toBeGreaterThan(0);
    expect(new Set(seen).size).toBe(attempts.length);

    // Duplicates at the receiver: the events of requests the killed worker sent but never recorded.
    const counts = new Map<string, number>();
    for (const id of recv.eventIds()) counts.set(id, (counts.get(id) ?? 0) + 1);
    const duplicated = [...counts.values()].filter((n) => n > 1).length;
    const report = {
      events: TOTAL_EVENTS,
      recordedMs,
      allDeliveredMs: doneMs,
      killedAfterMs: killedAt - startedAt,
      requests: recv.requests.length,
      attempts: attempts.length,
      attemptsSeenBySubscriber: seen.length,
      seenFromKilledWorker: seenFromDoomed,
      seenFromSurvivor,
      eventsReceivedMoreThanOnce: duplicated,
      extraEventCopies: recv.eventIds().length - counts.size,
    };
    console.log(`scale test: ${JSON.stringify(report)}`);
    expect(survivor.problems().filter((e) => e.msg !== 'delivery attempt failed').map((e) => e.msg)).toEqual([]);
  }, 240_000);
});
