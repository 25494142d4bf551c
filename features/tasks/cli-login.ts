/**
 * Tasks: what a person does with the CLI, built from drivers and page objects.
 * "Log in with the CLI through the browser": run `<cli> login`, open the URL it printed (or asked
 * the browser to open), sign in at the IdP, type the code the CLI showed, answer the CLI's team
 * question when it asks one, and wait for the CLI.
 */

import assert from 'node:assert/strict';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import type { StartedProcess } from '../drivers/child-process.ts';
import { withDeadline } from '../drivers/cli.ts';
import { CliCompletionPage } from '../pages/cli-completion-page.ts';
import { ConsentPage } from '../pages/consent-page.ts';
import { IdpLoginPage } from '../pages/idp-login-page.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { START_PATH } from './gateway-stand-in.ts';

export interface CliLogin {
  run: StartedProcess;
  loginUrl: string;
  userCode: string;
}

const STEP_TIMEOUT_MS = 15_000;
/** A login polls every 2 s at LiteLLM's pace; a few polls and a browser sign-in fit well within this. */
export const CLI_LOGIN_TIMEOUT_MS = 40_000;

/** Start `<cli> login` without waiting for anything it prints. */
export async function launchCliLogin(world: ConformanceWorld): Promise<StartedProcess> {
  const [cli, gateway] = [await world.cli(), await world.gateway()];
  await gateway.admitLoginStart();
  const run = cli.start(['login']);
  world.cliLogin = { run };
  return run;
}

/** Start `<cli> login` and read the URL and the code it shows. */
export async function startCliLogin(world: ConformanceWorld): Promise<CliLogin> {
  const run = await launchCliLogin(world);
  const cli = await world.cli();
  try {
    const loginUrl = await cli.loginUrl(run, STEP_TIMEOUT_MS);
    const userCode = await cli.userCode(run, STEP_TIMEOUT_MS, issuedUserCode(world, loginUrl));
    const login = { run, loginUrl, userCode };
    world.cliLogin = login;
    return login;
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${cli.lastWords()}`);
  }
}

/** The code the gateway's start answer gave the login that `loginUrl` names, as seen on the wire. */
function issuedUserCode(world: ConformanceWorld, loginUrl: string): string | undefined {
  const loginId = new URL(loginUrl).searchParams.get('key');
  const start = world.tap
    .jsonAnswers('POST', CLI_SSO_PATHS.start)
    .map((answer) => answer.body as { login_id?: unknown; user_code?: unknown } | null)
    .find((body) => body?.login_id === loginId);
  return typeof start?.user_code === 'string' ? start.user_code : undefined;
}

/** The browser's part: sign in at the IdP as `username`, then confirm the code on the gateway. */
export async function finishLoginInBrowser(world: ConformanceWorld, login: CliLogin, username: string): Promise<void> {
  // Each CLI login of a scenario is a person's first visit to the IdP in this browser.
  if (world.openedPage) await world.freshBrowser();
  const page = await world.browserPage();
  await page.goto(login.loginUrl);
  await new IdpLoginPage(page).signInAs(username);
  const completion = new CliCompletionPage(page);
  await completion.waitUntilShown(STEP_TIMEOUT_MS);
  await completion.enterCode(login.userCode);
  await completion.waitForSuccess(STEP_TIMEOUT_MS);
}

/**
 * The name the step "the gateway's team question names each team" gives a team: its id's last word and "squad", so that the name holds
 * no part of the id the CLI must send back (CLISSO-CLI-21).
 */
export function teamNameOf(teamId: string): string {
  const word = teamId.replace(/^team-/, '');
  return `${word.charAt(0).toUpperCase()}${word.slice(1)} squad`;
}

/**
 * The CLI asked which team this login is for: answer the way a person at its prompt would. When
 * the CLI numbered its choices (`2. team-beta`, `2) team-beta`, `[2] team-beta`), type the number;
 * otherwise type the team id. A CLI may show a team by its id or by its name (`teamNameOf`).
 */
export async function chooseTeamAtCliPrompt(world: ConformanceWorld, login: CliLogin, teamId: string): Promise<void> {
  const cli = await world.cli();
  const name = teamNameOf(teamId);
  await login.run
    .waitForOutput(
      (p) => p.transcript.includes(teamId) || p.transcript.includes(name),
      STEP_TIMEOUT_MS,
      `the CLI offering team ${teamId}`,
    )
    .catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${cli.lastWords()}`);
    });
  const lines = login.run.transcript.split('\n');
  const line = lines.find((l) => l.includes(teamId)) ?? lines.find((l) => l.includes(name)) ?? '';
  const numbered = /^\s*[[(]?(\d+)[.)\]:]\s/.exec(line);
  login.run.writeStdin(`${numbered ? numbered[1] : teamId}\n`);
}

/** Wait for the CLI to finish (it polls the gateway) and remember its exit. */
export async function waitForCli(
  world: ConformanceWorld,
  login: { run: StartedProcess },
  timeoutMs = CLI_LOGIN_TIMEOUT_MS,
): Promise<number | null> {
  login.run.child.stdin?.on('error', () => undefined);
  login.run.child.stdin?.end();
  const cli = await world.cli();
  const exit = await withDeadline(login.run.exited, timeoutMs, 'the CLI finishing the login').catch(
    async (error: unknown) => {
      await login.run.stop(500);
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${cli.lastWords()}`);
    },
  );
  world.cliExitCode = exit.code;
  return exit.code;
}

/** The whole login as a person does it; returns the CLI's exit code (not a verdict: see cli-outcomes). */
export async function loginThroughBrowser(world: ConformanceWorld, username: string): Promise<number | null> {
  const login = await startCliLogin(world);
  await finishLoginInBrowser(world, login, username);
  return waitForCli(world, login);
}

/**
 * `<cli> login` where the CLI can find the gateway's PKCE-native login: the browser opens the
 * first URL the CLI asked it to open. An authorize URL is walked as a person does (sign in at the
 * IdP as `username`, approve on the consent page) and the CLI waited for; anything else (the
 * classic login URL) is not answered and the CLI is stopped, so that the verdict is the wire's.
 * Returns the URL the CLI opened.
 */
export async function loginWherePkceIsOffered(world: ConformanceWorld, username: string): Promise<string> {
  const run = await launchCliLogin(world);
  const cli = await world.cli();
  await run
    .waitForOutput(() => cli.browserOpenings.length > 0, STEP_TIMEOUT_MS, 'the CLI opening a browser')
    .catch(async (error: unknown) => {
      await run.stop(500);
      throw new Error(`${error instanceof Error ? error.message : String(error)}\n${cli.lastWords()}`);
    });
  const opened = cli.browserOpenings[0]?.url ?? '';
  if (!/\/authorize$/.test(new URL(opened).pathname)) {
    await run.stop(500);
    return opened;
  }
  if (world.openedPage) await world.freshBrowser();
  const page = await world.browserPage();
  await page.goto(opened);
  await new IdpLoginPage(page).signInAs(username);
  const consent = new ConsentPage(page);
  await consent.waitUntilShown();
  await consent.approve();
  await waitForCli(world, { run });
  return opened;
}

export function currentCliLogin(world: ConformanceWorld): CliLogin {
  const login = world.cliLogin;
  assert.ok(login && 'loginUrl' in login, 'no CLI login was started in this scenario');
  return login as CliLogin;
}

/** The browser URL of a login as any LiteLLM-style CLI prints it: `{base}/sso/key/generate?...`. */
const PRINTED_LOGIN_URL = /https?:\/\/[^\s'"<>]+\/sso\/key\/generate\?[^\s'"<>]+/g;

/** Every login URL in a CLI's output, in order (those that parse as URLs). */
export function loginUrlsIn(text: string): string[] {
  return [...text.matchAll(PRINTED_LOGIN_URL)].map((m) => m[0]).filter((url) => URL.canParse(url));
}

/** The login id and code of the gateway's (last successful) answer to the CLI's start, from the wire. */
export function startAnswerOnWire(world: ConformanceWorld): { loginId: string; userCode: string } {
  const answer = world.tap
    .exchangesTo('POST', START_PATH)
    .filter((e) => e.status === 200)
    .map((e) => {
      try {
        return JSON.parse(e.responseBody) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })
    .at(-1);
  assert.ok(answer, 'the gateway never answered a start of the CLI with 200');
  return { loginId: String(answer.login_id ?? ''), userCode: String(answer.user_code ?? '') };
}
