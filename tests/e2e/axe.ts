// axe-core (Deque's accessibility rules engine) on a page of a browser test, shared by the console, studio and watch
// end-to-end tests.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const require = createRequire(import.meta.url);
let axeSource: string | undefined;

/**
 * Runs axe-core on the page as it settles and returns its serious and critical violations, one string each: rule id,
 * impact, then up to three offending elements (selector and the start of their HTML) with axe's summary of the fix.
 *
 * axe is evaluated through the DevTools protocol rather than added as a script tag, so a page whose CSP refuses inline
 * scripts (the studio's and the watch page's, rightly) is checked under that CSP. First every running CSS transition
 * and animation is let finish (up to 2 s): a MUI button fading from its disabled or pressed colour has, mid-fade, a
 * contrast that is neither its enabled one nor its disabled one, and axe would report a colour the user never rests on.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(`Promise.race([
    Promise.all(document.getAnimations().map((a) => a.finished.catch(() => undefined))),
    new Promise((resolve) => setTimeout(resolve, 2000)),
  ])`);
  if (!(await page.evaluate('typeof window.axe !== "undefined"'))) {
    axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    await page.evaluate(axeSource);
  }
  const result = await page.evaluate('axe.run(document, { resultTypes: ["violations"] })') as {
    violations: { id: string; impact: string | null; nodes: { target: string[]; html: string; failureSummary?: string }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} ${n.html.slice(0, 160)} ${n.failureSummary ?? ''}`).join('; ')}`);
}
