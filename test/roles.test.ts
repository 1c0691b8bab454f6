import type { ServerResponse } from 'node:http';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli-process.js';
import { attemptsLoggedBy, OPS, queryDatabase } from './support/cluster.js';
import type { Receiver } from './support/receiver.js';
import { processFixture } from './support/process-fixture.js';
import { createOrgWithCli, postGraphql, startServerProcess, type ServerProcess } from './support/server-process.js';
import { TEST_ENV, waitFor } from './support/server.js';
import { TEST_DATABASE, testDatabaseUrl } from './support/test-database.js';

/** `audithook serve --role api|worker` as separate processes on one database (a SQLite file, or PostgreSQL in that matrix). */

const fixture = processFixture();
const servers = fixture.servers;

async function setUp(extra: Record<string, string> = {}): Promise<{ env: Record<string, string>; databaseUrl: string; receiver: Receiver }> {
  const { dir, receiver } = await fixture.open('audithook-roles-');
  const databaseUrl = await testDatabaseUrl(dir);
  // debug: workers log each attempt with their identity ("attempt recorded").
  return { env: { ...TEST_ENV, LOG_LEVEL: 'debug', DATABASE_URL: databaseUrl, ...extra }, databaseUrl, receiver };
}

async function start(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const server = await startServerProcess(env, args);
  servers.push(server);
  return server;
}

describe('roles', () => {
  it('an api process records and sends nothing; a worker on the same file delivers; the worker serves only /healthz and /metrics', async () => {
    const { env, receiver } = await setUp();
    const { orgId, adminToken } = await createOrgWithCli(env, 'Roles');
    const api = await start({ ...env, AUDITHOOK_ROLE: 'API' }); // any case
    expect(api.logs.find((e) => e.msg?.includes('listening'))?.msg).toContain('role api: sends nothing');
    expect((await postGraphql(api.url, adminToken, OPS.register, { org: orgId, url: receiver.url })).errors).toBeUndefined();
    const recorded = await postGraphql(api.url, adminToken, OPS.record, { org: orgId, input: { action: 'role_probe', actor: { id: 'u1' } } });
    const eventId = recorded.data.recordAuditEvent.id as string;

    const worker = await start(env, ['--role', 'Worker']);
    await waitFor(() => receiver.eventIds().includes(eventId), 15_000);
    // The attempt was made and recorded by the worker (logged once committed); the api process made none.
    const byWorker = await waitFor(() => attemptsLoggedBy(worker).size > 0 && attemptsLoggedBy(worker));
    expect([...byWorker.values()][0]).toMatch(/^audithook-worker-\d+$/);
    expect(attemptsLoggedBy(api).size).toBe(0);
    // Recorded through the api after the worker started: delivered by the worker without a restart.
    const second = await postGraphql(api.url, adminToken, OPS.record, { org: orgId, input: { action: 'role_probe', actor: { id: 'u2' } } });
    await waitFor(() => receiver.eventIds().includes(second.data.recordAuditEvent.id), 15_000);

    // The worker's port: health and metrics only; no GraphQL over HTTP or WebSocket, no console.
    const base = new URL(worker.url);
    const health = await fetch(new URL('/healthz', base));
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', role: 'worker', database: { status: 'ok' }, jobs: { status: 'ok' } });
    expect((await fetch(new URL('/metrics', base))).status).toBe(200);
    for (const path of ['/graphql', '/', '/graphiql']) {
      const response = await fetch(new URL(path, base), { method: path === '/graphql' ? 'POST' : 'GET', headers: { 'content-type': 'application/json' }, body: path === '/graphql' ? '{"query":"{ viewer { role } }"}' : null });
      expect(response.status).toBe(404);
      expect(await response.text()).toContain('this is a worker');
    }
    const socket = new WebSocket(new URL('/graphql', base.href.replace(/^http/, 'ws')).href, 'graphql-transport-ws');
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    expect(opened).toBe(false);

    expect(await worker.stop()).toBe(0);
    expect(await api.stop()).toBe(0);
    expect([...api.problems(), ...worker.problems()].map((e) => e.msg)).toEqual([]);
  }, 60_000);

  it('refuses an unknown role, on the command line (exit 2) and in AUDITHOOK_ROLE (exit 78), naming it', async () => {
    const { env } = await setUp();
    const flag = await runCli(['serve', '--role', 'scheduler'], env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--role must be one of all, api, worker, got "scheduler"');
    const variable = await runCli(['serve'], { ...env, AUDITHOOK_ROLE: 'scheduler' });
    expect(variable.code).toBe(78);
    expect(variable.stderr).toContain('AUDITHOOK_ROLE: expected one of all, api, worker');
  });

  it('AUDITHOOK_WEBHOOK_CONCURRENCY holds over two workers together', async () => {
    const { env, databaseUrl, receiver } = await setUp({ AUDITHOOK_WEBHOOK_CONCURRENCY: '2', AUDITHOOK_MAX_BATCH_SIZE: '1' });
    const { orgId, adminToken } = await createOrgWithCli(env, 'Capped');
    const api = await start({ ...env, AUDITHOOK_ROLE: 'api' });
    const workers = [await start({ ...env, AUDITHOOK_ROLE: 'worker' }), await start({ ...env, AUDITHOOK_ROLE: 'worker' })];
    // Each request is held 150 ms: long enough for requests of both workers to overlap if the cap were per process.
    let open = 0;
    let maxOpen = 0;
    receiver.respond((_request, _index, response: ServerResponse) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      setTimeout(() => {
        open--;
        response.writeHead(200).end('ok');
      }, 150);
    });
    expect((await postGraphql(api.url, adminToken, OPS.register, { org: orgId, url: receiver.url })).errors).toBeUndefined();
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) {
      const inputs = Array.from({ length: 10 }, (_, i) => ({ action: 'cap_probe', actor: { id: `u${n}-${i}` } }));
      const answer = await postGraphql(api.url, adminToken, OPS.recordMany, { org: orgId, inputs });
      ids.push(...answer.data.recordAuditEvents.map((e: { id: string }) => e.id));
    }
    await waitFor(() => ids.every((id) => receiver.eventIds().includes(id)), 45_000, 50);
    const attemptsLogged = () => workers.reduce((n, w) => n + attemptsLoggedBy(w).size, 0);
    await waitFor(() => attemptsLogged() >= ids.length);
    expect(maxOpen).toBeLessThanOrEqual(2);
    expect(maxOpen).toBe(2);
    const [a, b] = workers.map((w) => attemptsLoggedBy(w).size);
    expect(a! + b!).toBeGreaterThanOrEqual(ids.length);
    // Which worker sends is up to Agenda's locking: on PostgreSQL both hear every saved job; on SQLite the
    // worker that saved a job usually runs it (the other only polls), so there one may do all the work.
    if (TEST_DATABASE === 'postgres') expect(Math.min(a!, b!)).toBeGreaterThan(0);
    expect(await queryDatabase(databaseUrl, 'select delivery_id, attempt_number from delivery_attempts group by delivery_id, attempt_number having count(*) > 1')).toEqual([]);
    // Every lease was released (none left to expire).
    await waitFor(async () => (await queryDatabase(databaseUrl, 'select count(*) as n from webhook_slot_leases'))[0]!.n === 0);
    console.log(`two workers under a cap of 2: ${ids.length} events, ${receiver.requests.length} requests, max ${maxOpen} open at once, attempts by worker ${a}/${b}`);
  }, 90_000);
});
