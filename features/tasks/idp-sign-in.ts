/**
 * A person at the IdP's own sign-in page, typing: signing in (by choosing who they are, or with a
 * password) or refusing the login. The browser is wherever the gateway sent it (at the IdP).
 */
import assert from 'node:assert/strict';
import { IdpLoginPage } from '../pages/idp-login-page.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { sessionLoginUrl } from './browser-login.ts';

/** Sign in at the IdP's page as `username`, where the browser is now. */
export async function signInAtIdpPageAs(world: ConformanceWorld, username: string): Promise<void> {
  await new IdpLoginPage(await world.browserPage()).signInAs(username);
}

/** Open the session's login URL and sign in at the IdP's page with `username`'s own password. */
export async function signInWithPassword(world: ConformanceWorld, username: string): Promise<void> {
  const h = await world.harness();
  const password = h.idp.users.get(username)?.password;
  assert.ok(password, `the IdP's user ${username} has no password`);
  const page = await world.browserPage();
  await page.goto(sessionLoginUrl(world, (await world.gateway()).url));
  await new IdpLoginPage(page).signInWithPassword(username, password);
}

/** Open the session's login URL and refuse the login at the IdP's page. */
export async function denyAtIdp(world: ConformanceWorld): Promise<void> {
  const page = await world.browserPage();
  await page.goto(sessionLoginUrl(world, (await world.gateway()).url));
  await new IdpLoginPage(page).deny();
}
