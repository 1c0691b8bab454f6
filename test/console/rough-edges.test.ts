/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the browser, hence the DOM types.
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/server.js';
import { launchBrowser, openPage, screenshotOnFailure, signIn, startConsoleServer, waitForLive, type PageWatch } from './support/browser.js';

// What a new user tripped over: loading states, an outage that never cleared, the empty chart's axis, times without a
// zone, audit-log filters lost on reload, sample events linking nowhere, raw JSON for an unknown page.

let server: TestServer & { origin: string };
let receiver: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

/** While set, the page's requests to /graphql and /healthz fail as if the server were down. */
let outage = false;
/** While set, the page's GraphQL operations whose body matches `pattern` wait for `release`. */
let held: { pattern: RegExp; gate: Promise<void>; release: () => void } | null = null;

function hold(pattern: RegExp): () => void {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  held = { pattern, gate, release };
  return () => {
    held = null;
    release();
  };
}

/** Intercepts only this page's own requests to the API (the server itself is not touched). */
async function routeApi(target: Page): Promise<void> {
  await target.route(
    (url) => url.pathname === '/graphql' || url.pathname === '/healthz',
    async (route: Route) => {
      if (outage) return route.abort('connectionrefused');
      const current = held;
      if (current && current.pattern.test(route.request().postData() ?? '')) await current.gate;
      return route.fallback();
    },
  );
}

beforeAll(async () => {
  [server, receiver, browser] = await Promise.all([startConsoleServer(), startReceiver('/hooks/audit'), launchBrowser()]);
  ({ context, page, watch } = await openPage(browser, server.origin));
  await routeApi(page);
  const inputs = Array.from({ length: 30 }, (_, i) => ({
    action: 'bulk_imported',
    time: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    actor: { id: 'u-bulk', name: 'Importer' },
    message: `row ${i}`,
  }));
  inputs.push({ action: 'user_logged_in', time: new Date(Date.UTC(2026, 0, 2)).toISOString(), actor: { id: 'u-ada', name: 'Ada' }, message: 'other' });
  const bulk = await server.gql(`mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`, { org: server.orgId, inputs });
  expect(bulk.errors).toBeUndefined();
  await signIn(page, server.adminToken);
  await waitForLive(page);
});

afterAll(async () => {
  held?.release();
  await context?.close();
  await browser?.close();
  await Promise.all([server?.stop(), receiver?.close()]);
});

screenshotOnFailure(() => page);

const auditRows = '[data-testid="audit-table"] tbody tr[data-event-id]';

describe('loading and outages', () => {
  it('says Loading… (aria-busy) on the chart and the audit log until the first answer, not "no attempts" or an empty table', async () => {
    const release = hold(/ConsoleChartDeliveries|ConsoleAuditEvents/);
    try {
      await page.getByRole('link', { name: 'Deliveries' }).click();
      const chart = page.locator('[data-testid="attempts-chart"][aria-busy="true"]');
      await chart.waitFor();
      expect(await page.getByTestId('chart-summary').textContent()).toBe('Loading…');

      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.locator('[data-testid="audit-table"][aria-busy="true"]').waitFor();
      expect(await page.locator('[data-testid="audit-table"] tbody').textContent()).toBe('Loading…');
      expect(await page.locator('[data-testid="audit-table"] [data-testid="loading"]').getAttribute('aria-busy')).toBe('true');
    } finally {
      release();
    }
    await page.locator(auditRows).first().waitFor();
    expect(await page.getByTestId('audit-table').getAttribute('aria-busy')).toBe('false');

    await page.getByRole('link', { name: 'Deliveries' }).click();
    await page.locator('[data-testid="attempts-chart"][data-loading="false"]').waitFor();
    expect(await page.getByTestId('chart-summary').textContent()).toBe('No attempts in the last hour.');
  });

  it("labels an empty chart's count axis 0 and 1 (not 1, 1, 0) and draws no latency axis", async () => {
    const countLabels = await page.locator('[data-testid="attempts-chart"] svg text[text-anchor="end"]').allTextContents();
    expect(countLabels).toEqual(['0', '1']);
    expect(await page.locator('[data-testid="attempts-chart"] svg text.axis-latency').count()).toBe(0);
  });

  it('clears "Could not reach the server" by itself once the server answers again, without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { __noReload: boolean }).__noReload = true;
    });
    outage = true;
    try {
      await page.getByRole('link', { name: 'Tokens' }).click();
      await page.locator('.alert-error', { hasText: 'Could not reach the server' }).waitFor();
      expect(await page.locator('[data-testid="tokens-table"] tr[data-token-id]').count()).toBe(0);
    } finally {
      outage = false;
    }
    await page.locator('[data-testid="tokens-table"] tr[data-token-id]').first().waitFor();
    await page.locator('.alert-error').waitFor({ state: 'detached' });

    // The same on the deliveries page, whose chart loads on its own.
    outage = true;
    try {
      await page.getByRole('link', { name: 'Deliveries' }).click();
      await page.locator('.alert-error', { hasText: 'Could not reach the server' }).waitFor();
      await page.locator('[data-testid="chart-summary"]', { hasText: 'Could not reach the server' }).waitFor();
    } finally {
      outage = false;
    }
    await page.locator('[data-testid="chart-summary"]', { hasText: 'No attempts in the last hour.' }).waitFor();
    await page.locator('.alert-error').waitFor({ state: 'detached' });
    await page.locator('[data-testid="deliveries-table"] td', { hasText: 'No deliveries yet.' }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  });
});

describe('audit log filters in the URL', () => {
  it('says the action and actor filters match exactly', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    expect(await page.locator('label[for="filter-action"]').textContent()).toBe('Action (exact match)');
    expect(await page.locator('label[for="filter-actor"]').textContent()).toBe('Actor ID (exact match)');
  });

  it('keeps filters and page in the query: reload, a shared link and back/forward show the same view', async () => {
    await page.locator('#filter-action').fill('bulk_imported');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 25, auditRows);
    expect(new URL(page.url()).searchParams.get('action')).toBe('bulk_imported');
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 5, auditRows);
    const paged = new URL(page.url());
    expect(paged.searchParams.get('after')).toBeTruthy();
    expect(paged.searchParams.get('page')).toBe('2');
    expect(await page.locator(`${auditRows} .message-cell`).first().textContent()).toBe('row 4');

    await page.reload();
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 5, auditRows);
    expect(await page.locator(`${auditRows} .message-cell`).first().textContent()).toBe('row 4');
    expect(await page.locator('#filter-action').inputValue()).toBe('bulk_imported');

    // Another tab (its own sessionStorage, so it signs in first) opening the same address sees the same rows.
    const other = await context.newPage();
    try {
      await other.goto(paged.pathname + paged.search);
      await other.locator('#token').fill(server.adminToken);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.waitForFunction((selector) => document.querySelectorAll(selector).length === 5, auditRows);
      expect(await other.locator(`${auditRows} .message-cell`).allTextContents()).toEqual(['row 4', 'row 3', 'row 2', 'row 1', 'row 0']);
    } finally {
      await other.close();
    }

    await page.goBack();
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 25, auditRows);
    expect(await page.locator(`${auditRows} .message-cell`).first().textContent()).toBe('row 29');
    await page.goBack();
    await page.waitForFunction((selector) => [...document.querySelectorAll(`${selector} td:nth-child(2)`)].some((c) => c.textContent === 'user_logged_in'), auditRows);
    expect(await page.locator('#filter-action').inputValue()).toBe('');
    await page.goForward();
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 25, auditRows);
    expect(await page.locator('#filter-action').inputValue()).toBe('bulk_imported');
  });

  it('keeps a time range in the query as ISO times', async () => {
    await page.locator('#filter-from').fill('2026-01-01T00:10:00');
    await page.locator('#filter-to').fill('2026-01-01T00:14:30');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForFunction((selector) => document.querySelectorAll(selector).length === 5, auditRows);
    const url = new URL(page.url());
    expect(url.searchParams.get('from')).toBe('2026-01-01T00:10:00.000Z');
    expect(url.searchParams.get('to')).toBe('2026-01-01T00:14:30.000Z');
  });
});

describe('times', () => {
  it("shows times in the browser's zone with its name, and the exact ISO time on hover", async () => {
    const { context: newYork, page: nyPage } = await openPage(browser, server.origin, { timezoneId: 'America/New_York' });
    try {
      await signIn(nyPage, server.adminToken);
      await nyPage.goto('/audit-log?action=bulk_imported');
      const first = nyPage.locator(`${auditRows} time`).first();
      await first.waitFor();
      expect(await first.textContent()).toBe('2025-12-31 19:29:00 EST');
      expect(await first.getAttribute('title')).toBe('2026-01-01T00:29:00.000Z');
      expect(await nyPage.locator('label[for="filter-from"]').textContent()).toBe('From (EST)');
    } finally {
      await newYork.close();
    }
    // The default test browser runs in UTC, and says so.
    await page.locator(`${auditRows} time`).first().waitFor();
    expect(await page.locator(`${auditRows} time`).first().textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
  });
});

describe('TEST deliveries', () => {
  it('lists the sample activities inline, marked as not stored, with no link to an audit-log page', async () => {
    const registered = await server.gql(`mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`, { org: server.orgId, url: receiver.url });
    expect(registered.errors).toBeUndefined();
    const test = await server.gql(`mutation($org: ID!) { testWebhook(organizationId: $org) { id } }`, { org: server.orgId });
    expect(test.errors).toBeUndefined();
    await page.goto(`/deliveries/${test.data!.testWebhook.id as string}`);
    const events = page.getByTestId('delivery-events');
    await events.waitFor();
    expect(await events.locator('tbody tr').count()).toBeGreaterThanOrEqual(2);
    expect(await events.locator('a').count()).toBe(0);
    expect(await events.locator('tbody tr').first().textContent()).toContain('sample, not stored');
    expect(await page.getByTestId('sample-note').textContent()).toMatch(/not stored in the audit log/);
  });
});

describe('unknown pages and the favicon', () => {
  it("answers an unknown path with the console's own page-not-found view (status 404)", async () => {
    const response = await page.goto('/settings/billing');
    expect(response?.status()).toBe(404);
    expect(response?.headers()['content-type']).toBe('text/html; charset=utf-8');
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.getByTestId('not-found').waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Page not found');
    expect(await page.getByTestId('not-found').textContent()).toContain('/settings/billing');
    await page.getByTestId('not-found').getByRole('link', { name: 'deliveries' }).click();
    await page.getByTestId('deliveries-table').waitFor();
  });

  it('serves /favicon.ico for the console and GraphiQL', async () => {
    const icon = await fetch(`${server.origin}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/x-icon');
    const bytes = Buffer.from(await icon.arrayBuffer());
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0]));
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto('/graphiql');
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor();
    expect(await page.locator('link[rel="icon"][href="/favicon.ico"]').count()).toBe(1);
    await page.goto('/webhook');
    await page.getByTestId('webhook-summary').waitFor();
    expect(failed).toEqual([]);
  });

  it('raised no dialog, page error or CSP violation', () => {
    expect(watch.dialogs).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.offsiteRequests).toEqual([]);
  });
});
