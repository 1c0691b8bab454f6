import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-process.js';
import type { Receiver } from '../support/receiver.js';
import { processFixture } from '../support/process-fixture.js';
import { createOrgWithCli, postGraphql, startServerProcess, type ServerProcess } from '../support/server-process.js';
import { TEST_ENV, waitFor } from '../support/server.js';

/** Several `audithook serve` and CLI processes on one SQLite file: the README promises they share the work safely. */

const RECORD = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;
const REGISTER = `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`;
/** Events each load client sends in the two-server test. */
const EVENTS_PER_CLIENT = 600;
/** Mutations each load client keeps in flight. */
const CLIENT_CONCURRENCY = 8;

/** What one load client saw: ids the servers acknowledged, and every answer that was not a clean 200. */
interface LoadResult {
  acknowledged: string[];
  errors: string[];
}

/**
 * One load client: single-event recordAuditEvent mutations, `concurrency` in flight, the n-th to
 * urls[(n + offset) % urls.length], until `count` were sent or `stop()` says so.
 */
async function load(options: { urls: string[]; offset: number; token: string; orgId: string; count: number; concurrency: number; label: string; stop?: () => boolean }): Promise<LoadResult> {
  const result: LoadResult = { acknowledged: [], errors: [] };
  let next = 0;
  const stream = async () => {
    while (next < options.count && !options.stop?.()) {
      const n = next++;
      const url = options.urls[(n + options.offset) % options.urls.length]!;
      try {
        const answer = await postGraphql(url, options.token, RECORD, { org: options.orgId, input: { action: 'load_probe', actor: { id: `${options.label}-${n}` } } });
        const id: unknown = answer.data?.recordAuditEvent?.id;
        if (answer.status === 200 && !answer.errors && typeof id === 'string') result.acknowledged.push(id);
        else result.errors.push(`HTTP ${answer.status}: ${JSON.stringify(answer.errors ?? answer.data).slice(0, 300)}`);
      } catch (error) {
        result.errors.push(`request failed: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, stream));
  return result;
}

/** Error messages, each with how often it occurred, for a readable failure. */
function tally(errors: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const error of errors) counts[error] = (counts[error] ?? 0) + 1;
  return counts;
}

const fixture = processFixture();
const servers = fixture.servers;

/** A fresh data folder, a loopback receiver, and the environment every process of one test shares. */
async function setUp(prefix: string): Promise<{ env: Record<string, string>; databasePath: string; receiver: Receiver }> {
  const { dir, receiver } = await fixture.open(prefix);
  const databasePath = join(dir, 'audithook.db');
  // LOG_LEVEL info: the "listening" line names the URL; warnings and errors are collected and must stay empty.
  return { env: { ...TEST_ENV, LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${databasePath}` }, databasePath, receiver };
}

describe('several processes on one SQLite file', () => {
  it('two servers under sustained load from two clients: zero errors, every event delivered, never two attempts of one number', async () => {
    const { env, databasePath, receiver } = await setUp('audithook-multi-');
    const { orgId, adminToken } = await createOrgWithCli(env, 'Shared');
    const [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    servers.push(a!, b!);
    // Every fifth delivery's first request gets a 503, so retries (attempt 2, rescheduled jobs) run
    // across both processes too; every later request succeeds, so every event still arrives.
    const seen = new Set<string>();
    receiver.respond((request) => {
      const deliveryId = String(request.headers['webhook-id']);
      if (seen.has(deliveryId)) return { status: 200 };
      seen.add(deliveryId);
      return { status: seen.size % 5 === 0 ? 503 : 200 };
    });
    const registered = await postGraphql(a!.url, adminToken, REGISTER, { org: orgId, url: receiver.url });
    expect(registered.errors).toBeUndefined();

    const startedAt = Date.now();
    const clients = await Promise.all(
      [0, 1].map((offset) =>
        load({ urls: [a!.url, b!.url], offset, token: adminToken, orgId, count: EVENTS_PER_CLIENT, concurrency: CLIENT_CONCURRENCY, label: `client${offset}` }),
      ),
    );
    const loadMs = Date.now() - startedAt;
    const errors = clients.flatMap((c) => c.errors);
    const acknowledged = clients.flatMap((c) => c.acknowledged);
    expect(tally(errors)).toEqual({});
    expect(acknowledged).toHaveLength(2 * EVENTS_PER_CLIENT);
    expect(new Set(acknowledged).size).toBe(acknowledged.length);

    // Every acknowledged event reaches the receiver, whichever server took it in and whichever delivers it.
    const missing = () => {
      const received = new Set(receiver.eventIds());
      return acknowledged.filter((id) => !received.has(id));
    };
    await waitFor(() => missing().length === 0, 40_000, 100).catch(() => undefined);
    expect(missing()).toEqual([]);
    // The receiver also sees the events of a request it answers 503: wait for those retries to succeed too.
    const notSucceeded = () => {
      const reader = new Database(databasePath, { readonly: true });
      try {
        return (reader.prepare(`select count(*) as n from deliveries where status not in ('SUCCEEDED')`).get() as { n: number }).n;
      } finally {
        reader.close();
      }
    };
    await waitFor(() => notSucceeded() === 0, 40_000, 100).catch(() => undefined);
    const deliveredMs = Date.now() - startedAt;

    expect(await a!.stop()).toBe(0);
    expect(await b!.stop()).toBe(0);
    // The planned 503s are logged as failed attempts; nothing else may be.
    const unplanned = [...a!.problems(), ...b!.problems()].filter((e) => !(e.msg === 'delivery attempt failed' && e.statusCode === 503));
    expect(unplanned.map((e) => e.msg)).toEqual([]);

    const db = new Database(databasePath, { readonly: true });
    try {
      const twice = db
        .prepare('select delivery_id, attempt_number, count(*) as n from delivery_attempts group by delivery_id, attempt_number having n > 1')
        .all();
      expect(twice).toEqual([]);
      const eventsInTwoDeliveries = db.prepare('select event_id from delivery_events group by event_id having count(*) > 1').all();
      expect(eventsInTwoDeliveries).toEqual([]);
      const stored = db.prepare(`select count(*) as n from audit_events where action = 'load_probe'`).get() as { n: number };
      expect(stored.n).toBe(acknowledged.length);
      const unfinished = db.prepare(`select count(*) as n from deliveries where status not in ('SUCCEEDED')`).get() as { n: number };
      expect(unfinished.n).toBe(0);
      const attempts = db.prepare('select count(*) as n from delivery_attempts').get() as { n: number };
      const retried = db.prepare('select count(distinct delivery_id) as n from delivery_attempts where attempt_number > 1').get() as { n: number };
      expect(retried.n).toBeGreaterThan(0);
      console.log(
        `two servers: ${acknowledged.length} events acknowledged in ${loadMs} ms, all delivered after ${deliveredMs} ms, ` +
          `${receiver.requests.length} requests, ${attempts.n} attempts recorded, ${retried.n} deliveries retried`,
      );
    } finally {
      db.close();
    }
  }, 60_000);

  it('30 `audithook token create` runs, three at a time, while a server ingests and delivers: all succeed', async () => {
    const { env, receiver } = await setUp('audithook-tokens-');
    const { orgId, adminToken } = await createOrgWithCli(env, 'Tokens');
    const server = await startServerProcess(env);
    servers.push(server);
    const registered = await postGraphql(server.url, adminToken, REGISTER, { org: orgId, url: receiver.url });
    expect(registered.errors).toBeUndefined();

    // Sustained load for as long as the CLI runs last (bounded by a count, so the test is too).
    let cliDone = false;
    const loading = load({ urls: [server.url], offset: 0, token: adminToken, orgId, count: 20_000, concurrency: CLIENT_CONCURRENCY, label: 'load', stop: () => cliDone });
    // The CLI runs start once the server is visibly busy: events taken in and deliveries arriving.
    await waitFor(() => receiver.eventIds().length >= 20, 20_000, 20);

    const runs: Array<{ code: number | null; stdout: string; stderr: string }> = [];
    let started = 0;
    const runner = async () => {
      while (started < 30) {
        started++;
        const { code, stdout, stderr } = await runCli(['token', 'create', '--org', orgId, '--role', 'INGEST', '--label', `cli-${started}`, '--json'], env, { timeoutMs: 30_000 });
        runs.push({ code, stdout, stderr });
      }
    };
    try {
      await Promise.all([runner(), runner(), runner()]);
    } finally {
      cliDone = true;
    }
    const { acknowledged, errors } = await loading;

    expect(runs.filter((r) => r.code !== 0).map((r) => `exit ${r.code}: ${r.stderr.trim()}`)).toEqual([]);
    const tokens = runs.map((r) => (JSON.parse(r.stdout) as { token: string }).token);
    expect(tokens).toHaveLength(30);
    expect(new Set(tokens).size).toBe(30);
    // The load itself went through untouched by the CLI's writes.
    expect(tally(errors)).toEqual({});
    expect(acknowledged.length).toBeGreaterThan(0);

    // Each token created by the CLI authenticates against the running server, as the INGEST role it was given.
    for (const token of tokens) {
      const viewer = await postGraphql(server.url, token, '{ viewer { role organization { id } } }');
      expect(viewer).toMatchObject({ status: 200, data: { viewer: { role: 'INGEST', organization: { id: orgId } } } });
    }
    const received = () => new Set(receiver.eventIds());
    await waitFor(() => acknowledged.every((id) => received().has(id)), 40_000, 100).catch(() => undefined);
    expect(acknowledged.filter((id) => !received().has(id))).toEqual([]);
    expect(await server.stop()).toBe(0);
    expect(server.problems().map((e) => e.msg)).toEqual([]);
    console.log(`token create: 30 runs succeeded during ${acknowledged.length} recorded events`);
  }, 150_000); // 30 CLI processes start Node each: seconds apiece on a busy 2-core machine
});
