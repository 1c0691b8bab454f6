/// <reference lib="dom" />
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { waitFor, type TestServer } from '../support/server.js';
import { describeViolations, seriousViolations } from './support/axe.js';
import { launchBrowser, openPage, screenshotOnFailure, signIn, startConsoleServer } from './support/browser.js';

// The console offers retryDelivery on a RETRYING delivery (table row and delivery page) and
// recoverDeliveries on the deliveries page.

const REGISTER = `mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`;
const RECORD = `mutation($org: ID!, $action: String!) { recordAuditEvent(organizationId: $org, input: { action: $action, actor: { id: "u" } }) { id } }`;
const DELIVERY = `query($org: ID!, $id: ID!) { delivery(organizationId: $org, id: $id) { status attemptCount attempts { attemptNumber outcome } } }`;

type ConsoleServer = TestServer & { origin: string };
let browser: Browser;
let hourly: ConsoleServer; // retries an hour apart: a RETRYING delivery stays so until asked
let quick: ConsoleServer; // retries 100 ms apart: a failing delivery is FAILED within a second
let receiver: Receiver;
const pages: { context: BrowserContext; page: Page }[] = [];

beforeAll(async () => {
  [hourly, quick, receiver, browser] = await Promise.all([
    startConsoleServer({ AUDITHOOK_RETRY_DELAYS: '1h,1h,1h' }),
    startConsoleServer({ AUDITHOOK_RETRY_DELAYS: '100ms,100ms,100ms' }),
    startReceiver(),
    launchBrowser(),
  ]);
});
afterAll(async () => {
  for (const { context } of pages) await context.close();
  await browser?.close();
  await Promise.all([hourly?.stop(), quick?.stop(), receiver?.close()]);
});

let current: Page | undefined;
screenshotOnFailure(() => current);

async function pageFor(server: ConsoleServer): Promise<Page> {
  const opened = await openPage(browser, server.origin);
  pages.push(opened);
  current = opened.page;
  await signIn(opened.page, server.adminToken);
  return opened.page;
}

/** Fails every request whose events include one of `failing`'s actions; answers 200 otherwise. */
let failing = new Set<string>();
function failSelected(): void {
  receiver.respond((request) => {
    const actions: string[] = Array.isArray(request.json?.data) ? request.json.data.map((e: { attributes: { action: string } }) => e.attributes.action) : [];
    return actions.some((a) => failing.has(a)) ? { status: 500, body: 'down' } : { status: 200, body: 'ok' };
  });
}

/** Records `action` and waits until its delivery's first attempt is recorded; returns the delivery id. */
async function deliveryOf(server: ConsoleServer, action: string): Promise<string> {
  const recorded = await server.gql(RECORD, { org: server.orgId, action });
  expect(recorded.errors).toBeUndefined();
  const eventId = recorded.data!.recordAuditEvent.id as string;
  const request = await waitFor(() => receiver.requests.find((r) => r.body.includes(eventId)));
  return String(request.headers['webhook-id']);
}

describe('retry now', () => {
  it('on a RETRYING row of the deliveries table and on its delivery page: the planned attempt runs at once', async () => {
    failSelected();
    expect((await hourly.gql(REGISTER, { org: hourly.orgId, input: { url: receiver.url } })).errors).toBeUndefined();
    failing = new Set(['console_retry_row', 'console_retry_page']);
    const fromRow = await deliveryOf(hourly, 'console_retry_row');
    const fromPage = await deliveryOf(hourly, 'console_retry_page');
    await waitFor(async () => (await hourly.gql(DELIVERY, { org: hourly.orgId, id: fromPage })).data!.delivery.status === 'RETRYING');
    failing = new Set();

    const page = await pageFor(hourly);
    await page.goto('/deliveries');
    const row = page.locator(`tr[data-delivery-id="${fromRow}"]`);
    await page.locator(`tr[data-delivery-id="${fromRow}"][data-status="RETRYING"]`).waitFor();
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    await row.getByTestId('retry-now').click();
    await page.locator(`tr[data-delivery-id="${fromRow}"][data-status="SUCCEEDED"]`).waitFor();
    expect((await hourly.gql(DELIVERY, { org: hourly.orgId, id: fromRow })).data!.delivery).toMatchObject({
      status: 'SUCCEEDED',
      attemptCount: 2,
      attempts: [{ attemptNumber: 2, outcome: 'SUCCEEDED' }, { attemptNumber: 1, outcome: 'FAILED' }],
    });

    await page.goto(`/deliveries/${fromPage}`);
    await page.locator('[data-testid="delivery-detail"][data-status="RETRYING"]').waitFor();
    await page.getByTestId('retry-now').click();
    await page.locator('[data-testid="delivery-detail"][data-status="SUCCEEDED"]').waitFor();
    await expect(page.getByTestId('retry-now').count()).resolves.toBe(0);
  });
});

describe('retry now while the table is fetched again', () => {
  it("shows the attempt that came live during the refetch, not the older answer of a query that ran before it", async () => {
    // The webhook of `hourly` is registered by the test above.
    failSelected();
    failing = new Set(['console_retry_race']);
    const id = await deliveryOf(hourly, 'console_retry_race');
    await waitFor(async () => (await hourly.gql(DELIVERY, { org: hourly.orgId, id })).data!.delivery.status === 'RETRYING');
    // The retried request is held at the receiver until the table's refetch has run on the server.
    let refetchRan: () => void = () => undefined;
    const refetched = new Promise<void>((resolve) => (refetchRan = resolve));
    receiver.respond((request, _index, response) => {
      if (!request.body.includes('console_retry_race')) return { status: 200, body: 'ok' };
      void refetched.then(() => response.writeHead(200).end('ok'));
    });

    const page = await pageFor(hourly);
    // The live attempt of this delivery, as the browser's WebSocket receives it.
    let liveArrived: () => void = () => undefined;
    const live = new Promise<void>((resolve) => (liveArrived = resolve));
    page.on('websocket', (socket) => socket.on('framereceived', ({ payload }) => String(payload).includes(id) && String(payload).includes('SUCCEEDED') && liveArrived()));
    await page.goto('/deliveries');
    await page.locator(`tr[data-delivery-id="${id}"][data-status="RETRYING"]`).waitFor();
    // The refetch that follows the retry runs now (RETRYING) but is answered only after the live attempt arrived.
    let held = 0;
    await page.route('**/graphql', async (route) => {
      if (route.request().postDataJSON()?.operationName !== 'ConsoleDeliveries') return route.continue();
      held++;
      const answer = await route.fetch();
      refetchRan();
      await live;
      await route.fulfill({ response: answer });
    });
    await page.locator(`tr[data-delivery-id="${id}"]`).getByTestId('retry-now').click();
    await page.locator(`tr[data-delivery-id="${id}"][data-status="SUCCEEDED"]`).waitFor();
    expect(held).toBeGreaterThan(0); // the table was fetched again, and answered late
    await page.unroute('**/graphql');
  });
});

describe('recover failed deliveries', () => {
  it('sends every FAILED delivery since the chosen time again and says how many', async () => {
    failSelected();
    expect((await quick.gql(REGISTER, { org: quick.orgId, input: { url: receiver.url } })).errors).toBeUndefined();
    failing = new Set(['console_recover_a', 'console_recover_b']);
    const ids = [await deliveryOf(quick, 'console_recover_a'), await deliveryOf(quick, 'console_recover_b')];
    for (const id of ids) await waitFor(async () => (await quick.gql(DELIVERY, { org: quick.orgId, id })).data!.delivery.status === 'FAILED', 10_000);
    failing = new Set();

    const page = await pageFor(quick);
    await page.goto('/deliveries');
    await page.getByTestId('recover-since').waitFor();
    await page.getByTestId('recover-submit').click();
    await page.getByTestId('recover-result').waitFor();
    await expect(page.getByTestId('recover-result').textContent()).resolves.toBe('2 failed deliveries queued again');
    for (const id of ids) await waitFor(async () => (await quick.gql(DELIVERY, { org: quick.orgId, id })).data!.delivery.status === 'SUCCEEDED', 10_000);
    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);

    // A time in the future is refused with the server's message; nothing is recovered.
    await page.getByTestId('recover-since').fill('2999-01-01T00:00');
    await page.getByTestId('recover-submit').click();
    await page.locator('.recover-form [role="alert"]').waitFor();
    await expect(page.locator('.recover-form [role="alert"]').textContent()).resolves.toMatch(/future/);
  });
});
