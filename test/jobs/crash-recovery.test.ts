import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startReceiver } from '../support/receiver.js';
import { TEST_ENV, waitFor } from '../support/server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist/src/cli.js');
const children: ChildProcess[] = [];

/** Starts `audithook serve` as a child process and resolves with its GraphQL URL once it listens. */
function serve(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [cli, 'serve'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { url?: string };
        if (entry.url) resolve({ child, url: entry.url });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
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
    const dir = mkdtempSync(join(tmpdir(), 'audithook-crash-'));
    const receiver = await startReceiver();
    receiver.respond((_r, _i, response) => {
      setTimeout(() => response.writeHead(200).end('ok'), 5);
    });
    const env = {
      ...TEST_ENV,
      LOG_LEVEL: 'info',
      DATABASE_URL: `sqlite:${join(dir, 'audithook.db')}`,
      AUDITHOOK_REQUEST_TIMEOUT: '1s',
    };
    try {
      const { organization, token } = await createOrg(env, 'Crashy');
      let server = await serve(env);
      const gql = (url: string, query: string, variables: Record<string, unknown>) => post(url, token, query, variables);
      const registered = await gql(server.url, `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`, { org: organization.id, url: receiver.url });
      expect(registered.errors).toBeUndefined();

      const acknowledged: string[] = [];
      let sent = 0;
      const record = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;
      // Five concurrent streams record 500 events; the server is killed once 250 have been acknowledged.
      const stream = async () => {
        while (sent < 500) {
          const n = sent++;
          try {
            const result = await gql(server.url, record, { org: organization.id, input: { action: 'crash_probe', actor: { id: `actor-${n}` } } });
            if (result.data?.recordAuditEvent?.id) acknowledged.push(result.data.recordAuditEvent.id);
          } catch {
            return; // the server is gone
          }
          if (acknowledged.length === 250 && server.child.exitCode === null) server.child.kill('SIGKILL');
        }
      };
      await Promise.all(Array.from({ length: 5 }, stream));
      await new Promise<void>((resolve) => (server.child.exitCode !== null || server.child.signalCode !== null ? resolve() : server.child.once('exit', () => resolve())));
      expect(server.child.signalCode).toBe('SIGKILL');
      const beforeRestart = new Set(receiver.eventIds());
      const missingAtKill = acknowledged.filter((id) => !beforeRestart.has(id)).length;

      server = await serve(env);
      await waitFor(() => {
        const received = new Set(receiver.eventIds());
        return acknowledged.every((id) => received.has(id));
      }, 60_000, 100);
      // and the restarted server keeps delivering new events
      const after = await gql(server.url, record, { org: organization.id, input: { action: 'after_restart', actor: { id: 'a' } } });
      await waitFor(() => receiver.eventIds().includes(after.data.recordAuditEvent.id), 20_000);
      console.log(`crash recovery: ${acknowledged.length} acknowledged, ${missingAtKill} not yet delivered at SIGKILL, all delivered after restart (${receiver.requests.length} requests)`);
      expect(acknowledged.length).toBeGreaterThanOrEqual(250);
      server.child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => server.child.once('exit', (c) => resolve(c)));
      expect(code).toBe(0);
    } finally {
      await receiver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('on SIGTERM finishes the webhook request in flight, records it, and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audithook-term-'));
    const receiver = await startReceiver();
    let release: () => void = () => {};
    const requestArrived = new Promise<void>((arrived) => {
      receiver.respond((request, _i, response) => {
        if (!request.body.includes('slow_probe')) return { status: 200 };
        arrived();
        release = () => response.writeHead(200).end('finished after SIGTERM');
      });
    });
    const env = { ...TEST_ENV, LOG_LEVEL: 'info', DATABASE_URL: `sqlite:${join(dir, 'audithook.db')}`, AUDITHOOK_REQUEST_TIMEOUT: '5s' };
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
      await new Promise((r) => setTimeout(r, 300));
      expect(server.child.exitCode).toBeNull(); // still waiting for the request in flight
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
