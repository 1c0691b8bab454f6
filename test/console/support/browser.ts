import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { beforeEach, type TestContext } from 'vitest';
import type { AppOptions } from '../../../src/app.js';
import { createConsoleRoutes } from '../../../src/web/console-routes.js';
import { startTestServer, type TestServer } from '../../support/server.js';

/** The repository root. */
export const ROOT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** Where the console is built and served from. */
export const CONSOLE_DIST_DIR = join(ROOT_DIR, 'dist', 'console');
/** Where failing browser tests leave a screenshot (git-ignored). */
export const FAILURE_SCREENSHOT_DIR = join(ROOT_DIR, 'test-results', 'console');

/** Debian's chromium (apt-get install chromium); playwright-core downloads no browser of its own. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Headless, no sandbox (root in CI), and nothing that would reach the network on its own. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** A console build lock older than this was left by a killed run. */
const STALE_LOCK_MS = 90_000;

/** How long a browser step may wait for the page (live attempts arrive within a second or two). */
export const UI_TIMEOUT_MS = 15_000;

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the console when dist/console is missing or older than src/console (npm ci builds it; this saves a
 * forgotten `npm run build` locally). A lock folder keeps parallel test files from building at the same time.
 */
export function ensureConsoleBuilt(): void {
  const index = join(CONSOLE_DIST_DIR, 'index.html');
  const fresh = () => existsSync(index) && existsSync(join(CONSOLE_DIST_DIR, 'graphiql.html')) && statSync(index).mtimeMs >= newestMtimeMs(join(ROOT_DIR, 'src', 'console'));
  if (fresh()) return;
  const lock = join(ROOT_DIR, 'test-results', '.console-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run: no build takes this long.
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) rmdirSync(lock);
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held for over 2 minutes; remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
      if (fresh()) return;
    }
  }
  try {
    if (!fresh()) execFileSync('npm', ['run', 'build:console'], { cwd: ROOT_DIR, stdio: 'pipe' });
  } finally {
    rmdirSync(lock);
  }
}

/** A real audithook serving the console (routes as app.ts wires them), on an ephemeral port. */
export async function startConsoleServer(env: Record<string, string> = {}, options: AppOptions = {}): Promise<TestServer & { origin: string }> {
  ensureConsoleBuilt();
  const server = await startTestServer(env, { ...options, routes: [createConsoleRoutes()] });
  return Object.assign(server, { origin: new URL(server.url).origin });
}

/** Debian's chromium through playwright-core. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium (see .ci/run)`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
}

/** What a page did that a test may want to assert on: dialogs (alert!), errors, CSP violations, non-loopback requests. */
export interface PageWatch {
  dialogs: string[];
  pageErrors: string[];
  consoleErrors: string[];
  cspViolations: string[];
  offsiteRequests: string[];
}

/** A fresh browser context (own sessionStorage) and page on the server, with everything watched. */
export async function openPage(
  browser: Browser,
  origin: string,
  options: { width?: number; height?: number; timezoneId?: string; deviceScaleFactor?: number } = {},
): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 860 },
    baseURL: origin,
    timezoneId: options.timezoneId ?? 'UTC',
    deviceScaleFactor: options.deviceScaleFactor ?? 1,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const watch: PageWatch = { dialogs: [], pageErrors: [], consoleErrors: [], cspViolations: [], offsiteRequests: [] };
  page.on('dialog', (dialog) => {
    watch.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => undefined);
  });
  page.on('pageerror', (error) => watch.pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) watch.cspViolations.push(text);
    else watch.consoleErrors.push(text);
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['data:', 'blob:'].includes(url.protocol) && url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') watch.offsiteRequests.push(request.url());
  });
  // Nothing leaves the machine, whatever a bundle might try.
  await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])/, (route) => route.abort());
  return { context, page, watch };
}

/** Keeps a screenshot of `page()` under test-results/console/ when the current test fails. */
export function screenshotOnFailure(page: () => Page | undefined): void {
  beforeEach((context: TestContext) => {
    context.onTestFailed(async () => {
      const current = page();
      if (!current || current.isClosed()) return;
      mkdirSync(FAILURE_SCREENSHOT_DIR, { recursive: true });
      const name = `${context.task.file?.name.split('/').at(-1)?.replace(/\.test\.ts$/, '') ?? 'test'}--${context.task.name}`.replace(/[^a-z0-9-]+/gi, '-').slice(0, 120);
      await current.screenshot({ path: join(FAILURE_SCREENSHOT_DIR, `${name}.png`), fullPage: true }).catch(() => undefined);
    });
  });
}

/** Signs in through the form and waits for the signed-in header. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto('/');
  await page.locator('#token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('organization-name').waitFor();
}

/** Waits until the deliveryAttempts subscription is connected (so no attempt is missed). */
export async function waitForLive(page: Page): Promise<void> {
  await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor();
}
