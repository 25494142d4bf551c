import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import { decodeJwt } from 'jose';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import { IdpLoginPage } from '../pages/idp-login-page.ts';
import type { ConformanceWorld } from '../support/world.ts';

/** How far a measured session length may be from the expected one (clock reads, slow machines). */
const TOLERANCE_SECONDS = 60;

When('{string} signs in to the admin UI in the browser', async function (this: ConformanceWorld, username: string) {
  const gateway = await this.gateway();
  this.memory.set('uiLoginStartedMs', Date.now());
  const page = await this.browserPage();
  await page.goto(`${gateway.url}${CLI_SSO_PATHS.browserEntry}`);
  await new IdpLoginPage(page).signInAs(username);
  await page.waitForURL((url) => url.origin === new URL(gateway.url).origin && url.pathname.startsWith('/ui'), {
    timeout: 15_000,
  });
});

/**
 * A UI session's length, as a browser can see it: a cookie's own expiry, or, for a session cookie
 * holding a JWT (LiteLLM's "token" cookie), the JWT's exp - iat.
 */
function sessionLengths(cookies: Array<{ name: string; value: string; expires: number }>, startedSeconds: number) {
  return cookies.map((cookie) => {
    if (cookie.expires > 0) return { name: cookie.name, seconds: Math.round(cookie.expires - startedSeconds) };
    try {
      const claims = decodeJwt(cookie.value);
      if (typeof claims.exp === 'number') {
        return {
          name: cookie.name,
          seconds: claims.exp - (typeof claims.iat === 'number' ? claims.iat : startedSeconds),
        };
      }
    } catch {
      // not a JWT
    }
    return { name: cookie.name, seconds: Number.NaN };
  });
}

Then(
  'the browser holds a UI session that lasts {int} seconds',
  async function (this: ConformanceWorld, seconds: number) {
    const gateway = await this.gateway();
    const cookies = await this.context?.cookies(gateway.url);
    assert.ok(cookies && cookies.length > 0, 'the gateway set no cookie');
    const started = (this.memory.get('uiLoginStartedMs') as number) / 1000;
    const lengths = sessionLengths(cookies, started);
    const match = lengths.find((l) => Math.abs(l.seconds - seconds) <= TOLERANCE_SECONDS);
    assert.ok(
      match,
      `no cookie lasts ${seconds} s; cookies: ${lengths.map((l) => `${l.name}=${Number.isNaN(l.seconds) ? 'session' : `${l.seconds} s`}`).join(', ')}`,
    );
  },
);
