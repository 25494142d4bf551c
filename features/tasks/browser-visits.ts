/**
 * What the browser gets when it opens or posts to a gateway address, in the shape the "the gateway
 * answers ..." steps check (an HttpAnswer; a redirect's body reads as empty, the browser keeps none).
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { answerSeenByBrowser, openAndReadFirstAnswer } from '../drivers/browser.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import { CliCompletionPage } from '../pages/cli-completion-page.ts';
import { IdpLoginPage } from '../pages/idp-login-page.ts';
import type { ConformanceWorld } from '../support/world.ts';

/**
 * The browser opens `url`; the gateway's own answer to that first request (a redirect to the IdP,
 * an error page), however far the browser went on after it.
 */
export async function openInBrowser(world: ConformanceWorld, url: string): Promise<HttpAnswer> {
  const first = await openAndReadFirstAnswer(await world.browserPage(), url);
  assert.ok(first, `the browser got no answer from ${new URL(url).pathname}`);
  return answerSeenByBrowser(first);
}

/** The scenario's browser (its cookies) posts `form` to `url` without leaving its page; redirects are not followed. */
export async function postFromBrowser(
  world: ConformanceWorld,
  url: string,
  form: Record<string, string>,
): Promise<HttpAnswer> {
  const page = await world.browserPage();
  return answerSeenByBrowser(await page.request.post(url, { form, maxRedirects: 0 }));
}

/** Another browser, with no cookie of this scenario's, posts `form` to `url`. */
export async function postFromAnotherBrowser(
  world: ConformanceWorld,
  url: string,
  form: Record<string, string>,
): Promise<HttpAnswer> {
  const h = await world.harness();
  const other = await h.browser.newContext();
  try {
    return await answerSeenByBrowser(await other.request.post(url, { form, maxRedirects: 0 }));
  } finally {
    await other.close();
  }
}

/**
 * A second person's browser, open beside the scenario's own for the rest of the scenario (no cookie
 * of the scenario's browser), showing `url`.
 */
export async function pageInAnotherBrowser(world: ConformanceWorld, url: string): Promise<Page> {
  const h = await world.harness();
  const other = await h.browser.newContext();
  world.cleanups.push(() => other.close());
  const page = await other.newPage();
  await page.goto(url);
  return page;
}

/** {@link pageInAnotherBrowser}, once it shows the IdP's sign-in page (the person has not signed in yet). */
export async function anotherBrowserAtIdpSignIn(world: ConformanceWorld, url: string): Promise<Page> {
  const page = await pageInAnotherBrowser(world, url);
  await new IdpLoginPage(page).waitUntilShown();
  return page;
}

/** The person signs in as `username` on the IdP's page that `page` shows. */
export async function signInOnIdpPage(page: Page, username: string): Promise<void> {
  await new IdpLoginPage(page).signInAs(username);
}

/** Whether `page` shows the "Complete CLI Login" page. */
export function completionPageShownOn(page: Page): Promise<boolean> {
  return new CliCompletionPage(page).isShown();
}
