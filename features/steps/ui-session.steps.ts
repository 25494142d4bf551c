import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import { decodeJwt } from 'jose';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { walkToCallback } from '../tasks/browser-login.ts';
import { signInAtIdpPageAs } from '../tasks/idp-sign-in.ts';

/** How far a measured session length may be from the expected one (clock reads, slow machines). */
const TOLERANCE_SECONDS = 60;

When('{string} signs in to the admin UI in the browser', async function (this: ConformanceWorld, username: string) {
  const gateway = await this.gateway();
  const startedMs = Date.now();
  const page = await this.browserPage();
  const callback = `${gateway.url}${CLI_SSO_PATHS.callback}`;
  const callbackAnswer = page.waitForResponse((r) => r.url().startsWith(callback), { timeout: 15_000 });
  await page.goto(`${gateway.url}${CLI_SSO_PATHS.browserEntry}`);
  await signInAtIdpPageAs(this, username);
  await page.waitForURL((url) => url.origin === new URL(gateway.url).origin && url.pathname.startsWith('/ui'), {
    timeout: 15_000,
  });
  // The session is what the callback's answer (the redirect to /ui/) set: a cookie set earlier,
  // such as one carrying the OAuth state, is not the session.
  const setCookies = await (await callbackAnswer).headerValues('set-cookie');
  this.state.uiLogin = {
    startedMs,
    cookieNames: setCookies.map((header) => header.slice(0, header.indexOf('=')).trim()).filter((name) => name !== ''),
  };
});

/**
 * The person signs in to the admin UI at the IdP, and the browser takes the IdP's answer back to the
 * gateway; its answer to that callback is kept, whatever it is (a refusal included).
 */
When('{string} signs in at the IdP for an admin UI sign-in', async function (this: ConformanceWorld, username: string) {
  const gateway = await this.gateway();
  const page = await this.browserPage();
  const callback = `${gateway.url}${CLI_SSO_PATHS.callback}`;
  const callbackAnswer = page.waitForResponse((r) => r.url().startsWith(callback), { timeout: 15_000 });
  await page.goto(`${gateway.url}${CLI_SSO_PATHS.browserEntry}`);
  await signInAtIdpPageAs(this, username);
  const answer = await callbackAnswer;
  this.state.uiCallback = { status: answer.status(), setCookies: await answer.headerValues('set-cookie') };
});

/** A cookie being cleared (an empty value, or already expired) is no session. */
function setsSomething(header: string): boolean {
  return !/^[^=]+=\s*(;|$)/.test(header) && !/max-age=0|expires=thu, 01 jan 1970/i.test(header);
}

// docs/contract.md section 7: the admin UI sign-in comes back to the same callback, where
// ALLOWED_EMAIL_DOMAINS refuses a user of another domain with 401 (CLISSO-CALLBACK-03).
Then(
  'the gateway refused that admin UI sign-in with {int} and gave the browser no session cookie',
  function (this: ConformanceWorld, status: number) {
    const answer = this.state.uiCallback;
    assert.ok(answer, 'no admin UI sign-in reached the callback');
    assert.equal(answer.status, status, `the admin UI sign-in's callback answered ${answer.status}, not ${status}`);
    const set = answer.setCookies.filter(setsSomething).map((c) => c.slice(0, c.indexOf('=')));
    assert.deepEqual(set, [], `the refused admin UI sign-in still set the cookies ${set.join(', ')}`);
  },
);

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

function describeLengths(lengths: Array<{ name: string; seconds: number }>): string {
  return lengths.map((l) => `${l.name}=${Number.isNaN(l.seconds) ? 'no expiry' : `${l.seconds} s`}`).join(', ');
}

/**
 * The cookies the callback's answer set must hold a session of the expected length, and none of them
 * may outlive it: a gateway that sets the right length on one cookie and a longer one on another
 * has a longer session.
 */
Then(
  'the browser holds a UI session that lasts {int} seconds',
  async function (this: ConformanceWorld, seconds: number) {
    const gateway = await this.gateway();
    const cookies = (await this.context?.cookies(gateway.url)) ?? [];
    const login = this.state.uiLogin;
    assert.ok(login, 'no one signed in to the admin UI in this scenario');
    const names = new Set(login.cookieNames);
    assert.ok(names.size > 0, 'the callback that sent the browser to /ui/ set no cookie');
    const started = login.startedMs / 1000;
    const lengths = sessionLengths(
      cookies.filter((c) => names.has(c.name)),
      started,
    );
    assert.ok(lengths.length > 0, `the browser kept none of the cookies the callback set (${[...names].join(', ')})`);
    assert.ok(
      lengths.some((l) => Math.abs(l.seconds - seconds) <= TOLERANCE_SECONDS),
      `no cookie set by the callback lasts ${seconds} s: ${describeLengths(lengths)}`,
    );
    const longer = lengths.filter((l) => l.seconds > seconds + TOLERANCE_SECONDS);
    assert.equal(
      longer.length,
      0,
      `a cookie set by the callback outlives the ${seconds} s session: ${describeLengths(longer)}`,
    );
  },
);

Then("the admin UI page shows no markup from the IdP's claims", async function (this: ConformanceWorld) {
  const page = await this.browserPage();
  await page.waitForLoadState();
  const injected = await page.locator('[id^="markup-from-idp"]').count();
  assert.equal(injected, 0, `markup from the IdP was rendered as HTML on ${page.url()}`);
  // Shown, and shown as text: a page that showed none of the person's values would pass the check
  // above without showing anything. A UI that renders in the browser gets until the deadline.
  await page
    // biome-ignore lint/performance/useDomNodeTextContent: what the page shows, not text inside a script or hidden by CSS
    .waitForFunction(() => document.body?.innerText.includes('markup-from-idp'), undefined, { timeout: 10_000 })
    .catch(() => {
      throw new Error(
        `the admin UI page at ${page.url()} shows none of the IdP's values (user id, name, role) as text`,
      );
    });
});

/**
 * The browser starts the UI sign-in and signs in at the IdP; the IdP's answer (the redirect to the
 * callback, with its code and state) is held back from the gateway and sent from elsewhere, without
 * this browser's cookies, as an attacker who planted it in a victim's browser would.
 */
When(
  "{string} starts an admin UI sign-in and the IdP's answer is taken to another browser",
  async function (this: ConformanceWorld, username: string) {
    const gateway = await this.gateway();
    const callback = await walkToCallback(this, `${gateway.url}${CLI_SSO_PATHS.browserEntry}`, username);
    const url = callback.href;
    const answer = await (await this.http()).send('GET', url.slice(gateway.url.length));
    this.state.uiCallbackElsewhere = answer;
  },
);

Then(
  'the gateway refuses the other browser with a 4xx and gives it no session cookie',
  function (this: ConformanceWorld) {
    const answer = this.state.uiCallbackElsewhere;
    assert.ok(answer, "the IdP's answer was not taken to another browser");
    const cookies = [answer.headers['set-cookie'] ?? []].flat();
    assert.ok(
      answer.status >= 400 && answer.status < 500,
      `the IdP's answer, sent without the browser that started the sign-in, got ${answer.status}${answer.headers.location ? ` to ${answer.headers.location}` : ''}`,
    );
    const set = cookies.filter(setsSomething);
    assert.deepEqual(set, [], 'the refused answer still set cookies');
  },
);
