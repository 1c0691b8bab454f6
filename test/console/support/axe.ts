/// <reference lib="dom" />
// The callback passed to page.evaluate runs in the browser, hence the DOM types.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

/** axe-core's browser build, read once. */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The WCAG 2.1 A and AA rules. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * Rules outside the WCAG tags that the console also keeps, at any impact: one main landmark per page, and no table
 * header without text (both were reported against the console).
 */
export const CONSOLE_EXTRA_RULES = ['landmark-one-main', 'empty-table-header'];

/** One axe-core violation as a test failure lists it. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Runs axe-core (WCAG 2.1 A/AA) on the page as it is now and returns its serious and critical violations, plus any
 * violation of `extraRules` (default CONSOLE_EXTRA_RULES).
 * The source is evaluated through the DevTools protocol, which the page's CSP (script-src 'self') does not govern,
 * so the CSP stays on for the page itself.
 */
export async function seriousViolations(page: Page, options: { exclude?: string[]; extraRules?: string[] } = {}): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object');
  if (!loaded) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async ({ tags, exclude, extraRules }) => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[] }> } }).axe;
    const context = exclude.length ? { include: [['html']], exclude: exclude.map((selector) => [selector]) } : document;
    const result = await axe.run(context, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
    const extra = extraRules.length ? await axe.run(context, { runOnly: { type: 'rule', values: extraRules }, resultTypes: ['violations'] }) : { violations: [] };
    return [...result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), ...extra.violations].map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.map(String).join(' ')}: ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`),
    }));
  }, { tags: AXE_TAGS, exclude: options.exclude ?? [], extraRules: options.extraRules ?? CONSOLE_EXTRA_RULES });
  return violations;
}

/** A readable list of violations for an assertion message. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.join('\n  ')}`).join('\n');
}

/** How far the page is wider than its viewport (0 when nothing overflows horizontally), with the widest culprits. */
export async function horizontalOverflow(page: Page): Promise<{ overflowPx: number; culprits: string[] }> {
  return page.evaluate(() => {
    const width = window.innerWidth;
    const overflowPx = Math.max(0, document.documentElement.scrollWidth - width);
    const culprits: string[] = [];
    if (overflowPx > 0) {
      for (const element of document.body.querySelectorAll('*')) {
        const rect = element.getBoundingClientRect();
        if (rect.right > width + 0.5 && culprits.length < 8) {
          culprits.push(`${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ''}${element.className && typeof element.className === 'string' ? `.${element.className.split(' ').join('.')}` : ''} right=${Math.round(rect.right)}`);
        }
      }
    }
    return { overflowPx, culprits };
  });
}
