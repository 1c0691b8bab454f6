/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the browser, hence the DOM types.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { waitFor, type TestServer } from '../support/server.js';
import { describeViolations, seriousViolations } from './support/axe.js';
import { launchBrowser, openPage, screenshotOnFailure, signIn, startConsoleServer, type PageWatch } from './support/browser.js';

// The delivery page shows the request as sent (URL and headers per attempt, the body) and copies it as a
// curl command without the secret; pasted into a shell, that command sends the same body to the receiver.

const PASSWORD = 'console-pw-Hq52';

let server: TestServer & { origin: string };
let first: Receiver;
let second: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  [server, first, second, browser] = await Promise.all([startConsoleServer({ AUDITHOOK_RETRY_DELAYS: '100ms,100ms,100ms' }), startReceiver('/hooks/one'), startReceiver('/hooks/two'), launchBrowser()]);
  ({ context, page, watch } = await openPage(browser, server.origin));
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await Promise.all([server?.stop(), first?.close(), second?.close()]);
});

screenshotOnFailure(() => page);

describe('the delivery page shows the request as sent', () => {
  it('URL and headers per attempt (old attempts keep the old URL), the body, and copy as curl without the secret', async () => {
    const gql = (q: string, v: Record<string, unknown> = {}) => server.gql(q, { org: server.orgId, ...v });
    const registered = await gql(`mutation($org: ID!, $input: RegisterWebhookInput!) { registerWebhook(organizationId: $org, input: $input) { id } }`, {
      input: { url: first.url, authorization: { basic: { username: 'hook-user', password: PASSWORD } } },
    });
    expect(registered.errors).toBeUndefined();
    await waitFor(() => first.requests.length >= 1); // the registration event, sent
    first.respond(() => ({ status: 503, body: 'down' }));
    const recorded = await gql(`mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`, {
      inputs: [{ action: 'quote_test', actor: { id: "o'brien" }, message: "it's got 'quotes' and $dollars" }],
    });
    const eventId = recorded.data!.recordAuditEvents[0].id;
    const firstRequest = await waitFor(() => first.requests.find((r) => r.body.includes(eventId)));
    const deliveryId = String(firstRequest.headers['webhook-id']);
    await gql(`mutation($org: ID!, $input: UpdateWebhookInput!) { updateWebhook(organizationId: $org, input: $input) { id } }`, { input: { url: second.url } });
    const received = await waitFor(() => second.requests.find((r) => r.headers['webhook-id'] === deliveryId), 10_000);

    await signIn(page, server.adminToken);
    await page.goto(`/deliveries/${deliveryId}`);
    await page.locator('[data-testid="delivery-detail"][data-status="SUCCEEDED"]').waitFor();
    const view = page.getByTestId('request-view');
    await view.waitFor();

    // Newest attempt first: it went to the edited URL; the first attempt keeps the first URL.
    expect(await page.getByTestId('request-url').textContent()).toBe(`POST ${second.url}`);
    const options = await page.getByTestId('request-attempt').locator('option').allTextContents();
    expect(options.at(-1)).toBe('#1');
    await page.getByTestId('request-attempt').selectOption({ label: '#1' });
    await page.waitForFunction((url) => document.querySelector('[data-testid="request-url"]')?.textContent === `POST ${url}`, first.url);
    const headerCells = await page.locator('[data-testid="request-headers"] tbody tr').evaluateAll((rows) => rows.map((row) => [...row.querySelectorAll('td')].map((td) => td.firstChild?.textContent ?? '')));
    expect(headerCells.map(([name]) => name)).toEqual(['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'authorization']);
    expect(Object.fromEntries(headerCells)).toMatchObject({ 'webhook-id': deliveryId, authorization: 'Basic', 'webhook-signature': firstRequest.headers['webhook-signature'] });
    expect(JSON.parse((await page.getByTestId('request-body').textContent())!)).toEqual(JSON.parse(received.body));

    // Back to the newest attempt, then copy it as curl.
    await page.getByTestId('request-attempt').selectOption({ index: 0 });
    await page.getByRole('button', { name: 'Copy as curl' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(await page.getByTestId('curl-command').textContent());
    expect(copied).toContain("-H 'authorization: Basic <secret>'");
    const credentials = Buffer.from(`hook-user:${PASSWORD}`).toString('base64');
    expect(copied).not.toContain(PASSWORD);
    expect(copied).not.toContain(credentials);
    expect(await page.locator('body').textContent()).not.toContain(credentials);

    // The copied command, run by a real shell and curl, sends the same body to the receiver.
    const before = second.requests.length;
    // Asynchronously: the receiver answers from this process's event loop.
    await promisify(execFile)('sh', ['-c', `${copied} --silent --show-error --max-time 10 --output /dev/null`], { timeout: 15_000 });
    const replayed = await waitFor(() => second.requests[before]);
    expect(replayed.body).toBe(received.body);
    expect(replayed.headers['webhook-signature']).toBe(received.headers['webhook-signature']);
    expect(replayed.headers.authorization).toBe('Basic <secret>');

    const violations = await seriousViolations(page);
    expect(violations, describeViolations(violations)).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
  });
});
