import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import { CLI_SSO_PATHS, normalizeUserCode, USER_CODE_ALPHABET } from '../../protocol/cli-sso.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { signInAtIdp } from '../tasks/browser-login.ts';
import { postFromAnotherBrowser } from '../tasks/browser-visits.ts';
import { codeForm, postCode, typeCode, waitForCodePage, waitForConfirmation } from '../tasks/code-confirmation.ts';
import { expectRefusal } from '../tasks/gateway-answers.ts';
import { isNearMiss, type NearMiss, nearMiss } from '../tasks/near-misses.ts';

function userCode(world: ConformanceWorld): string {
  assert.ok(world.flow, 'no login session was started');
  return world.flow.userCode;
}

/** A code of the right shape that is not the session's: every character moved `shift` places (1-31). */
function wrongCode(world: ConformanceWorld, shift: number): string {
  const moved = [...normalizeUserCode(userCode(world))].map(
    (c) => USER_CODE_ALPHABET[(USER_CODE_ALPHABET.indexOf(c) + shift) % USER_CODE_ALPHABET.length],
  );
  return `${moved.slice(0, 4).join('')}-${moved.slice(4).join('')}`;
}

/**
 * What the browser token field of a hand-made post holds: the page's own, an empty value, no field,
 * or the page's own moved one step off.
 */
type BrowserTokenField = 'from the page' | 'empty' | 'missing' | NearMiss;

/**
 * Post the completion form from the scenario's own browser (same cookies), by default with the
 * page's hidden browser token, without leaving the page: the form stays on screen for the next attempt.
 */
async function postFromBrowser(
  world: ConformanceWorld,
  code: string,
  tokenField: BrowserTokenField = 'from the page',
): Promise<HttpAnswer> {
  const form = await codeForm(world);
  const token =
    tokenField === 'from the page'
      ? form.browserCompleteToken
      : tokenField === 'empty'
        ? ''
        : tokenField === 'missing'
          ? null
          : nearMiss(form.browserCompleteToken, tokenField);
  const answer = await postCode(world, form, code, token);
  world.lastAnswer = answer;
  return answer;
}

When('{string} signs in at the IdP for that session', async function (this: ConformanceWorld, username: string) {
  this.state.signInAnswer = await signInAtIdp(this, username);
});

Then(
  'the browser shows the {string} page with a labelled code field',
  async function (this: ConformanceWorld, _title: string) {
    const codeFields = await waitForCodePage(this);
    assert.equal(codeFields, 1, 'the page has no text field labelled with "code"');
  },
);

Then(
  "the page's form carries a browser token and posts to the session's completion address",
  async function (this: ConformanceWorld) {
    const details = await codeForm(this);
    const gateway = await this.gateway();
    assert.equal(details.method, 'POST');
    assert.equal(details.action, `${gateway.url}${CLI_SSO_PATHS.complete(this.flow?.loginId ?? '')}`);
    assert.ok(details.browserCompleteToken.length >= 32, 'the hidden browser_complete_token is missing or short');
  },
);

When(
  /^the code is typed in the browser (as shown|in lower case|without the dash)$/,
  async function (this: ConformanceWorld, how: string) {
    const shown = userCode(this);
    const typed =
      how === 'in lower case' ? shown.toLowerCase() : how === 'without the dash' ? shown.replace('-', '') : shown;
    const status = await typeCode(this, typed);
    this.state.completionStatus = status;
  },
);

Then('the browser shows that authentication succeeded', async function (this: ConformanceWorld) {
  const status = this.state.completionStatus;
  if (status !== undefined) {
    assert.equal(
      status,
      200,
      `the gateway answered the typed code with ${status}, not 200 "Authentication Successful"`,
    );
  }
  await waitForConfirmation(this);
});

When('a wrong code is typed in the browser', async function (this: ConformanceWorld) {
  await postFromBrowser(this, wrongCode(this, 1));
});

Then('the gateway refused the code with {int}', function (this: ConformanceWorld, status: number) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no code was posted');
  expectRefusal(answer, status, 'the posted code');
});

When('someone posts the right code for that session before anyone signed in', async function (this: ConformanceWorld) {
  const http = await this.http();
  this.lastAnswer = await http.complete(this.flow?.loginId ?? '', {
    user_code: userCode(this),
    browser_complete_token: 'no-token-was-ever-issued-for-this-session',
  });
});

When('someone posts a code for the login id {string}', async function (this: ConformanceWorld, loginId: string) {
  this.lastAnswer = await (await this.http()).complete(loginId, {
    user_code: 'ABCD-EFGH',
    browser_complete_token: 'no-token-was-ever-issued-for-this-session',
  });
});

When(
  "another browser posts the right code for that session without the page's browser token",
  async function (this: ConformanceWorld) {
    const gateway = await this.gateway();
    this.lastAnswer = await postFromAnotherBrowser(
      this,
      `${gateway.url}${CLI_SSO_PATHS.complete(this.flow?.loginId ?? '')}`,
      {
        user_code: userCode(this),
        browser_complete_token: 'guessed-browser-token',
      },
    );
  },
);

When(
  '{int} wrong codes are posted for that session from the browser',
  async function (this: ConformanceWorld, count: number) {
    for (let i = 0; i < count; i++) {
      const answer = await postFromBrowser(this, wrongCode(this, i + 2));
      assert.equal(answer.status, 400, `wrong code #${i + 1} answered ${answer.status}`);
    }
  },
);

When('the right code is posted from the browser', async function (this: ConformanceWorld) {
  await postFromBrowser(this, userCode(this));
});

When(
  /^the right code is posted from the browser with the browser token (left out|empty|in the other case|with one character more|without its last character|with its last character changed)$/,
  async function (this: ConformanceWorld, which: string) {
    // Same browser, same cookies, the right code: only the page's one-time token is not the page's.
    const field: BrowserTokenField =
      which === 'left out' ? 'missing' : which === 'empty' ? 'empty' : (which as NearMiss);
    await postFromBrowser(this, userCode(this), field);
  },
);

/**
 * The session's code written another way (docs/contract.md sections 2.1 and 2.4: the gateway compares
 * it upper-cased with every character other than A-Z and 0-9 removed): forms that must count as the
 * code, and forms one step off that must not.
 */
function codeWritten(world: ConformanceWorld, how: string): string {
  const shown = userCode(world);
  const plain = normalizeUserCode(shown);
  switch (how) {
    case 'with spaces around it':
      return `  ${shown} `;
    case 'with a space for the dash':
      return `${plain.slice(0, 4)} ${plain.slice(4)}`;
    case 'in lower case without the dash':
      return plain.toLowerCase();
    case 'with its halves swapped': {
      const swapped = `${plain.slice(4)}-${plain.slice(0, 4)}`;
      assert.notEqual(normalizeUserCode(swapped), plain, 'the code has two equal halves: swapped, it is itself');
      return swapped;
    }
    case 'twice':
      return `${shown}${shown}`;
    case 'empty':
      return '';
    default:
      assert.ok(isNearMiss(how), `no such way to write the code: ${how}`);
      return nearMiss(shown, how, USER_CODE_ALPHABET);
  }
}

When(/^the session's code is posted from the browser (.+)$/, async function (this: ConformanceWorld, how: string) {
  await postFromBrowser(this, codeWritten(this, how));
});

Then('the gateway accepted the code', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.equal(
    answer?.status,
    200,
    `the gateway answered the posted code with ${answer?.status}, expected 200: ${answer?.text.slice(0, 200)}`,
  );
});

/**
 * Claims with markup in one place. Each element carries an id starting with "markup-from-idp", so a
 * page that renders it as HTML is caught by looking for that id. The email's markup sits in a quoted
 * local part, which RFC 5322 allows.
 */
const MARKUP_CLAIMS: Record<string, (username: string) => Record<string, unknown>> = {
  'the user id, with an email': (u) => ({
    preferred_username: `${u}<b id="markup-from-idp-id">bold</b>`,
    email: `${u}@example.com`,
  }),
  'the user id, without an email': (u) => ({ preferred_username: `${u}<b id="markup-from-idp-id">bold</b>` }),
  'the email': (u) => ({ preferred_username: u, email: `"<b id='markup-from-idp-email'>${u}</b>"@example.com` }),
  'the user id, the name and the role': (u) => ({
    preferred_username: `${u}<b id="markup-from-idp-id">bold</b>`,
    email: `${u}@example.com`,
    name: `<img id="markup-from-idp-name" src="x">${u}`,
    role: '<u id="markup-from-idp-role">internal_user</u>',
  }),
  // The consent page of the PKCE-native login (CLISSO-NATIVE-23) names the user and the teams.
  'the user id and one team': (u) => ({
    preferred_username: `${u}<b id="markup-from-idp-id">bold</b>`,
    email: `${u}@example.com`,
    teams: [`${u}-team<i id="markup-from-idp-team">x</i>`],
  }),
  'two teams': (u) => ({
    preferred_username: u,
    email: `${u}@example.com`,
    teams: [`${u}-a<i id="markup-from-idp-team-a">x</i>`, `${u}-b<i id="markup-from-idp-team-b">x</i>`],
  }),
  'the name, the role and other claims': (u) => ({
    preferred_username: u,
    email: `${u}@example.com`,
    name: `<img id="markup-from-idp-name" src="x">${u}`,
    given_name: `<i id="markup-from-idp-given-name">${u}</i>`,
    role: '<u id="markup-from-idp-role">internal_user</u>',
    employment_type: '<i id="markup-from-idp-claim">contractor</i>',
  }),
};

Given(
  'the IdP has a user {string} with HTML markup in {}',
  async function (this: ConformanceWorld, username: string, where: string) {
    const claims = MARKUP_CLAIMS[where];
    assert.ok(claims, `no markup case "${where}" (known: ${Object.keys(MARKUP_CLAIMS).join('; ')})`);
    const h = await this.harness();
    h.idp.users.put({ username, claims: { sub: username, email_verified: true, ...claims(username) } });
    this.cleanups.push(async () => {
      h.idp.users.remove(username);
    });
  },
);

/**
 * The gateway either shows its completion page, with the IdP's values as text, or refuses the
 * sign-in with a 4xx (a gateway may refuse identities it finds hostile). Markup rendered, a 5xx or
 * no answer fail.
 */
Then("the gateway's answer shows no markup from the IdP's claims", async function (this: ConformanceWorld) {
  const answer = this.state.signInAnswer;
  assert.ok(answer, 'the sign-in navigation got no answer');
  const page = await this.browserPage();
  const injected = await page.locator('[id^="markup-from-idp"]').count();
  assert.equal(injected, 0, `markup from the IdP was rendered as HTML on the gateway's answer (${answer.status})`);
  if (answer.status >= 400 && answer.status < 500) return;
  assert.equal(answer.status, 200, `the sign-in ended at ${answer.url} with ${answer.status}`);
  await waitForCodePage(this);
});
