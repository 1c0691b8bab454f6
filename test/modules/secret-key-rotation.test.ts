import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretKeyId } from '../../src/lib/secret-box.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startTestServer, waitFor, type TestServer } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { testDatabaseUrl } from '../support/test-database.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));

const KEY_A = Buffer.alloc(32, 0xa1).toString('base64');
const KEY_B = Buffer.alloc(32, 0xb2).toString('base64');
const PASSWORD = 'rotation-pw-9f3k';
const BASIC = `Basic ${Buffer.from(`audit-bot:${PASSWORD}`).toString('base64')}`;

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const SECRET = `query($org: ID!) { webhookSigningSecret(organizationId: $org) }`;
const RECORD = `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`;
const DELIVERIES = `query($org: ID!) { deliveries(organizationId: $org, first: 50) { edges { node { id events { id } attempts { outcome error statusCode } } } } }`;

/** The organization created by the first start; its ADMIN token stays valid across restarts over the same folder. */
interface Admin {
  orgId: string;
  token: string;
}

let receiver: Receiver;
const dirs: string[] = [];
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = tempDir('audithook-rotation-');
  dirs.push(dir);
  return dir;
}

function keys(current: string, previous?: string): Record<string, string> {
  return { AUDITHOOK_SECRET_KEY: current, ...(previous ? { AUDITHOOK_SECRET_KEY_PREVIOUS: previous } : {}) };
}

async function reencrypt(dir: string, env: Record<string, string>) {
  const fullEnv = { PATH: process.env.PATH ?? '', DATABASE_URL: await testDatabaseUrl(dir), LOG_LEVEL: 'silent', ...env };
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, 'reencrypt'], { env: fullEnv });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** First start under key A: registers the webhook with Basic credentials and returns who may use it and its signing secret. */
async function registerUnderKeyA(dir: string): Promise<{ admin: Admin; signingSecret: string }> {
  const server = await startTestServer(keys(KEY_A), { dir });
  try {
    const admin = { orgId: server.orgId, token: server.adminToken };
    const registered = await server.gql(REGISTER, { org: admin.orgId, input: { url: receiver.url, authorization: { basic: { username: 'audit-bot', password: PASSWORD } } } });
    expect(registered.errors).toBeUndefined();
    const signingSecret = (await server.gql(SECRET, { org: admin.orgId })).data!.webhookSigningSecret as string;
    await expectAuthenticatedDelivery(server, admin, signingSecret);
    return { admin, signingSecret };
  } finally {
    await server.stop();
  }
}

async function recordEvent(server: TestServer, admin: Admin): Promise<string> {
  const result = await server.gql(RECORD, { org: admin.orgId, input: { action: 'user_logged_in', actor: { id: 'u-1' } } }, admin.token);
  expect(result.errors).toBeUndefined();
  return result.data!.recordAuditEvent.id as string;
}

/** Records an event and checks the receiver gets it with the registered Authorization and a valid signature. */
async function expectAuthenticatedDelivery(server: TestServer, admin: Admin, signingSecret: string): Promise<void> {
  const eventId = await recordEvent(server, admin);
  const request = await waitFor(() => receiver.requests.find((r) => r.body.includes(eventId)));
  expect(request.headers.authorization).toBe(BASIC);
  const verified = new StandardWebhook(signingSecret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as { data: { id: string }[] };
  expect(verified.data.map((e) => e.id)).toContain(eventId);
}

describe('secret key rotation', () => {
  it('keeps deliveries authenticated: key A, then B with PREVIOUS=A, `audithook reencrypt`, then B alone', async () => {
    const dir = freshDir();
    const { admin, signingSecret } = await registerUnderKeyA(dir);

    const rotating = await startTestServer(keys(KEY_B, KEY_A), { dir });
    try {
      await expectAuthenticatedDelivery(rotating, admin, signingSecret);
      expect((await rotating.gql(SECRET, { org: admin.orgId }, admin.token)).data!.webhookSigningSecret).toBe(signingSecret);

      // reencrypt runs as its own process beside the running server.
      const first = await reencrypt(dir, keys(KEY_B, KEY_A));
      expect(first).toMatchObject({ code: 0, stdout: expect.stringMatching(/^re-encrypted 2 secret value\(s\) under the current key; 0 already were$/m) });
      const again = await reencrypt(dir, keys(KEY_B, KEY_A));
      expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/^re-encrypted 0 secret value\(s\) under the current key; 2 already were$/m) });
      await expectAuthenticatedDelivery(rotating, admin, signingSecret);
    } finally {
      await rotating.stop();
    }

    const rotated = await startTestServer(keys(KEY_B), { dir });
    try {
      await expectAuthenticatedDelivery(rotated, admin, signingSecret);
    } finally {
      await rotated.stop();
    }
  });

  it('without the old key, attempts fail with SECRET_UNREADABLE, logged without secrets, and reencrypt changes nothing', async () => {
    const dir = freshDir();
    const { admin, signingSecret } = await registerUnderKeyA(dir);

    const wrongKey = await startTestServer(keys(KEY_B), { dir, captureLogs: true });
    try {
      const eventId = await recordEvent(wrongKey, admin);
      const attempts = await waitFor(async () => {
        const deliveries = (await wrongKey.gql(DELIVERIES, { org: admin.orgId }, admin.token)).data!.deliveries.edges.map((e: any) => e.node);
        const delivery = deliveries.find((d: any) => d.events.some((e: any) => e.id === eventId));
        return delivery?.attempts.length > 0 ? delivery.attempts : null;
      });
      expect(attempts[0]).toEqual({ outcome: 'FAILED', error: 'SECRET_UNREADABLE', statusCode: null });
      expect(receiver.requests.some((r) => r.body.includes(eventId))).toBe(false);
      expect((await fetch(new URL('/healthz', wrongKey.url))).status).toBe(200);

      const unreadable = wrongKey.logs.map((line) => JSON.parse(line)).find((l) => l.error === 'SECRET_UNREADABLE');
      expect(unreadable).toMatchObject({ level: 50, msg: expect.stringContaining('AUDITHOOK_SECRET_KEY_PREVIOUS'), detail: expect.stringContaining(secretKeyId(Buffer.from(KEY_A, 'base64'))) });
      const logs = wrongKey.logs.join('\n');
      for (const secret of [PASSWORD, BASIC.slice(6), signingSecret.slice(6), KEY_A, KEY_B]) expect(logs).not.toContain(secret);

      const read = await wrongKey.gql(SECRET, { org: admin.orgId }, admin.token);
      expect(read.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    } finally {
      await wrongKey.stop();
    }

    const refused = await reencrypt(dir, keys(KEY_B));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/reencrypt: cannot decrypt the \w[\w-]* secret of webhook wh_\w+: .*AUDITHOOK_SECRET_KEY_PREVIOUS.*; nothing was changed/);
    for (const secret of [PASSWORD, signingSecret.slice(6), KEY_A, KEY_B]) expect(refused.stderr).not.toContain(secret);

    // Nothing was changed: with the old key back as PREVIOUS, delivery authenticates again.
    const fixed = await startTestServer(keys(KEY_B, KEY_A), { dir });
    try {
      await expectAuthenticatedDelivery(fixed, admin, signingSecret);
    } finally {
      await fixed.stop();
    }
  });
});
