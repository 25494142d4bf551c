/**
 * A login that may be refused: the harness plays the CLI, a person signs in through the real
 * browser, and whatever the gateway does (refuse at the callback, refuse the poll, hand out a key)
 * is the outcome, for the scenarios that judge what a gateway lets through.
 */
import { CLI_SSO_PATHS, parsePollAnswer } from '../../protocol/cli-sso.ts';
import { CliCompletionPage } from '../pages/cli-completion-page.ts';
import type { LoginAttempt } from '../support/scenario-state.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { expectReady, pollUntilSettled, signInAtIdp, startedSession } from './browser-login.ts';

const PAGE_TIMEOUT_MS = 15_000;

/**
 * A whole login from a browser session of its own (no IdP cookie of an earlier person): start, sign
 * in, and when the gateway shows the completion page, type the code and poll until the answer
 * settles.
 */
export async function tryLogInThroughBrowser(world: ConformanceWorld, username: string): Promise<LoginAttempt> {
  await world.browserPage();
  await world.context?.clearCookies();
  const flow = await startedSession(world);
  const gateway = await world.gateway();
  const seenBefore = world.browserResponses.length;
  await signInAtIdp(world, username);
  const callback = world.browserResponses
    .slice(seenBefore)
    .find((r) => r.url.startsWith(`${gateway.url}${CLI_SSO_PATHS.callback}`));
  if (!callback) throw new Error("the IdP never sent the browser back to the gateway's callback");
  if (callback.status !== 200) return { kind: 'refused at the callback', status: callback.status };
  const page = new CliCompletionPage(await world.browserPage());
  await page.waitUntilShown(PAGE_TIMEOUT_MS);
  await page.enterCode(flow.userCode);
  await page.waitForSuccess(PAGE_TIMEOUT_MS);
  const answer = await pollUntilSettled(world);
  if (answer.status !== 200 || parsePollAnswer(answer.json).status !== 'ready') {
    return { kind: 'no key', status: answer.status, text: answer.text };
  }
  return { kind: 'key', ready: expectReady(world, answer) };
}
