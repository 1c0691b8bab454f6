import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startReceiver } from '../support/receiver.js';
import { TEST_ENV, waitFor } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { testDatabaseUrl } from '../support/test-database.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Requests in flight per webhook; set explicitly because it bounds how many deliveries a crash can make us re-send. */
const WEBHOOK_CONCURRENCY = 4;
/** Concurrent recordAuditEvent streams: at most this many mutations are in flight when the server is killed. */
const STREAMS = 5;
const cli = join(root, 'dist/src/cli.js');
const children: ChildProcess[] = [];

/** Starts `audithook serve` as a child process and resolves with its GraphQL URL once it listens; `logs` keeps its log lines. */
function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; logs: Array<{ msg?: string }> }> {
  const child = spawn(process.execPath, [cli, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const logs: Array<{ msg?: string }> = [];
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: string; msg?: string };
        logs.push(entry);
        if (entry.url) resolve({ child, url: entry.url, logs });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
  });
}

/** Whether something accepts TCP connections at the URL's port (a closed listener refuses them). */
function accepting(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** One GraphQL request to a child server. */
async function post(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<{ data?: any; errors?: unknown[] }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
  return (await response.json()) as { data?: any; errors?: unknown[] };
}

/** Creates an organization with the CLI, against the child's database. */
async function createOrg(env: Record<string, string>, name: string): Promise<{ organization: { id: string }; token: string }> {
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'org', 'create', '--name', name, '--json'], { env: { PATH: process.env.PATH ?? '', ...env } });
  return JSON.parse(stdout) as { organization: { id: string }; token: string };
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('crash recovery', () => {
  it('delivers every event whose recordAuditEvent returned, after a SIGKILL mid-stream and a restart', async () => {
    const dir = tempDir('audithook-crash-');
    const receiver = await startReceiver();
    // Shortly before the kill the receiver stops answering: the requests it then gets are in flight when the
    // server dies, and later events stay in the outbox, so recovery has both kinds of unfinished work.
    let holding = false;
    receiver.respond((_r, _i, response) => {
      if (holding) return; // never answered; the SIGKILL ends the connection
      setTimeout(() => response.writeHead(200).end('ok'), 5);
    });
    const env = {
      ...TEST_ENV,
      LOG_LEVEL: 'info',
      DATABASE_URL: await testDatabaseUrl(dir),
      // Far longer than the hold lasts, so no held request times out (and is retried) before the kill.
      AUDITHOOK_REQUEST_TIMEOUT: '3s',
      AUDITHOOK_WEBHOOK_CONCURRENCY: String(WEBHOOK_CONCURRENCY),
    };
    try {
      const { organization, token } = await createOrg(env, 'Crashy');
      let server = await serve(env);
      const gql = (url: string, query: string, variables: Record<string, unknown>) => post(url, token, query, variables);
      const registered = await gql(server.url, `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`, { org: organization.id, url: receiver.url });
      expect(registered.errors).toBeUndefined();
      // Registering records an event of its own; let it arrive so the counts below are only the probes.
      await waitFor(() => receiver.requests.length >= 1);
      receiver.requests.length = 0;

      const acknowledged: string[] = [];
      let sent = 0;
      const record = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;
      // STREAMS concurrent streams record 500 events; the server is killed once 250 have been acknowledged.
      const stream = async () => {
        while (sent < 500) {
          const n = sent++;
          try {
            const result = await gql(server.url, record, { org: organization.id, input: { action: 'crash_probe', actor: { id: `actor-${n}` } } });
            if (result.data?.recordAuditEvent?.id) acknowledged.push(result.data.recordAuditEvent.id);
          } catch {
            return; // the server is gone
          }
          if (acknowledged.length === 230) holding = true;
          if (acknowledged.length === 250 && server.child.exitCode === null) server.child.kill('SIGKILL');
        }
      };
      await Promise.all(Array.from({ length: STREAMS }, stream));
      await new Promise<void>((resolve) => (server.child.exitCode !== null || server.child.signalCode !== null ? resolve() : server.child.once('exit', () => resolve())));
      expect(server.child.signalCode).toBe('SIGKILL');
      // The kill cut the stream short: only responses already on their way when it landed were acknowledged.
      expect(acknowledged.length).toBeGreaterThanOrEqual(250);
      expect(acknowledged.length).toBeLessThanOrEqual(250 + STREAMS - 1);
      expect(new Set(acknowledged).size).toBe(acknowledged.length);
      expect(sent).toBeLessThan(500);
      const requestsBeforeRestart = receiver.requests.length;
      const beforeRestart = new Set(receiver.eventIds());
      const missingAtKill = acknowledged.filter((id) => !beforeRestart.has(id)).length;
      // Otherwise this test would not exercise recovery at all.
      expect(missingAtKill).toBeGreaterThan(0);

      holding = false;
      server = await serve(env);
      await waitFor(() => {
        const received = new Set(receiver.eventIds());
        return acknowledged.every((id) => received.has(id));
      }, 60_000, 100);
      // and the restarted server keeps delivering new events
      const after = await gql(server.url, record, { org: organization.id, input: { action: 'after_restart', actor: { id: 'a' } } });
      const afterId: string = after.data.recordAuditEvent.id;
      await waitFor(() => receiver.eventIds().includes(afterId), 20_000);

      // Every acknowledged event arrived (the wait above), and nothing arrived that was never recorded:
      // besides acknowledged ones, only events whose mutation was in flight at the kill may have committed.
      const received = receiver.eventIds();
      const receivedIds = new Set(received);
      expect(acknowledged.filter((id) => !receivedIds.has(id))).toEqual([]);
      const unacknowledged = [...receivedIds].filter((id) => id !== afterId && !acknowledged.includes(id));
      expect(unacknowledged.length).toBeLessThanOrEqual(STREAMS);

      // At least once, and duplicates only where the crash forces them: a delivery whose request was in
      // flight at the kill (sent, outcome not yet recorded) is sent again, with the same webhook-id.
      const requestsPerDelivery = new Map<string, number>();
      for (const request of receiver.requests) {
        const deliveryId = String(request.headers['webhook-id']);
        requestsPerDelivery.set(deliveryId, (requestsPerDelivery.get(deliveryId) ?? 0) + 1);
      }
      const resent = [...requestsPerDelivery].filter(([, count]) => count > 1).map(([id]) => id);
      const sentBeforeKill = new Set(receiver.requests.slice(0, requestsBeforeRestart).map((r) => String(r.headers['webhook-id'])));
      expect(resent.length).toBeLessThanOrEqual(WEBHOOK_CONCURRENCY);
      for (const id of resent) {
        expect(requestsPerDelivery.get(id)).toBe(2); // once before the kill, once after the restart
        expect(sentBeforeKill.has(id)).toBe(true);
      }
      // An event is in exactly one delivery, so events arrive twice only as part of a re-sent delivery.
      const resentEvents = new Set(
        receiver.requests.filter((r) => resent.includes(String(r.headers['webhook-id']))).flatMap((r) => r.json.data.map((e: { id: string }) => e.id)),
      );
      const duplicateEvents = [...receivedIds].filter((id) => received.indexOf(id) !== received.lastIndexOf(id));
      expect(duplicateEvents.filter((id) => !resentEvents.has(id))).toEqual([]);
      expect(received.length - receivedIds.size).toBe(duplicateEvents.length);
      console.log(
        `crash recovery: ${acknowledged.length} acknowledged, ${missingAtKill} not yet delivered at SIGKILL, all delivered after restart ` +
          `(${receiver.requests.length} requests, ${resent.length} deliveries re-sent, ${duplicateEvents.length} events received twice)`,
      );
      server.child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => server.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(0);
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('on SIGTERM finishes the webhook request in flight, records it, and exits 0', async () => {
    const dir = tempDir('audithook-term-');
    const receiver = await startReceiver();
    let release: () => void = () => {};
    const requestArrived = new Promise<void>((arrived) => {
      receiver.respond((request, _i, response) => {
        if (!request.body.includes('slow_probe')) return { status: 200 };
        arrived();
        release = () => response.writeHead(200).end('finished after SIGTERM');
      });
    });
    const env = { ...TEST_ENV, LOG_LEVEL: 'info', DATABASE_URL: await testDatabaseUrl(dir), AUDITHOOK_REQUEST_TIMEOUT: '5s' };
    try {
      const { organization, token } = await createOrg(env, 'Graceful');
      let server = await serve(env);
      const gql = (url: string, query: string, variables: Record<string, unknown>) => post(url, token, query, variables);
      await gql(server.url, `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`, { org: organization.id, url: receiver.url });
      const recorded = await gql(server.url, `mutation($org: ID!) { recordAuditEvent(organizationId: $org, input: { action: "slow_probe", actor: { id: "u" } }) { id } }`, { org: organization.id });
      const eventId = recorded.data.recordAuditEvent.id;
      await requestArrived;
      const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
      server.child.kill('SIGTERM');
      // The server has begun its shutdown and closed its listener, yet stays up: it waits for the request in flight.
      await waitFor(() => server.logs.some((entry) => entry.msg?.startsWith('shutting down')), 10_000);
      await waitFor(async () => !(await accepting(server.url)), 10_000);
      expect(server.child.exitCode).toBeNull();
      expect(server.child.signalCode).toBeNull();
      release();
      expect(await exited).toBe(0);

      server = await serve(env);
      const deliveries = await gql(server.url, `query($org: ID!) { deliveries(organizationId: $org, first: 10) { edges { node { status events { id } attempts { outcome responseBody } } } } }`, { org: organization.id });
      const delivery = deliveries.data.deliveries.edges.map((e: any) => e.node).find((d: any) => d.events.some((e: any) => e.id === eventId));
      expect(delivery).toMatchObject({ status: 'SUCCEEDED', attempts: [{ outcome: 'SUCCEEDED', responseBody: 'finished after SIGTERM' }] });
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
