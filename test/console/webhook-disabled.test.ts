/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the browser, hence the DOM types.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/server.js';
import { waitFor } from '../support/server.js';
import { describeViolations, horizontalOverflow, seriousViolations } from './support/axe.js';
import { launchBrowser, openPage, screenshotOnFailure, signIn, startConsoleServer, waitForLive, type PageWatch } from './support/browser.js';

// A webhook disabled by its receiver's 410 Gone, seen in Debian's chromium: the banner with the reason (accessible,
// fitting a phone), and its re-enable button sending the events that waited.

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 860 };

let server: TestServer & { origin: string };
let receiver: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let gone = true;

beforeAll(async () => {
  [server, receiver, browser] = await Promise.all([startConsoleServer({ AUDITHOOK_RETRY_DELAYS: '1s,1s,1s' }), startReceiver('/hooks/audit'), launchBrowser()]);
  receiver.respond(() => (gone ? { status: 410, body: 'gone' } : { status: 200 }));
  ({ context, page, watch } = await openPage(browser, server.origin, DESKTOP));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await Promise.all([server?.stop(), receiver?.close()]);
});

screenshotOnFailure(() => page);

describe('a disabled webhook in the console', () => {
  it('shows the banner with the reason as soon as the 410 disables it', async () => {
    await signIn(page, server.adminToken);
    await waitForLive(page);
    await page.getByRole('link', { name: 'Webhook' }).click();
    await page.getByTestId('webhook-form').waitFor();
    await page.locator('#webhook-url').fill(receiver.url);
    await page.getByRole('button', { name: 'Register webhook' }).click();
    await page.getByTestId('webhook-summary').waitFor();

    // The registration's own event goes out, the receiver answers 410, and the page follows the attempt live.
    const banner = page.getByTestId('webhook-disabled-banner');
    await banner.waitFor();
    expect(await banner.getAttribute('data-reason')).toBe('HTTP_410');
    expect(await page.getByRole('heading', { name: 'Webhook disabled' }).isVisible()).toBe(true);
    expect(await page.getByTestId('webhook-disabled-reason').textContent()).toMatch(/410 Gone.*Turned off .*; reason HTTP_410\./);
    expect(await page.getByTestId('webhook-summary').locator('.badge').textContent()).toBe('DISABLED');
    expect(await page.getByTestId('webhook-failing-since').isVisible()).toBe(true);
  });

  it('is accessible (axe-core, WCAG 2.1 AA) and fits a phone', async () => {
    const desktop = await seriousViolations(page);
    expect(desktop, describeViolations(desktop)).toEqual([]);
    await page.setViewportSize(PHONE);
    try {
      expect(await horizontalOverflow(page)).toEqual({ overflowPx: 0, culprits: [] });
      const phone = await seriousViolations(page);
      expect(phone, describeViolations(phone)).toEqual([]);
    } finally {
      await page.setViewportSize(DESKTOP);
    }
  });

  it('re-enables with one click, and the events that waited are delivered', async () => {
    const recorded = await server.gql(`mutation($org: ID!, $inputs: [AuditEventInput!]!) { recordAuditEvents(organizationId: $org, inputs: $inputs) { id } }`, {
      org: server.orgId,
      inputs: [{ action: 'user_logged_in', actor: { id: 'usr_waiting' } }],
    });
    const waitingId = recorded.data!.recordAuditEvents[0].id as string;
    expect(receiver.eventIds()).not.toContain(waitingId);

    gone = false;
    await page.getByRole('button', { name: 'Re-enable webhook' }).click();
    await page.getByTestId('webhook-disabled-banner').waitFor({ state: 'detached' });
    await page.waitForFunction(() => document.querySelector('[data-testid="webhook-summary"] .badge')?.textContent === 'ACTIVE');
    await waitFor(() => receiver.eventIds().includes(waitingId));
    expect(watch.pageErrors).toEqual([]);
    expect(watch.consoleErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.dialogs).toEqual([]);
  });
});
