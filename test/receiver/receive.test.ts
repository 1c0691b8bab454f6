import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPayload } from '../../src/delivery/payload.js';
import { generateSigningSecret, signatureHeaders } from '../../src/delivery/signing.js';
import { startLocalServer, type LocalServer } from '../delivery/local-server.js';
import { CLI_PATH, exitWithin, PROJECT_ROOT, runCli } from '../support/cli-process.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';

/** An `audithook receive` child process, its output split into lines as they come. */
interface ReceiveProcess {
  child: ChildProcess;
  url: string;
  out: string[];
  err: string[];
}

const running: ReceiveProcess[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const receiver of running.splice(0)) {
    receiver.child.kill('SIGTERM');
    if (!(await exitWithin(receiver.child, 5_000))) receiver.child.kill('SIGKILL');
  }
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** Starts the compiled `audithook receive` and waits for its first line, which names the URL it listens on. */
function startReceive(args: string[]): Promise<ReceiveProcess> {
  const child = spawn(process.execPath, [CLI_PATH, 'receive', ...args], { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => err.push(line));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      out.push(line);
      if (out.length !== 1) return;
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1] ?? (JSON.parse(line) as { listening?: string }).listening;
      if (!url) return reject(new Error(`unexpected first line: ${line}`));
      const receiver = { child, url, out, err };
      running.push(receiver);
      resolve(receiver);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`receive exited with ${code}: ${err.join('\n')}`)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

const basic = (credential: string) => `Basic ${Buffer.from(credential).toString('base64')}`;

/** A body and headers signed as audithook signs them, for requests sent straight to the receiver. */
function signedRequest(secret: string, eventId: string, deliveryId = `dlv_${eventId}`) {
  const body = buildPayload({ deliveryId, organizationId: 'org_test', createdAt: new Date(), test: false }, [
    { id: eventId, time: '2026-01-02T03:04:05.000Z', action: 'user_logged_in', actor: { id: 'u-42', name: 'Ada', type: 'user' }, context: [], container: [] },
  ]);
  const headers = signatureHeaders({ webhookId: deliveryId, timestampSec: Math.floor(Date.now() / 1000), body, secrets: [secret] });
  return { body, headers: { 'content-type': 'application/json', ...headers } };
}

describe('audithook receive', () => {
  it('receives a real server\'s deliveries: one line per event, a redelivery marked dup; refuses tampered bodies and wrong credentials', async () => {
    // Slower retries than the test default: the receiver starts only after registration (so its secret is known).
    const server: TestServer = await startTestServer({ AUDITHOOK_RETRY_DELAYS: '1s,2s,3s', AUDITHOOK_TEST_DELAY: '1s' });
    cleanups.push(() => server.stop());
    const port = await freePort();
    const registered = await server.gql(
      `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`,
      { org: server.orgId, input: { url: `http://127.0.0.1:${port}/audit`, authorization: { basic: { username: 'audit-bot', password: 's3cret' } } } },
    );
    expect(registered.errors).toBeUndefined();
    const secret = (await server.gql(`query($org: ID!) { webhookSigningSecret(organizationId: $org) }`, { org: server.orgId })).data!.webhookSigningSecret as string;
    const receiver = await startReceive(['--port', String(port), '--secret', secret, '--basic', 'audit-bot:s3cret']);
    expect(receiver.url).toBe(`http://127.0.0.1:${port}/`);

    const recorded = await server.gql(
      `mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id time } }`,
      {
        org: server.orgId,
        inputs: [
          { action: 'user_logged_in', actor: { id: 'u-42', name: 'Ada', type: 'user' } },
          { action: 'report_exported', actor: { id: 'u-7' } },
        ],
      },
    );
    const [login, exported] = recorded.data!.recordAuditEvents as { id: string; time: string }[];
    const lineOf = (id: string) => receiver.out.filter((line) => line.includes(id));
    await waitFor(() => lineOf(login!.id).length === 1 && lineOf(exported!.id).length === 1, 20_000);
    expect(lineOf(login!.id)[0]).toBe(`${login!.time}  user_logged_in  user:Ada (u-42)  ${login!.id}`);
    expect(lineOf(exported!.id)[0]).toBe(`${exported!.time}  report_exported  u-7  ${exported!.id}`);

    // The delivery that carried them, sent again: the same event ids come back, marked dup.
    const deliveryOf = async () => {
      const result = await server.gql(`query($org: ID!) { deliveries(organizationId: $org, first: 10) { edges { node { id status events { id } } } } }`, { org: server.orgId });
      const nodes = (result.data!.deliveries.edges as { node: { id: string; status: string; events: { id: string }[] } }[]).map((e) => e.node);
      return nodes.find((n) => n.status === 'SUCCEEDED' && n.events.some((e) => e.id === login!.id));
    };
    const delivery = await waitFor(deliveryOf);
    const redelivered = await server.gql(`mutation($org: ID!, $id: ID!) { redeliver(organizationId: $org, deliveryId: $id) { id } }`, { org: server.orgId, id: delivery.id });
    expect(redelivered.errors).toBeUndefined();
    await waitFor(() => lineOf(login!.id).length === 2 && lineOf(exported!.id).length === 2, 20_000);
    expect(lineOf(login!.id)[1]).toBe(`${login!.time}  user_logged_in  user:Ada (u-42)  ${login!.id}  dup`);
    expect(lineOf(exported!.id)[1]).toMatch(/  dup$/);
    expect(receiver.err.filter((line) => line.startsWith('rejected'))).toEqual([]);

    // Straight to the receiver: a changed body under a kept signature, a wrong and a missing credential.
    const valid = signedRequest(secret, 'evt_tampered');
    const tampered = await fetch(receiver.url, {
      method: 'POST',
      headers: { ...valid.headers, authorization: basic('audit-bot:s3cret') },
      body: valid.body.replace('user_logged_in', 'user_logged_out'),
    });
    expect(tampered.status).toBe(400);
    const wrong = await fetch(receiver.url, { method: 'POST', headers: { ...valid.headers, authorization: basic('audit-bot:guess') }, body: valid.body });
    expect(wrong.status).toBe(401);
    const missing = await fetch(receiver.url, { method: 'POST', headers: valid.headers, body: valid.body });
    expect(missing.status).toBe(401);
    await waitFor(() => receiver.err.filter((line) => line.startsWith('rejected')).length === 3);
    expect(receiver.err.filter((line) => line.startsWith('rejected'))).toEqual([
      `rejected 400 dlv_evt_tampered: bad signature: no webhook-signature matches the body (wrong secret, or the body or headers were changed)`,
      `rejected 401 dlv_evt_tampered: wrong Authorization credential (expected the --basic user:pass)`,
      `rejected 401 dlv_evt_tampered: missing Authorization header`,
    ]);
    expect(receiver.out.some((line) => line.includes('evt_tampered'))).toBe(false);
    expect([...receiver.out, ...receiver.err].join('\n')).not.toContain(secret);
  });

  it('--json prints one parseable object per line, duplicates flagged, rejections with their reason', async () => {
    const secret = generateSigningSecret();
    const receiver = await startReceive(['--port', '0', '--secret', secret, '--json']);
    expect(JSON.parse(receiver.out[0]!)).toEqual({ listening: receiver.url });
    const request = signedRequest(secret, 'evt_json');
    for (let i = 0; i < 2; i++) expect((await fetch(receiver.url, { method: 'POST', headers: request.headers, body: request.body })).status).toBe(204);
    const stale = signedRequest(secret, 'evt_stale');
    const staleHeaders = { ...stale.headers, ...signatureHeaders({ webhookId: 'dlv_evt_stale', timestampSec: Math.floor(Date.now() / 1000) - 3600, body: stale.body, secrets: [secret] }) };
    expect((await fetch(receiver.url, { method: 'POST', headers: staleHeaders, body: stale.body })).status).toBe(400);
    await waitFor(() => receiver.out.length === 3 && receiver.err.some((line) => line.startsWith('{')));
    expect(receiver.out.slice(1).map((line) => JSON.parse(line))).toEqual([
      { time: '2026-01-02T03:04:05.000Z', action: 'user_logged_in', actor: 'user:Ada (u-42)', id: 'evt_json', duplicate: false, deliveryId: 'dlv_evt_json' },
      { time: '2026-01-02T03:04:05.000Z', action: 'user_logged_in', actor: 'user:Ada (u-42)', id: 'evt_json', duplicate: true, deliveryId: 'dlv_evt_json' },
    ]);
    const rejections = receiver.err.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(rejections).toEqual([{ rejected: 400, reason: expect.stringMatching(/^bad signature: webhook-timestamp is more than 300 s away/), deliveryId: 'dlv_evt_stale' }]);

    // A second receiver on the same port says so and exits 1.
    const busy = await runCli(['receive', '--port', String(new URL(receiver.url).port)], {});
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\); pick another --port/);
  });

  it('--forward passes verified requests on (body and signature intact), never follows a redirect, and answers 502 when the target fails', async () => {
    const secret = generateSigningSecret();
    let answer = 204;
    const elsewhere: LocalServer = await startLocalServer((_req, res) => res.writeHead(204).end());
    cleanups.push(() => elsewhere.close());
    const target: LocalServer = await startLocalServer((_req, res) => {
      if (answer === 302) res.writeHead(302, { location: `${elsewhere.origin}/` }).end();
      else res.writeHead(answer).end();
    });
    cleanups.push(() => target.close());
    const receiver = await startReceive(['--port', '0', '--secret', secret, '--basic', 'audit-bot:s3cret', '--forward', `${target.origin}/hook`]);

    const request = signedRequest(secret, 'evt_forward');
    const accepted = await fetch(receiver.url, { method: 'POST', headers: { ...request.headers, authorization: basic('audit-bot:s3cret') }, body: request.body });
    expect(accepted.status).toBe(204);
    expect(target.requests).toHaveLength(1);
    const forwarded = target.requests[0]!;
    expect(forwarded).toMatchObject({ method: 'POST', url: '/hook', body: request.body });
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type'] as const) expect(forwarded.headers[name]).toBe(request.headers[name]);
    expect(forwarded.headers.authorization).toBeUndefined(); // this hop's credential stays here

    // A request that fails verification is not passed on.
    const tampered = await fetch(receiver.url, { method: 'POST', headers: { ...request.headers, authorization: basic('audit-bot:s3cret') }, body: request.body.replace('Ada', 'Eve') });
    expect(tampered.status).toBe(400);
    expect(target.requests).toHaveLength(1);

    answer = 302;
    const redirected = signedRequest(secret, 'evt_redirected');
    const viaRedirect = await fetch(receiver.url, { method: 'POST', headers: { ...redirected.headers, authorization: basic('audit-bot:s3cret') }, body: redirected.body });
    expect(viaRedirect.status).toBe(502);
    expect(target.requests).toHaveLength(2);
    expect(elsewhere.requests).toHaveLength(0);

    answer = 500;
    const failing = signedRequest(secret, 'evt_failing');
    expect((await fetch(receiver.url, { method: 'POST', headers: { ...failing.headers, authorization: basic('audit-bot:s3cret') }, body: failing.body })).status).toBe(502);
    await waitFor(() => receiver.err.filter((line) => line.startsWith('rejected 502')).length === 2);
    expect(receiver.err.filter((line) => line.startsWith('rejected 502'))).toEqual([
      `rejected 502 dlv_evt_redirected: forward to ${target.origin}/hook failed: answered 302 (redirects are not followed)`,
      `rejected 502 dlv_evt_failing: forward to ${target.origin}/hook failed: answered 500`,
    ]);
    // Only the forwarded event was printed: refused requests are retried, so they do not count as seen.
    expect(receiver.out.slice(1)).toEqual([`2026-01-02T03:04:05.000Z  user_logged_in  user:Ada (u-42)  evt_forward`]);
  });
});
