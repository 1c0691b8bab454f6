/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the browser, hence the DOM types.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestServer } from '../support/server.js';
import { launchBrowser, openPage, screenshotOnFailure, signIn, startConsoleServer, type PageWatch } from './support/browser.js';

// A server that refuses private destinations (as in production) and runs no delivery, so nothing is ever sent:
// API errors shown by the field they concern, the audit log's filters, paging and detail, and hostile
// event text rendered as text.

/** A host name the stubbed resolver maps to a public address; with delivery off nothing connects to it. */
const PUBLIC_HOST = 'hooks.example.test';
const XSS_MESSAGE = '<img src=x onerror=alert(1)>';
const XSS_ACTOR = '<script>alert(2)</script>';
const XSS_TARGET = '<b onmouseover=alert(3)>bold</b>';

let server: TestServer & { origin: string };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startConsoleServer(
      { AUDITHOOK_ALLOW_PRIVATE_DESTINATIONS: 'false' },
      { deliver: false, destinationPolicy: { resolveHost: async (host) => (host === PUBLIC_HOST ? ['93.184.216.34'] : []) } },
    ),
    launchBrowser(),
  ]);
  ({ context, page, watch } = await openPage(browser, server.origin));
  await signIn(page, server.adminToken);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
});

screenshotOnFailure(() => page);

describe('API errors next to their field', () => {
  it('refuses a private URL (DESTINATION_NOT_ALLOWED) by the URL field', async () => {
    await page.getByRole('link', { name: 'Webhook' }).click();
    await page.locator('#webhook-url').fill('https://10.0.0.1/x');
    await page.getByRole('button', { name: 'Register webhook' }).click();
    const error = page.locator('#webhook-url-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/10\.0\.0\.1.*not a public internet address.*DESTINATION_NOT_ALLOWED/);
    expect(await page.locator('#webhook-url').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#webhook-url').getAttribute('aria-describedby')).toBe('webhook-url-error');
    expect(await page.getByTestId('webhook-form-error').count()).toBe(0);
    expect((await server.gql(`query($org: ID!) { webhook(organizationId: $org) { id } }`, { org: server.orgId })).data?.webhook).toBeNull();
  });

  it('shows BAD_USER_INPUT on the Basic user name (input.authorization.basic.username)', async () => {
    await page.locator('#webhook-url').fill(`https://${PUBLIC_HOST}/audit`);
    await page.getByLabel('Basic (user and password)').check();
    await page.locator('#webhook-username').fill('user:with-colon');
    await page.locator('#webhook-password').fill('pw');
    await page.getByRole('button', { name: 'Register webhook' }).click();
    const error = page.locator('#webhook-username-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/colon.*BAD_USER_INPUT/);
    expect(await page.locator('#webhook-url-error').count()).toBe(0);
  });

  it('shows WEBHOOK_ALREADY_REGISTERED by the register button when another admin registered first', async () => {
    const other = await server.gql(`mutation($org: ID!) { registerWebhook(organizationId: $org, input: { url: "https://${PUBLIC_HOST}/other" }) { id } }`, { org: server.orgId });
    expect(other.errors).toBeUndefined();
    await page.locator('#webhook-username').fill('user');
    await page.getByRole('button', { name: 'Register webhook' }).click();
    const error = page.getByTestId('webhook-form-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/WEBHOOK_ALREADY_REGISTERED/);
  });

  it('removes the webhook only after confirmation', async () => {
    await page.reload();
    await page.getByTestId('webhook-summary').waitFor();
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await server.gql(`query($org: ID!) { webhook(organizationId: $org) { id } }`, { org: server.orgId })).data?.webhook).not.toBeNull();
    await page.getByRole('button', { name: 'Remove', exact: true }).click();
    await page.getByRole('button', { name: 'Remove webhook' }).click();
    await page.getByTestId('webhook-form').waitFor();
    expect((await server.gql(`query($org: ID!) { webhook(organizationId: $org) { id } }`, { org: server.orgId })).data?.webhook).toBeNull();
  });
});

describe('audit log', () => {
  beforeAll(async () => {
    const inputs = Array.from({ length: 30 }, (_, i) => ({
      action: 'bulk_imported',
      time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      actor: { id: 'u-bulk', name: 'Importer' },
      message: `row ${i}`,
    }));
    const bulk = await server.gql(`mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`, { org: server.orgId, inputs });
    expect(bulk.errors).toBeUndefined();
    const xss = await server.gql(
      `mutation($org: ID!, $input: AuditEventInput!) { recordAuditEvent(organizationId: $org, input: $input) { id } }`,
      {
        org: server.orgId,
        input: {
          action: 'comment_posted',
          actor: { id: 'u-xss', name: XSS_ACTOR, email: 'mallory@example.test' },
          message: XSS_MESSAGE,
          context: [{ id: 'c1', type: 'comment', name: XSS_TARGET, attributes: { html: '<svg onload=alert(4)>' } }],
          location: { ip: '198.51.100.7', city: '<i>Paris</i>' },
        },
      },
    );
    expect(xss.errors).toBeUndefined();
  });

  it('renders an event message of <img src=x onerror=alert(1)> as text, in the table and the detail', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    const row = page.locator('[data-testid="audit-table"] tr', { hasText: 'comment_posted' });
    await row.waitFor();
    expect(await row.locator('.message-cell').textContent()).toBe(XSS_MESSAGE);
    expect(await row.locator('td').nth(2).textContent()).toBe(XSS_ACTOR);
    expect(await row.locator('td').nth(3).textContent()).toBe(XSS_TARGET);
    await row.locator('a').first().click();
    const message = page.getByTestId('event-message');
    await message.waitFor();
    expect(await message.textContent()).toBe(XSS_MESSAGE);
    expect(await page.getByTestId('event-detail').textContent()).toContain(XSS_ACTOR);
    expect(await page.locator('pre.json').textContent()).toContain('<svg onload=alert(4)>');
    expect(await page.locator('main').textContent()).toContain('<i>Paris</i>');
    // None of it became markup.
    const injected = await page.evaluate(() => ({
      img: document.querySelectorAll('img[src="x"]').length,
      script: document.querySelectorAll('#root script').length,
      bold: document.querySelectorAll('#root b').length,
      svg: document.querySelectorAll('#root svg[onload]').length,
      italic: document.querySelectorAll('#root i').length,
    }));
    expect(injected).toEqual({ img: 0, script: 0, bold: 0, svg: 0, italic: 0 });
    expect(watch.dialogs).toEqual([]);
  });

  it('filters by action and pages with cursors', async () => {
    await page.getByRole('link', { name: '← Audit log' }).click();
    await page.locator('#filter-action').fill('bulk_imported');
    await page.getByRole('button', { name: 'Apply' }).click();
    const rows = page.locator('[data-testid="audit-table"] tbody tr[data-event-id]');
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('[data-testid="audit-table"] tbody tr[data-event-id] td:nth-child(2)')];
      return cells.length === 25 && cells.every((c) => c.textContent === 'bulk_imported');
    });
    expect(await rows.first().locator('.message-cell').textContent()).toBe('row 29');
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr[data-event-id]').length === 5);
    expect(await rows.first().locator('.message-cell').textContent()).toBe('row 4');
    expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr[data-event-id]').length === 25);
  });

  it('filters by time range and by actor', async () => {
    await page.locator('#filter-from').fill('2026-01-01T00:10:00');
    await page.locator('#filter-to').fill('2026-01-01T00:14:30');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-table"] tbody tr[data-event-id]').length === 5);
    const messages = await page.locator('[data-testid="audit-table"] tbody tr[data-event-id] .message-cell').allTextContents();
    expect(messages).toEqual(['row 14', 'row 13', 'row 12', 'row 11', 'row 10']);

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('#filter-actor').fill('u-xss');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('[data-testid="audit-table"] tbody tr[data-event-id]');
      return rows.length === 1 && rows[0]!.textContent!.includes('comment_posted');
    });
  });

  it('raised no dialog, page error or CSP violation', () => {
    expect(watch.dialogs).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.offsiteRequests).toEqual([]);
  });
});
