/**
 * The pre-filled verification code (docs/contract.md section 10.8): the start answer's
 * `verification_uri_complete`, and what the code page shows when a browser opens it. The setting is
 * the scenario's ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE, which the harness also writes into the
 * config file as LiteLLM's `general_settings.allow_cli_sso_verification_uri_complete`.
 */
import assert from 'node:assert/strict';
import { browserLoginUrl } from '../../protocol/cli-sso.ts';
import { settingOf } from '../drivers/gateway.ts';
import { CliCompletionPage } from '../pages/cli-completion-page.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { publicBaseUrl } from './gateway-setup.ts';

export const PREFILL_SETTING = 'ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE';
export const PREFILL_FIELD = 'verification_uri_complete';

/** The start answer as JSON, with its status checked. */
export function startAnswerJson(world: ConformanceWorld): Record<string, unknown> {
  const answer = world.lastAnswer;
  assert.ok(answer, 'no login session was started');
  assert.equal(answer.status, 200, `POST /sso/cli/start answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  assert.ok(typeof answer.json === 'object' && answer.json !== null, 'the start answer is not a JSON object');
  return answer.json as Record<string, unknown>;
}

/** What verification_uri_complete must be: the session's browser URL (section 1) and `&user_code=`. */
export async function expectedCompleteUri(world: ConformanceWorld): Promise<string> {
  assert.ok(world.flow, 'no login session was started');
  const url = new URL(browserLoginUrl(publicBaseUrl(await world.gateway()), world.flow.loginId));
  url.searchParams.set('user_code', world.flow.userCode);
  return url.toString();
}

/**
 * The session's verification_uri_complete; a gateway that does not offer one with the setting on has
 * the scenario skipped (offering it is CLISSO-PREFILL-01, a SHOULD judged on its own).
 */
export function offeredCompleteUri(world: ConformanceWorld): string {
  const uri = startAnswerJson(world)[PREFILL_FIELD];
  if (typeof uri !== 'string')
    throw new ConfigurationNotOffered(
      `does not offer ${PREFILL_FIELD} in its start answer with ${PREFILL_SETTING} (general_settings.allow_cli_sso_verification_uri_complete) on`,
    );
  return uri;
}

/** A running gateway declared with the setting on does not show the default: the scenario is skipped. */
export async function expectDefaultSetting(world: ConformanceWorld): Promise<void> {
  if (settingOf(await world.gateway(), PREFILL_SETTING)?.toLowerCase() === 'true')
    throw new ConfigurationNotOffered(`is declared with ${PREFILL_SETTING}=true: its default cannot be judged`);
}

/** The session's browser URL with `user_code` set to `code`. */
export async function loginUrlWithCode(world: ConformanceWorld, code: string): Promise<string> {
  assert.ok(world.flow, 'no login session was started');
  const url = new URL(browserLoginUrl((await world.gateway()).url, world.flow.loginId));
  url.searchParams.set('user_code', code);
  return url.toString();
}

export async function completionPage(world: ConformanceWorld): Promise<CliCompletionPage> {
  const page = new CliCompletionPage(await world.browserPage());
  await page.waitUntilShown(15_000);
  return page;
}
