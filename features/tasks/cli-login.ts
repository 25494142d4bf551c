/**
 * Tasks: what a person does, built from drivers and page objects.
 * "Log in with the CLI through the browser": run `<cli> login`, open the URL it printed (or asked
 * the browser to open), sign in at the IdP, type the code the CLI showed, and wait for the CLI.
 */

import type { StartedProcess } from '../drivers/child-process.ts';
import { withDeadline } from '../drivers/cli.ts';
import { CliCompletionPage } from '../pages/cli-completion-page.ts';
import { IdpLoginPage } from '../pages/idp-login-page.ts';
import type { ConformanceWorld } from '../support/world.ts';

export interface CliLogin {
  run: StartedProcess;
  loginUrl: string;
  userCode: string;
}

const STEP_TIMEOUT_MS = 15_000;

/** Start `<cli> login` and read the URL and the code it shows. */
export async function startCliLogin(world: ConformanceWorld, extraArgs: readonly string[] = []): Promise<CliLogin> {
  const [cli, gateway] = [await world.cli(), await world.gateway()];
  await gateway.admitLoginStart();
  const run = cli.start(['login', ...extraArgs]);
  const loginUrl = await cli.loginUrl(run, STEP_TIMEOUT_MS);
  const userCode = await cli.userCode(run, STEP_TIMEOUT_MS);
  return { run, loginUrl, userCode };
}

/** The browser's part: sign in at the IdP as `username`, then confirm the code on the gateway. */
export async function finishLoginInBrowser(world: ConformanceWorld, login: CliLogin, username: string): Promise<void> {
  const page = await world.browserPage();
  await page.goto(login.loginUrl);
  await new IdpLoginPage(page).signInAs(username);
  const completion = new CliCompletionPage(page);
  await completion.waitUntilShown(STEP_TIMEOUT_MS);
  await completion.enterCode(login.userCode);
  await completion.waitForSuccess(STEP_TIMEOUT_MS);
}

/** Wait for the CLI to finish (it polls the gateway) and remember its exit. */
export async function waitForCli(world: ConformanceWorld, login: CliLogin, timeoutMs = 30_000): Promise<number | null> {
  login.run.child.stdin?.end();
  const exit = await withDeadline(login.run.exited, timeoutMs, 'the CLI finishing the login');
  world.memory.set('cliExitCode', exit.code);
  return exit.code;
}

export async function loginThroughBrowser(world: ConformanceWorld, username: string): Promise<number | null> {
  const login = await startCliLogin(world);
  await finishLoginInBrowser(world, login, username);
  return waitForCli(world, login);
}
