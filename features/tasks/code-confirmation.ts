/**
 * Confirming the code: the gateway's completion page after the sign-in ("CLI Login", a field
 * labelled with "code", a hidden browser token), as a person uses it, and the form it posts.
 */
import assert from 'node:assert/strict';
import type { RunningGateway } from '../drivers/gateway.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import { CliCompletionPage, type CompletionFormDetails } from '../pages/cli-completion-page.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { postFromBrowser } from './browser-visits.ts';

const PAGE_TIMEOUT_MS = 15_000;

async function completionPage(world: ConformanceWorld): Promise<CliCompletionPage> {
  return new CliCompletionPage(await world.browserPage());
}

function sessionUserCode(world: ConformanceWorld): string {
  assert.ok(world.flow, 'no login session was started');
  return world.flow.userCode;
}

/** Wait until the browser shows the completion page; returns how many text fields are labelled with "code". */
export async function waitForCodePage(world: ConformanceWorld): Promise<number> {
  const page = await completionPage(world);
  await page.waitUntilShown(PAGE_TIMEOUT_MS);
  return page.codeField().count();
}

/** Whether the browser shows the completion page now. */
export async function codePageShown(world: ConformanceWorld): Promise<boolean> {
  return (await completionPage(world)).isShown();
}

/** Type `code` into the page's code field and submit; the status the gateway answered the form with. */
export async function typeCode(world: ConformanceWorld, code: string): Promise<number> {
  return (await completionPage(world)).enterCode(code);
}

/** Wait until the page says authentication succeeded. */
export async function waitForConfirmation(world: ConformanceWorld): Promise<void> {
  await (await completionPage(world)).waitForSuccess(PAGE_TIMEOUT_MS);
}

/** Confirm the code the CLI would have shown (the session's own, unless `code`) on the page on screen. */
export async function confirmCode(world: ConformanceWorld, code: string = sessionUserCode(world)): Promise<void> {
  const page = await completionPage(world);
  await page.waitUntilShown(PAGE_TIMEOUT_MS);
  await page.enterCode(code);
  await page.waitForSuccess(PAGE_TIMEOUT_MS);
}

/** The completion page's form: where it posts, how, and the hidden browser token. */
export async function codeForm(world: ConformanceWorld): Promise<CompletionFormDetails> {
  return (await completionPage(world)).formDetails();
}

/**
 * Post `code` with `form`'s browser token (or `token` instead: a wrong or empty one, or none at all
 * when null) from the scenario's browser, to where the form posts.
 */
export async function postCode(
  world: ConformanceWorld,
  form: CompletionFormDetails,
  code: string,
  token: string | null = form.browserCompleteToken,
): Promise<HttpAnswer> {
  const fields: Record<string, string> = { user_code: code };
  if (token !== null) fields.browser_complete_token = token;
  return postFromBrowser(world, form.action, fields);
}

/**
 * The browser's form post, with the page's token and the session's code, lands on `gateway` (another
 * replica, as behind a load balancer) instead of the one that showed the page.
 */
export async function confirmCodeOn(world: ConformanceWorld, gateway: RunningGateway): Promise<HttpAnswer> {
  assert.ok(world.flow, 'no login session was started');
  const form = await codeForm(world);
  return (await world.http(gateway)).complete(world.flow.loginId, {
    user_code: world.flow.userCode,
    browser_complete_token: form.browserCompleteToken,
  });
}
