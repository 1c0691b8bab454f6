/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the browser, hence the DOM types.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/server.js';
import { launchBrowser, openPage, screenshotOnFailure, signIn, startConsoleServer, waitForLive, type PageWatch } from './support/browser.js';

// The console end to end in Debian's chromium against a real server on SQLite and loopback receivers:
// sign-in, webhook registration with Basic credentials, a live test delivery, a failing receiver watched to
// FAILED without reloading, redeliver, tokens, the INGEST view and sign-out.

let server: TestServer & { origin: string };
let receiver: Receiver;
let failing: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  [server, receiver, failing, browser] = await Promise.all([startConsoleServer(), startReceiver('/hooks/audit'), startReceiver('/hooks/failing'), launchBrowser()]);
  failing.respond(() => ({ status: 500, body: 'receiver is down' }));
  ({ context, page, watch } = await openPage(browser, server.origin));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await Promise.all([server?.stop(), receiver?.close(), failing?.close()]);
});

screenshotOnFailure(() => page);

describe('console in a real browser', () => {
  it('refuses a wrong token with a message, then signs in and shows the organization and role', async () => {
    await page.goto('/');
    await page.locator('#token').fill('ah_this-is-not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const error = page.locator('#token-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/not accepted/i);
    expect(await page.evaluate(() => sessionStorage.getItem('audithook.token'))).toBeNull();

    await signIn(page, server.adminToken);
    expect(await page.getByTestId('organization-name').textContent()).toBe('Acme');
    expect(await page.locator('.topbar .badge').textContent()).toBe('ADMIN');
    // The token lives in sessionStorage, never in the URL.
    expect(page.url()).not.toContain(server.adminToken);
    expect(await page.evaluate(() => sessionStorage.getItem('audithook.token'))).toBe(server.adminToken);
    await waitForLive(page);
  });

  it('registers the webhook with Basic credentials', async () => {
    await page.getByRole('link', { name: 'Webhook' }).click();
    await page.locator('#webhook-url').fill(receiver.url);
    await page.getByLabel('Basic (user and password)').check();
    await page.locator('#webhook-username').fill('hook-user');
    await page.locator('#webhook-password').fill('s3cret-pass');
    await page.getByRole('button', { name: 'Register webhook' }).click();
    await page.getByTestId('webhook-summary').waitFor();
    expect(await page.getByTestId('webhook-url').textContent()).toBe(receiver.url);
    expect(await page.getByTestId('webhook-authorization').textContent()).toMatch(/Basic\s+as\s+hook-user/);
    expect(await page.getByTestId('webhook-summary').textContent()).not.toContain('s3cret-pass');
    expect(await page.getByTestId('webhook-summary').locator('.badge').textContent()).toBe('ACTIVE');
  });

  it('reveals the signing secret only when asked, and rotates it', async () => {
    const secret = page.getByTestId('secret-value');
    expect(await secret.textContent()).not.toMatch(/^whsec_[A-Za-z0-9+/=]{20,}$/);
    await page.getByRole('button', { name: 'Reveal' }).click();
    await page.waitForFunction(() => /^whsec_[A-Za-z0-9+/=]{20,}$/.test(document.querySelector('[data-testid="secret-value"]')?.textContent ?? ''));
    const first = await secret.textContent();
    const fromApi = await server.gql(`query($org: ID!) { webhookSigningSecret(organizationId: $org) }`, { org: server.orgId });
    expect(first).toBe(fromApi.data?.webhookSigningSecret);
    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await page.waitForFunction((old) => {
      const text = document.querySelector('[data-testid="secret-value"]')?.textContent ?? '';
      return text.startsWith('whsec_') && text !== old;
    }, first);
    await page.getByRole('button', { name: 'Hide' }).click();
    expect(await secret.textContent()).toContain('•');
  });

  it('tests the registration: countdown, then the attempt arrives live with the Basic credentials', async () => {
    const before = receiver.requests.length;
    // Note every countdown text shown, however briefly (the test delay is 300 ms here).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __countdowns: string[] }).__countdowns = seen;
      new MutationObserver(() => {
        const text = document.querySelector('[data-testid="countdown"]')?.textContent;
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await page.getByRole('button', { name: 'Test registration' }).click();
    const progress = page.getByTestId('test-delivery');
    await progress.waitFor();
    const deliveryId = await progress.getAttribute('data-delivery-id');
    expect(deliveryId).toBeTruthy();
    await page.locator('[data-testid="test-delivery"] tr[data-attempt-number="1"][data-outcome="SUCCEEDED"]').waitFor();
    await page.locator('[data-testid="test-delivery"][data-status="SUCCEEDED"]').waitFor();
    expect(await progress.locator('tr[data-attempt-number="1"] td').nth(2).textContent()).toBe('200');
    const countdowns = await page.evaluate(() => (window as unknown as { __countdowns: string[] }).__countdowns);
    expect(countdowns[0], `countdowns: ${countdowns.join(' | ')}`).toMatch(/^Next attempt in 0\.\d s$/);
    const request = receiver.requests.slice(before).find((r) => r.headers['webhook-id'] === deliveryId);
    expect(request, 'the receiver got the test delivery').toBeTruthy();
    expect(request!.headers.authorization).toBe(`Basic ${Buffer.from('hook-user:s3cret-pass').toString('base64')}`);
  });

  it('follows a failing receiver: four attempts and FAILED appear without reloading', async () => {
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.locator('#webhook-url').fill(failing.url);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForFunction((url) => document.querySelector('[data-testid="webhook-url"]')?.textContent === url, failing.url);
    // Keep Basic credentials (the form's default is "Keep current").
    expect(await page.getByTestId('webhook-authorization').textContent()).toMatch(/Basic/);

    await page.getByRole('link', { name: 'Deliveries' }).click();
    await page.getByTestId('deliveries-table').waitFor();
    await page.evaluate(() => {
      (window as unknown as { __noReload: boolean }).__noReload = true;
    });

    const test = await server.gql(`mutation($org: ID!) { testWebhook(organizationId: $org) { id } }`, { org: server.orgId });
    expect(test.errors).toBeUndefined();
    const id = test.data!.testWebhook.id as string;
    // Record every state the row goes through.
    await page.evaluate((deliveryId) => {
      const seen: string[] = [];
      (window as unknown as { __seen: string[] }).__seen = seen;
      const record = () => {
        const row = document.querySelector(`tr[data-delivery-id="${deliveryId}"]`);
        const state = row ? `${row.getAttribute('data-status')} ${row.querySelector('[data-testid="attempt-count"]')?.textContent}` : null;
        if (state && seen.at(-1) !== state) seen.push(state);
      };
      new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
      record();
    }, id);

    const row = page.locator(`tr[data-delivery-id="${id}"]`);
    await page.locator(`tr[data-delivery-id="${id}"][data-status="FAILED"]`).waitFor();
    expect(await row.getByTestId('attempt-count').textContent()).toBe('4/4');
    expect(await row.locator('td').nth(5).textContent()).toBe('500');
    const seen = await page.evaluate(() => (window as unknown as { __seen: string[] }).__seen);
    expect(seen.some((s) => s.startsWith('RETRYING')), `states seen: ${seen.join(' → ')}`).toBe(true);
    expect(seen.at(-1)).toBe('FAILED 4/4');
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    expect(failing.requests.filter((r) => r.headers['webhook-id'] === id)).toHaveLength(4);

    // The chart counted them.
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="attempts-chart"]')?.getAttribute('data-total')) >= 5);

    // The detail view lists every attempt with its status code, error and response body.
    await row.locator('a').first().click();
    await page.locator('[data-testid="delivery-detail"][data-status="FAILED"]').waitFor();
    const attempts = page.locator('[data-testid="attempts-table"] tbody tr');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="attempts-table"] tbody tr').length === 4);
    for (let i = 0; i < 4; i++) {
      const cells = attempts.nth(i).locator('td');
      expect(await cells.nth(0).textContent()).toBe(String(i + 1));
      expect(await cells.nth(1).textContent()).toBe('FAILED');
      expect(await cells.nth(2).textContent()).toBe('500');
      expect(await cells.nth(6).textContent()).toContain('receiver is down');
    }
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  });

  it('redelivers the failed delivery and shows the new attempt live', async () => {
    failing.respond(() => ({ status: 200, body: 'back up' }));
    const detail = page.getByTestId('delivery-detail');
    const id = new URL(page.url()).pathname.split('/').at(-1)!;
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.locator('[data-testid="delivery-detail"][data-status="SUCCEEDED"]').waitFor();
    await page.locator('[data-testid="attempts-table"] tbody tr[data-outcome="SUCCEEDED"]').waitFor();
    expect(await detail.getAttribute('data-status')).toBe('SUCCEEDED');
    expect(failing.requests.filter((r) => r.headers['webhook-id'] === id).length).toBeGreaterThanOrEqual(5);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  });

  it('filters deliveries by status and kind', async () => {
    await page.getByRole('link', { name: '← Deliveries' }).click();
    await page.getByTestId('deliveries-table').waitFor();
    await page.getByTestId('filter-kind').selectOption('TEST');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="deliveries-table"] tbody tr[data-delivery-id]')];
      return rows.length >= 2 && rows.every((r) => r.getAttribute('data-kind') === 'TEST');
    });
    await page.getByTestId('filter-kind').selectOption('EVENTS');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="deliveries-table"] tbody tr[data-delivery-id]')];
      return rows.length >= 1 && rows.every((r) => r.getAttribute('data-kind') === 'EVENTS');
    });
    // An EVENTS delivery's detail lists the events it carried, oldest registration event included.
    await page.locator('[data-testid="deliveries-table"] tbody tr[data-delivery-id]').last().locator('a').first().click();
    await page.getByTestId('delivery-events').waitFor();
    expect(await page.getByTestId('delivery-events').textContent()).toContain('audit_log_webhook_registered');
    await page.goBack();
    await page.getByTestId('deliveries-table').waitFor();
    await page.getByTestId('filter-kind').selectOption('');
    await page.getByTestId('filter-status').selectOption('SUCCEEDED');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="deliveries-table"] tbody tr[data-delivery-id]')];
      return rows.length >= 2 && rows.every((r) => r.getAttribute('data-status') === 'SUCCEEDED');
    });
    await page.getByTestId('filter-status').selectOption('');
  });

  it('creates a token (shown once, with a copy button), lists it and revokes it', async () => {
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.locator('#token-role').selectOption('INGEST');
    await page.locator('#token-label').fill('billing-service');
    await page.getByRole('button', { name: 'Create token' }).click();
    const created = page.getByTestId('new-token-value');
    await created.waitFor();
    const token = (await created.textContent())!;
    expect((await server.gql(`query { viewer { role } }`, {}, token)).data?.viewer.role).toBe('INGEST');
    expect(await page.getByTestId('new-token').getByRole('button', { name: 'Copy' }).count()).toBe(1);
    const row = page.locator('[data-testid="tokens-table"] tr[data-token-id]', { hasText: 'billing-service' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('button', { name: 'Revoke token' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await server.gql(`query { viewer { role } }`, {}, token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('signs out, clearing the token; an INGEST token is told it may not manage the webhook', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#token').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('audithook.token'))).toBeNull();

    const created = await server.gql(`mutation($org: ID!) { createApiToken(organizationId: $org, input: { role: INGEST }) { token } }`, { org: server.orgId });
    await signIn(page, created.data!.createApiToken.token);
    const notice = page.getByTestId('ingest-notice');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/may not manage the webhook/);
    expect(await page.locator('.topbar .badge').textContent()).toBe('INGEST');
    expect(await page.getByRole('link', { name: 'Webhook' }).count()).toBe(0);
  });

  it('raised no dialog, page error or CSP violation, and requested nothing off this machine', () => {
    expect(watch.dialogs).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.offsiteRequests).toEqual([]);
  });
});
