/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the browser, hence the DOM types.
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { waitFor, type TestServer } from '../support/server.js';
import { launchBrowser, openPage, ROOT_DIR, screenshotOnFailure, signIn, startConsoleServer, waitForLive } from './support/browser.js';

// Takes docs/screenshots/deliveries.png and webhook.png with the tests' browser, against a real server with
// realistic traffic. Not part of `npm test` (not a *.test.ts): run `npm run screenshots`, which runs this file with
// vitest through test/console/screenshots.config.ts. AUDITHOOK_SCREENSHOT_DIR picks another output folder.

const OUT_DIR = resolve(ROOT_DIR, process.env.AUDITHOOK_SCREENSHOT_DIR ?? join('docs', 'screenshots'));

let server: TestServer & { origin: string };
let receiver: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const ACTIONS = [
  { action: 'user_logged_in', actor: { id: 'usr_8f2a', name: 'Dana Whitfield', email: 'dana@acme.example' }, message: 'Signed in with SSO' },
  { action: 'document_shared', actor: { id: 'usr_31c9', name: 'Lee Okafor', email: 'lee@acme.example' }, message: 'Shared "Q3 plan" with finance' },
  { action: 'role_changed', actor: { id: 'usr_8f2a', name: 'Dana Whitfield', email: 'dana@acme.example' }, message: 'Granted admin to Sam Reyes' },
  { action: 'api_key_created', actor: { id: 'svc_ci', type: 'service', name: 'CI pipeline' }, message: 'Created deploy key' },
  { action: 'user_logged_out', actor: { id: 'usr_31c9', name: 'Lee Okafor', email: 'lee@acme.example' }, message: null },
];

async function record(count: number, offset: number, action?: string): Promise<void> {
  const inputs = Array.from({ length: count }, (_, i) => {
    const { message, ...rest } = ACTIONS[(offset + i) % ACTIONS.length]!;
    return {
      ...rest,
      ...(action && i === 0 ? { action, message: 'Nightly export to the data warehouse' } : message ? { message } : {}),
      context: [{ id: `doc_${offset + i}`, type: 'document', name: `Document ${offset + i}` }],
    };
  });
  const result = await server.gql(`mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`, { org: server.orgId, inputs });
  expect(result.errors).toBeUndefined();
}

async function deliveryStatuses(): Promise<string[]> {
  const result = await server.gql(`query($org: ID!) { deliveries(organizationId: $org, first: 100) { edges { node { status } } } }`, { org: server.orgId });
  return (result.data?.deliveries.edges ?? []).map((e: { node: { status: string } }) => e.node.status);
}

/** How long to let a delivery finish before the next step (the picture, not the engine, is under test here). */
const SETTLE_TIMEOUT_MS = 8000;
/** A pause between rounds, so each round makes its own delivery. */
const ROUND_GAP_MS = 500;

/** Runs `action`, then waits until it has made a new delivery and every delivery has finished (or SETTLE_TIMEOUT_MS). */
async function settle(action: () => Promise<unknown>): Promise<void> {
  const before = (await deliveryStatuses()).length;
  await action();
  await waitFor(async () => {
    const statuses = await deliveryStatuses();
    return statuses.length > before && statuses.every((s) => s !== 'PENDING' && s !== 'RETRYING');
  }, SETTLE_TIMEOUT_MS).catch(() => undefined);
  await new Promise((r) => setTimeout(r, ROUND_GAP_MS));
}

beforeAll(async () => {
  [server, receiver, browser] = await Promise.all([startConsoleServer(), startReceiver(), launchBrowser()]);
  ({ context, page } = await openPage(browser, server.origin, { width: 1280, height: 900 }));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await Promise.all([server?.stop(), receiver?.close()]);
});

screenshotOnFailure(() => page);

describe('documentation screenshots', () => {
  it('records realistic traffic', async () => {
    // A receiver that answers in 20–180 ms, like a real one; a delivery carrying `export_started` fails twice,
    // one carrying `export_failed` always fails.
    const triesById = new Map<string, number>();
    receiver.respond((request, index, response) => {
      const id = String(request.headers['webhook-id']);
      const tries = (triesById.get(id) ?? 0) + 1;
      triesById.set(id, tries);
      const status = request.body.includes('export_failed') || (request.body.includes('export_started') && tries <= 2) ? 503 : 200;
      setTimeout(() => {
        response.writeHead(status, { 'content-type': 'text/plain' });
        response.end(status === 200 ? 'accepted' : 'upstream unavailable');
      }, 20 + ((index * 37) % 160));
    });
    const registered = await server.gql(
      `mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url, authorization: { basic: { username: "acme-audit", password: "correct-horse" } } }) { id } }`,
      { org: server.orgId, url: receiver.url },
    );
    expect(registered.errors).toBeUndefined();
    for (let round = 0; round < 5; round++) await settle(() => record(1 + (round % 3) * 2, round * 3));
    await settle(() => record(4, 20, 'export_started')); // succeeds on its third attempt
    await settle(() => record(2, 30, 'export_failed')); // fails all four
    await settle(() => server.gql(`mutation($org: ID!) { testWebhook(organizationId: $org) { id } }`, { org: server.orgId }));
    await settle(() => record(3, 40));
  });

  it('takes the deliveries page', async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    await signIn(page, server.adminToken);
    await waitForLive(page);
    await page.getByRole('link', { name: 'Deliveries' }).click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="attempts-chart"]')?.getAttribute('data-total')) >= 10);
    await page.locator('[data-testid="deliveries-table"] tr[data-status="FAILED"]').waitFor();
    await page.mouse.move(0, 0);
    const file = join(OUT_DIR, 'deliveries.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(20_000);
  });

  it('takes the webhook page after a test delivery', async () => {
    await page.getByRole('link', { name: 'Webhook' }).click();
    await page.getByRole('button', { name: 'Test registration' }).click();
    await page.locator('[data-testid="test-delivery"][data-status="SUCCEEDED"]').waitFor();
    await page.mouse.move(0, 0);
    const file = join(OUT_DIR, 'webhook.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(20_000);
  });
});
