/**
 * What an outsider tried on a gateway (features/attacks.feature): logging in as someone else
 * through the IdP's email, ending a stranger's login, stretching a login past its 10 minutes,
 * identities too long or hostile to handle, pages another site can frame, a 429 that does not say
 * when to come back. Steps are one-liners over tasks and drivers where they can be.
 */
import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import type { Claims } from '../../mock-idp/index.ts';
import { browserLoginUrl, CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import type { LoginAttempt, RecordedAnswer } from '../support/scenario-state.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { pollSession, sessionLoginUrl, signInAtIdp } from '../tasks/browser-login.ts';
import { anotherBrowserAtIdpSignIn, completionPageShownOn, signInOnIdpPage } from '../tasks/browser-visits.ts';
import { codeForm, postCode } from '../tasks/code-confirmation.ts';
import { keyHandedOutBy } from '../tasks/gateway-answers.ts';
import { addIdpUser } from '../tasks/gateway-users.ts';
import { tryLogInThroughBrowser } from '../tasks/login-attempt.ts';
import { consentPage } from '../tasks/native-cli.ts';

/** How long the other browser's sign-in may take to come back to the gateway. */
const LATE_SIGN_IN_MS = 15_000;

function attemptOf(world: ConformanceWorld): LoginAttempt {
  const attempt = world.state.loginAttempt;
  assert.ok(attempt, 'no login was tried');
  return attempt;
}

function describeAttempt(attempt: LoginAttempt): string {
  switch (attempt.kind) {
    case 'refused at the callback':
      return `the callback answered ${attempt.status}`;
    case 'no key':
      return `the poll answered ${attempt.status}: ${attempt.text.slice(0, 200)}`;
    case 'key':
      return `the login handed out a key for user ${JSON.stringify(attempt.ready.userId.slice(0, 80))}`;
  }
}

// ---- Logging in as someone else ----

When(
  '{string} tries to log in through the browser, in a new browser session',
  async function (this: ConformanceWorld, username: string) {
    this.state.loginAttempt = await tryLogInThroughBrowser(this, username);
  },
);

Then('{string} did not become the user {string}', function (this: ConformanceWorld, _username: string, victim: string) {
  const attempt = attemptOf(this);
  if (attempt.kind === 'key') {
    assert.notEqual(attempt.ready.userId, victim, `${describeAttempt(attempt)}: the victim's account`);
    return;
  }
  // A refusal is what a careful gateway does; it must still be the client's error, not a crash.
  const status = attempt.status;
  assert.ok(status >= 400 && status < 500, `${describeAttempt(attempt)}, expected a 4xx refusal or another user`);
});

// ---- Identities of hostile length or content ----

/** A user whose one claim is `length` characters long (the rest is ordinary). */
Given(
  'the IdP has a user {string} whose {word} claim is {int} characters long',
  async function (this: ConformanceWorld, username: string, claim: string, length: number) {
    const claims: Claims = {
      sub: username,
      preferred_username: username,
      email: `${username}@example.com`,
      email_verified: true,
    };
    const domain = '@example.com';
    const values: Claims = {
      preferred_username: 'u'.repeat(length),
      email: `${'e'.repeat(Math.max(1, length - domain.length))}${domain}`,
      // A team claim only the gateways that read one (the reference reads `teams`) will see.
      teams: ['t'.repeat(length)],
    };
    assert.ok(claim in values, `no long value for the claim "${claim}"`);
    claims[claim] = values[claim] ?? null;
    await addIdpUser(this, username, claims);
  },
);

Given(
  'the IdP has a user {string} whose preferred_username holds control characters',
  async function (this: ConformanceWorld, username: string) {
    // A window-title escape, a bell and a NUL: a terminal obeys the first two, PostgreSQL refuses the last.
    await addIdpUser(this, username, {
      sub: username,
      preferred_username: `${username}\u001b]0;owned\u0007\u0000`,
      email: `${username}@example.com`,
      email_verified: true,
    });
  },
);

Then('the login was refused with a 4xx, or its key opens the model list', async function (this: ConformanceWorld) {
  const attempt = attemptOf(this);
  if (attempt.kind !== 'key') {
    assert.ok(attempt.status >= 400 && attempt.status < 500, `${describeAttempt(attempt)}, expected a 4xx`);
    return;
  }
  const models = await (await this.http()).models(attempt.ready.key);
  assert.equal(
    models.status,
    200,
    `the gateway handed out a key it then refuses: GET /models answered ${models.status} (${models.text.slice(0, 120)})`,
  );
});

// ---- A stranger who knows the login id ----

/** Wrong codes posted as someone who never went through this flow's callback: no browser token. */
When(
  'a stranger who knows the login id posts {int} wrong codes for it',
  async function (this: ConformanceWorld, count: number) {
    const flow = this.flow;
    assert.ok(flow, 'no login session was started');
    const http = await this.http();
    for (let i = 0; i < count; i++) {
      // Half without the field, half with a made-up token: neither is the flow's.
      const fields: Record<string, string> = { user_code: i % 2 === 0 ? 'AAAA-AAAA' : 'BBBB-BBBB' };
      if (i % 2 === 1) fields.browser_complete_token = 'a-token-the-stranger-made-up';
      const answer = await http.complete(flow.loginId, fields);
      assert.ok(
        answer.status >= 400 && answer.status < 500,
        `wrong code #${i + 1} without the browser token answered ${answer.status}`,
      );
    }
  },
);

Given('the browser token on the completion page is noted', async function (this: ConformanceWorld) {
  this.state.notedForm = await codeForm(this);
});

/** The browser's own posts, with its token, after the code was confirmed (the form is no longer on screen). */
When('{int} wrong codes are posted with that browser token', async function (this: ConformanceWorld, count: number) {
  const details = this.state.notedForm;
  assert.ok(details, 'no browser token was noted');
  for (let i = 0; i < count; i++) {
    const answer = await postCode(this, details, 'AAAA-AAAA');
    assert.ok(answer.status >= 400 && answer.status < 500, `wrong code #${i + 1} answered ${answer.status}`);
  }
});

// ---- A sign-in that comes back after the code was confirmed ----

Given(
  "in another browser, {string} opened the session's login URL and waits at the IdP's sign-in page",
  async function (this: ConformanceWorld, _username: string) {
    this.state.lateSignIn = {
      page: await anotherBrowserAtIdpSignIn(this, sessionLoginUrl(this, (await this.gateway()).url)),
    };
  },
);

When(
  "{string} signs in at the IdP's page in the other browser",
  async function (this: ConformanceWorld, username: string) {
    const late = this.state.lateSignIn;
    assert.ok(late, 'no other browser is open');
    const callback = `${(await this.gateway()).url}${CLI_SSO_PATHS.callback}`;
    const answered = late.page.waitForResponse((r) => r.url().startsWith(callback), { timeout: LATE_SIGN_IN_MS });
    await signInOnIdpPage(late.page, username);
    late.callbackStatus = (await answered).status();
    await late.page.waitForLoadState();
  },
);

Then('the other browser is not shown the completion form', async function (this: ConformanceWorld) {
  const late = this.state.lateSignIn;
  assert.ok(late?.callbackStatus !== undefined, 'the other browser never came back to the gateway');
  assert.equal(
    await completionPageShownOn(late.page),
    false,
    `the gateway answered a sign-in after the code was confirmed with ${late.callbackStatus} and the completion form`,
  );
});

// ---- Stretching a login's lifetime ----

/** The browser link opened with plain HTTP: the gateway's redirect to the IdP, nothing more. */
When("someone opens the session's browser link without signing in", async function (this: ConformanceWorld) {
  const flow = this.flow;
  assert.ok(flow, 'no login session was started');
  const http = await this.http();
  const link = new URL(browserLoginUrl(http.baseUrl, flow.loginId));
  const answer = await http.send('GET', `${link.pathname}${link.search}`);
  assert.ok(
    answer.status >= 300 && answer.status < 400,
    `the browser link answered ${answer.status}, not a redirect to the IdP: the session had already ended`,
  );
});

When(
  '{string} signs in at the IdP for that session again, in a new browser session',
  async function (this: ConformanceWorld, username: string) {
    // A second sign-in may show the completion page again or be refused: either way it must not
    // give the session more time than the rule allows.
    await this.browserPage();
    await this.context?.clearCookies();
    await signInAtIdp(this, username);
  },
);

// ---- What the gateway's answers tell a browser ----

Given("the browser keeps the headers of the gateway's answers", async function (this: ConformanceWorld) {
  const gateway = await this.gateway();
  const page = await this.browserPage();
  const recorded: RecordedAnswer[] = [];
  page.on('response', (response) => {
    if (!response.url().startsWith(gateway.url)) return;
    const headers = response.allHeaders();
    headers.catch(() => undefined);
    recorded.push({ url: response.url(), method: response.request().method(), status: response.status(), headers });
  });
  this.state.pageHeaders = recorded;
});

/** The last HTML page the gateway sent the browser at `path` (with `method`). */
async function pageHeaders(world: ConformanceWorld, method: string, path: string): Promise<Record<string, string>> {
  const recorded = world.state.pageHeaders;
  assert.ok(recorded, "the browser did not keep the headers of the gateway's answers");
  const found = recorded.filter((r) => r.method === method && new URL(r.url).pathname.startsWith(path)).at(-1);
  assert.ok(found, `the browser got no ${method} ${path} answer from the gateway`);
  return found.headers;
}

/** Policies that never send the page's path (and its login id) to another site. */
const REFERRER_POLICIES_KEEPING_THE_PATH = new Set([
  'no-referrer',
  'same-origin',
  'origin',
  'strict-origin',
  'strict-origin-when-cross-origin',
  'origin-when-cross-origin',
]);

function assertPageCannotBeFramedOrSniffed(
  headers: Record<string, string>,
  what: string,
  html: string,
  { nosniff = true }: { nosniff?: boolean } = {},
): void {
  const csp = headers['content-security-policy'] ?? '';
  const frameAncestors = /(?:^|;)\s*frame-ancestors\s+([^;]*)/i.exec(csp)?.[1]?.trim().toLowerCase();
  const frameOptions = (headers['x-frame-options'] ?? '').trim().toLowerCase();
  assert.ok(
    frameAncestors === "'none'" ||
      frameAncestors === "'self'" ||
      frameOptions === 'deny' ||
      frameOptions === 'sameorigin',
    `${what} can be framed by any site: Content-Security-Policy ${JSON.stringify(csp)}, X-Frame-Options ${JSON.stringify(frameOptions)} (want frame-ancestors 'none' or X-Frame-Options DENY)`,
  );
  if (nosniff) {
    assert.equal(
      (headers['x-content-type-options'] ?? '').trim().toLowerCase(),
      'nosniff',
      `${what} has no X-Content-Type-Options: nosniff`,
    );
  }
  const meta = /<meta\s+name=["']?referrer["']?\s+content=["']?([a-z-]+)/i.exec(html)?.[1];
  const policies = [...(headers['referrer-policy'] ?? '').split(','), meta ?? '']
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
  // The last policy a browser understands wins (W3C Referrer Policy, section 11.1).
  const policy = policies.at(-1);
  assert.ok(
    policy !== undefined && REFERRER_POLICIES_KEEPING_THE_PATH.has(policy),
    `${what} lets its address (with the login id) leave in Referer: Referrer-Policy ${JSON.stringify(policies)} (want no-referrer)`,
  );
}

Then(
  /^the (completion|success) page's answer forbids framing, type sniffing and referrers$/,
  async function (this: ConformanceWorld, which: string) {
    const headers =
      which === 'completion'
        ? await pageHeaders(this, 'GET', '/sso/callback')
        : await pageHeaders(this, 'POST', '/sso/cli/complete/');
    const html = await (await this.browserPage()).content();
    assertPageCannotBeFramedOrSniffed(headers, `the ${which} page`, html);
  },
);

/**
 * CLISSO-NATIVE-24 (docs/contract.md section 10.6): the consent page is not cached, not frameable (its
 * Approve button could be clicked through another site's frame), and sends no referrer. The contract
 * asks no nosniff of it.
 */
Then(
  "the consent page's answer is not to be cached and forbids framing and referrers",
  async function (this: ConformanceWorld) {
    await consentPage(this);
    const headers = await pageHeaders(this, 'GET', '/authorize');
    const html = await (await this.browserPage()).content();
    assertPageCannotBeFramedOrSniffed(headers, 'the consent page', html, { nosniff: false });
    assert.match(
      headers['cache-control'] ?? '',
      /no-store/i,
      `the consent page may be cached: Cache-Control ${JSON.stringify(headers['cache-control'] ?? null)}`,
    );
  },
);

function expectNoSniff(answers: Array<[string, HttpAnswer]>): void {
  for (const [what, answer] of answers) {
    const value = answer.headers['x-content-type-options'];
    assert.equal(
      (Array.isArray(value) ? value.join(',') : (value ?? '')).trim().toLowerCase(),
      'nosniff',
      `${what} (${answer.status}) has no X-Content-Type-Options: nosniff`,
    );
  }
}

Then("the gateway's JSON answers forbid type sniffing", async function (this: ConformanceWorld) {
  expectNoSniff([
    ['the poll answer', await pollSession(this)],
    ['the 403 to a poll without its secret', await pollSession(this, { pollSecret: undefined })],
  ]);
});

/** The answer with the key and the answers to the key, on both model routes (CLISSO-CALLBACK-07: every JSON answer). */
Then('the answers that hand out and use the key forbid type sniffing', async function (this: ConformanceWorld) {
  const ready = await pollSession(this);
  const key = keyHandedOutBy(ready);
  assert.ok(key, `the poll after the confirmation answered ${ready.status} without a key`);
  const http = await this.http();
  expectNoSniff([
    ['the ready answer', ready],
    ['GET /v1/models with the key', await http.models(key, CLI_SSO_PATHS.v1Models)],
    ['GET /models with the key', await http.models(key, CLI_SSO_PATHS.models)],
  ]);
});

/** RFC 9110 section 10.2.3: delay-seconds or an HTTP-date; within the 60 s window of the limit. */
Then('that answer says within a minute when to try again', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  const header = answer.headers['retry-after'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  assert.ok(value, `the ${answer.status} answer has no Retry-After header`);
  let seconds: number;
  if (/^\d+$/.test(value)) {
    seconds = Number(value);
  } else {
    const at = Date.parse(value);
    assert.ok(!Number.isNaN(at), `Retry-After ${JSON.stringify(value)} is neither seconds nor an HTTP date`);
    const dateHeader = answer.headers.date;
    const now = Date.parse((Array.isArray(dateHeader) ? dateHeader[0] : dateHeader) ?? '') || Date.now();
    seconds = Math.round((at - now) / 1000);
  }
  assert.ok(seconds >= 1 && seconds <= 61, `Retry-After ${JSON.stringify(value)} is not 1 to 60 seconds away`);
});
