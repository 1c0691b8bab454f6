/// <reference lib="dom" />
// Callbacks passed to page.evaluate/waitForFunction run in the browser, hence the DOM types.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../support/receiver.js';
import type { TestServer } from '../support/server.js';
import { launchBrowser, openPage, screenshotOnFailure, signIn, startConsoleServer, type PageWatch } from './support/browser.js';

// GraphiQL at /graphiql, bundled by Vite (Monaco workers included): schema docs, headers prefilled from the
// console's token, a query over HTTP and a subscription over graphql-ws.

let server: TestServer & { origin: string };
let receiver: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  [server, receiver, browser] = await Promise.all([startConsoleServer(), startReceiver(), launchBrowser()]);
  ({ context, page, watch } = await openPage(browser, server.origin));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await Promise.all([server?.stop(), receiver?.close()]);
});

screenshotOnFailure(() => page);

/** The visible text of the Monaco editors under `selector` (Monaco renders spaces as no-break spaces). */
async function editorText(page: Page, selector: string): Promise<string> {
  const texts = await page.locator(`${selector} .view-lines`).allInnerTexts();
  return texts.join('\n').replace(/\u00a0/g, ' ');
}

/** Replaces the operation in the query editor, waits until GraphiQL has parsed its name, and runs it. */
async function runOperation(page: Page, name: string, operation: string): Promise<void> {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(operation);
  // The tab takes the operation's name once GraphiQL has read the edit (it reads edits debounced).
  await page.locator('.graphiql-tab', { hasText: name }).first().waitFor();
  await page.getByRole('button', { name: /Execute query/i }).click();
}

async function responseText(page: Page): Promise<string> {
  return editorText(page, '.graphiql-response');
}

describe('GraphiQL', () => {
  it('opens with the schema docs and the header editor prefilled from the signed-in token', async () => {
    await signIn(page, server.adminToken);
    await page.goto('/graphiql');
    await page.locator('.graphiql-container').waitFor();
    await page.locator('.graphiql-query-editor .monaco-editor').first().waitFor();
    await page.locator('.graphiql-editor-tool .view-lines', { hasText: 'Bearer' }).first().waitFor();
    const headers = await editorText(page, '.graphiql-editor-tool');
    expect(headers).toContain(`Bearer ${server.adminToken}`);

    await page.getByRole('button', { name: /Show Documentation Explorer/i }).click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();
    await page.locator('.graphiql-doc-explorer').getByText('Subscription', { exact: true }).first().waitFor();
  });

  it('runs a query over HTTP with the prefilled header', async () => {
    await runOperation(page, 'WhoAmI', 'query WhoAmI { viewer { role organization { name } } }');
    await page.waitForFunction(() => document.querySelector('.graphiql-response .view-lines')?.textContent?.includes('ADMIN'));
    const text = await responseText(page);
    expect(text).toMatch(/"role":\s*"ADMIN"/);
    expect(text).toMatch(/"name":\s*"Acme"/);
  });

  it('runs a subscription over graphql-ws and shows attempts as they arrive', async () => {
    await server.gql(`mutation($org: ID!, $url: String!) { registerWebhook(organizationId: $org, input: { url: $url }) { id } }`, { org: server.orgId, url: receiver.url });
    await runOperation(page, 'LiveAttempts', `subscription LiveAttempts { deliveryAttempts(organizationId: "${server.orgId}") { attemptNumber outcome statusCode delivery { kind } } }`);
    // Wait for the socket's subscription to be in place, then make an attempt happen.
    await page.waitForTimeout(500);
    const test = await server.gql(`mutation($org: ID!) { testWebhook(organizationId: $org) { id } }`, { org: server.orgId });
    expect(test.errors).toBeUndefined();
    await page.waitForFunction(() => {
      const text = document.querySelector('.graphiql-response .view-lines')?.textContent ?? '';
      return text.includes('deliveryAttempts') && text.includes('TEST');
    });
    const text = await responseText(page);
    expect(text).toMatch(/"outcome":\s*"SUCCEEDED"/);
    expect(text).toMatch(/"statusCode":\s*200/);
  });

  it('loaded everything from this origin without a CSP violation or page error', () => {
    expect(watch.offsiteRequests).toEqual([]);
    expect(watch.cspViolations).toEqual([]);
    expect(watch.pageErrors).toEqual([]);
    expect(watch.dialogs).toEqual([]);
  });
});
