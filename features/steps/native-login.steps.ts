import assert from 'node:assert/strict';
import { type DataTable, Given, Then, When } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { expectExpiredKeyRefusal } from '../tasks/gateway-answers.ts';
import { configuredKeyLifetimeSeconds } from '../tasks/gateway-setup.ts';
import { signInAtIdpPageAs } from '../tasks/idp-sign-in.ts';
import {
  approvalForm,
  authorizeOverHttp,
  callbackShown,
  clientRegisteredAt,
  codeFor,
  consentPage,
  decideOnConsent,
  expectOAuthError,
  expectTokens,
  gatewayUnderPathPrefix,
  loginPastThePrefix,
  loopbackListener,
  modelsWith,
  nativeBaseUrl,
  nativeEndpoints,
  nativeEndpointsOn,
  newSignIn,
  openAuthorizeInBrowser,
  pageAfterSignIn,
  pkcePair,
  postConsentFormFromBrowser,
  postConsentFormWithoutSession,
  readDiscovery,
  receivedCode,
  redeemCode,
  refreshTokens,
  registeredClient,
  registerRedirectUris,
  revokeToken,
  signedInNatively,
  signInReturningTo,
  withAlteredFlow,
  withTeam,
} from '../tasks/native-cli.ts';

Given('the gateway advertises the PKCE-native login', async function (this: ConformanceWorld) {
  await nativeEndpoints(this);
});

// ---- Discovery ----

Given(
  'a gateway served under the path {string} by a reverse proxy, its public base URL naming that path',
  async function (this: ConformanceWorld, prefix: string) {
    await gatewayUnderPathPrefix(this, prefix);
  },
);

Then(
  'the gateway was reached only through its path prefix, for every request of the login',
  async function (this: ConformanceWorld) {
    const { outside, browserElsewhere, notRelayed } = await loginPastThePrefix(this);
    assert.deepEqual(outside, [], `requests were sent outside the path prefix: ${outside.join(', ')}`);
    assert.deepEqual(
      browserElsewhere,
      [],
      `the browser was answered past the reverse proxy's prefix: ${browserElsewhere.join(', ')}`,
    );
    assert.deepEqual(notRelayed, [], `the login never sent these through the prefix: ${notRelayed.join(', ')}`);
  },
);

When("a native CLI reads the gateway's discovery document", async function (this: ConformanceWorld) {
  await readDiscovery(this);
});

Then(
  /^the discovery document is exactly, where \{base\} is the gateway's base URL:$/,
  async function (this: ConformanceWorld, table: DataTable) {
    const answer = this.lastAnswer;
    assert.ok(answer, 'the discovery document was not read');
    assert.equal(answer.status, 200, answer.text.slice(0, 300));
    const base = await nativeBaseUrl(this);
    const expected = Object.fromEntries(
      table.raw().map(([field, json]) => [field, JSON.parse((json ?? '').replaceAll('{base}', base)) as unknown]),
    );
    assert.deepEqual(answer.json, expected, `the discovery document: ${answer.text.slice(0, 600)}`);
  },
);

// ---- Registration ----

When('a native CLI registers {int} loopback redirect URIs', async function (this: ConformanceWorld, count: number) {
  const uris = Array.from({ length: count }, (_, i) => `http://127.0.0.1:${8400 + i}/callback`);
  await registerRedirectUris(this, uris);
});

When(
  'a native CLI registers the redirect URI {string} lengthened to {int} characters',
  async function (this: ConformanceWorld, uri: string, length: number) {
    assert.ok(uri.length <= length, `"${uri}" is already longer than ${length} characters`);
    const lengthened = `${uri}${'a'.repeat(length - uri.length)}`;
    await registerRedirectUris(this, [lengthened]);
  },
);

When('a native CLI registers the redirect URI {string}', async function (this: ConformanceWorld, uri: string) {
  await registerRedirectUris(this, [uri]);
});

Then(/^the registration answers 201 with a public client$/, function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'nothing was registered');
  assert.equal(answer.status, 201, `POST /register answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const body = answer.json as Record<string, unknown>;
  const registered = this.state.nativeClient;
  assert.ok(typeof body?.['client_id'] === 'string' && registered, `no client_id: ${answer.text.slice(0, 300)}`);
  assert.deepEqual(body['redirect_uris'], registered.redirectUris, 'the registered redirect_uris are not echoed');
  assert.equal(body['token_endpoint_auth_method'], 'none', 'the client is not public');
});

Then(/^the registration answers (4\d\d) (\w+)$/, function (this: ConformanceWorld, status: string, error: string) {
  assert.ok(this.lastAnswer, 'nothing was registered');
  expectOAuthError(this.lastAnswer, Number(status), error, 'POST /register');
});

// ---- Authorize ----

Given('a native CLI registered its loopback redirect', async function (this: ConformanceWorld) {
  await registeredClient(this);
});

Given(
  'a native CLI registered its loopback redirect and {string}',
  async function (this: ConformanceWorld, other: string) {
    await registeredClient(this, [other]);
  },
);

When(
  /^it sends an authorize request with (\w+) set to "(.*)"$/,
  async function (this: ConformanceWorld, parameter: string, value: string) {
    await authorizeOverHttp(this, { [parameter]: value });
  },
);

Then(
  /^the authorize endpoint answers (4\d\d) (\w+)$/,
  function (this: ConformanceWorld, status: string, error: string) {
    assert.ok(this.lastAnswer, 'no authorize request was sent');
    expectOAuthError(this.lastAnswer, Number(status), error, 'GET /authorize');
  },
);

Then('that answer neither redirects nor sets a cookie', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer);
  assert.equal(answer.headers.location, undefined, `the answer redirects to ${answer.headers.location}`);
  assert.equal(answer.headers['set-cookie'], undefined, 'the answer sets a cookie');
});

Then('the gateway sends the browser on to sign in', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer);
  assert.ok(
    [302, 303, 307].includes(answer.status) && typeof answer.headers.location === 'string',
    `GET /authorize answered ${answer.status}, not a redirect to the sign-in: ${answer.text.slice(0, 300)}`,
  );
});

// ---- The walk in the browser ----

When("it sends the browser to the gateway's authorize endpoint", async function (this: ConformanceWorld) {
  await newSignIn(this);
  await openAuthorizeInBrowser(this);
});

When("{string} signs in at the IdP's page", async function (this: ConformanceWorld, username: string) {
  await signInAtIdpPageAs(this, username);
});

Then(
  "the consent page names the CLI's loopback origin and {string}",
  async function (this: ConformanceWorld, userId: string) {
    const text = await (await consentPage(this)).text();
    const listener = await loopbackListener(this);
    const origin = new URL(listener.redirectUri).origin;
    assert.ok(text.includes(origin), `the consent page does not name ${origin}: ${text.slice(0, 500)}`);
    assert.ok(text.includes(userId), `the consent page does not name ${userId}: ${text.slice(0, 500)}`);
  },
);

/**
 * CLISSO-NATIVE-23: the consent page names the user and the teams as text. A gateway may refuse such
 * an identity at its sign-in instead (as at the callback, CLISSO-CALLBACK-04): then no consent page,
 * and no markup on the refusal either.
 */
Then("the consent page shows no markup from the IdP's claims", async function (this: ConformanceWorld) {
  const seen = await pageAfterSignIn(this, 'markup-from-idp');
  assert.equal(
    seen.elements,
    0,
    `markup from the IdP was rendered as HTML on the ${seen.consentShown ? 'consent page' : "gateway's page"}`,
  );
});

Then(
  'the consent page attributes the credential to the team {string} without a choice',
  async function (this: ConformanceWorld, teamId: string) {
    const choice = await (await consentPage(this)).teamChoice();
    assert.deepEqual(choice, { kind: 'hidden', teams: [teamId] });
  },
);

Then(
  'the consent page offers the teams {string} to choose from',
  async function (this: ConformanceWorld, teams: string) {
    const choice = await (await consentPage(this)).teamChoice();
    assert.equal(choice.kind, 'list', `the consent page offers no choice of team: ${JSON.stringify(choice)}`);
    assert.deepEqual(
      [...choice.teams].sort(),
      teams
        .split(',')
        .map((t) => t.trim())
        .sort(),
    );
  },
);

Then('the consent page asks for no team', async function (this: ConformanceWorld) {
  const choice = await (await consentPage(this)).teamChoice();
  assert.deepEqual(choice, { kind: 'none', teams: [] }, 'a user without a team was offered one');
});

When('the person approves', async function (this: ConformanceWorld) {
  await decideOnConsent(this, 'approve');
});

When('the person picks the team {string} and approves', async function (this: ConformanceWorld, teamId: string) {
  await decideOnConsent(this, 'approve', teamId);
});

When('the person denies', async function (this: ConformanceWorld) {
  await decideOnConsent(this, 'deny');
});

Then("the CLI's loopback listener receives a code and the state it sent", function (this: ConformanceWorld) {
  receivedCode(this);
  assert.equal(this.state.nativeCallback?.get('state'), this.state.nativeSignIn?.state, 'the state came back changed');
});

Then(
  "the CLI's loopback listener receives the error {string}, the state it sent, and no code",
  function (this: ConformanceWorld, error: string) {
    const callback = this.state.nativeCallback;
    assert.ok(callback, 'the loopback listener received nothing');
    assert.equal(callback.get('error'), error, `the callback carried ${callbackShown(callback)}`);
    assert.equal(callback.get('state'), this.state.nativeSignIn?.state, 'the state came back changed');
    assert.equal(callback.get('code'), null, 'a denied sign-in sent a code');
  },
);

When('the CLI redeems the code with its verifier', async function (this: ConformanceWorld) {
  await redeemCode(this);
});

Then(
  'the token endpoint answers 200 with tokens for {string} and the team {string}, not to be cached',
  async function (this: ConformanceWorld, userId: string, teamId: string) {
    const answer = this.lastAnswer;
    assert.ok(answer);
    const tokens = expectTokens(answer);
    assert.equal(tokens.user_id, userId, `the token answer's user_id is ${JSON.stringify(tokens.user_id)}`);
    assert.equal(tokens.team_id, teamId, `the token answer's team_id is ${JSON.stringify(tokens.team_id)}`);
    // The access token is a CLI key: it lives the configured lifetime (a second or two may have gone).
    const lifetime = await configuredKeyLifetimeSeconds(this);
    assert.ok(
      tokens.expires_in <= lifetime && tokens.expires_in >= lifetime - 5,
      `the token answer's expires_in is ${tokens.expires_in} s; the gateway's CLI keys live ${lifetime} s`,
    );
  },
);

// The access token is a CLI key (docs/contract.md section 6): past its expiry, 400 expired_key.
Then(/^the access token is refused as expired on \/v1\/models$/, async function (this: ConformanceWorld) {
  const tokens = this.state.nativeTokens;
  assert.ok(tokens, 'the CLI holds no access token');
  expectExpiredKeyRefusal(await modelsWith(this, tokens.access_token), '/v1/models');
});

Then(/^the access token lists the models on \/v1\/models$/, async function (this: ConformanceWorld) {
  const tokens = this.state.nativeTokens;
  assert.ok(tokens, 'the CLI holds no access token');
  const answer = await modelsWith(this, tokens.access_token);
  assert.equal(
    answer.status,
    200,
    `GET /v1/models with the access token answered ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
  assert.equal((answer.json as { object?: unknown } | undefined)?.object, 'list', answer.text.slice(0, 300));
});

// ---- The code ----

Given('a native CLI got a code for {string}', async function (this: ConformanceWorld, username: string) {
  await codeFor(this, username);
});

Given(
  'a native CLI with a code verifier of {int} characters got a code for {string}',
  async function (this: ConformanceWorld, length: number, username: string) {
    await codeFor(this, username, length);
  },
);

Given(
  'a native CLI that registered a second loopback redirect got a code for {string} on the first',
  async function (this: ConformanceWorld, username: string) {
    // The second URI is the listener's own with another port: registered, never listened on.
    const listener = await loopbackListener(this);
    const second = new URL(listener.redirectUri);
    second.port = String(Number(second.port) === 65535 ? 65534 : Number(second.port) + 1);
    await registeredClient(this, [second.href]);
    await codeFor(this, username);
  },
);

When('the CLI redeems the code with its verifier and its second redirect URI', async function (this: ConformanceWorld) {
  const second = this.state.nativeClient?.redirectUris[1];
  assert.ok(second, 'the CLI registered no second redirect URI');
  await redeemCode(this, { redirect_uri: second });
});

/** Secrets of another deployment: a gateway that shares none of the scenario's gateway's secrets. */
const OTHER_DEPLOYMENT = {
  LITELLM_MASTER_KEY: 'sk-conformance-mixup-master-0123456789abcdef',
  LITELLM_SALT_KEY: 'conformance-mixup-salt-0123456789abcdefghij',
};

/**
 * The code sent to another gateway's token endpoint, with everything else the CLI would send the
 * first (its client id too), or as a client registered at the other gateway.
 */
When(
  /^the CLI redeems the code at another gateway, with secrets of its own, (as it would at the first|as a client registered there)$/,
  async function (this: ConformanceWorld, how: string) {
    const h = await this.harness();
    const other = await h.gateways.acquire({ ...(await this.gatewayEnv()), ...OTHER_DEPLOYMENT });
    this.cleanups.push(() => h.gateways.retire(other));
    const endpoints = await nativeEndpointsOn(this, other);
    const client =
      how === 'as a client registered there' ? { client_id: await clientRegisteredAt(this, endpoints) } : {};
    await redeemCode(this, client, endpoints);
  },
);

Then('the token endpoint refuses it with a 4xx, and no tokens', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'nothing was sent to the token endpoint');
  // An unknown client (401 invalid_client) or a code it cannot use (400 invalid_grant): both refuse.
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `the other gateway's token endpoint answered ${answer.status}, not a 4xx${answer.status === 200 ? ' (with tokens)' : ''}`,
  );
});

Given('the CLI redeemed the code with its verifier', async function (this: ConformanceWorld) {
  expectTokens(await redeemCode(this));
});

Then('the token endpoint answers 200 with tokens', function (this: ConformanceWorld) {
  assert.ok(this.lastAnswer);
  expectTokens(this.lastAnswer);
});

Then(/^the token endpoint answers (4\d\d) (\w+)$/, function (this: ConformanceWorld, status: string, error: string) {
  assert.ok(this.lastAnswer, 'nothing was sent to the token endpoint');
  expectOAuthError(this.lastAnswer, Number(status), error, 'POST /token');
});

When(
  'the CLI redeems the code with another verifier of {int} characters',
  async function (this: ConformanceWorld, length: number) {
    await redeemCode(this, { code_verifier: pkcePair(length).verifier });
  },
);

When(
  'the CLI redeems the code with its verifier for the resource {string}',
  async function (this: ConformanceWorld, resource: string) {
    await redeemCode(this, { resource });
  },
);

Given('another native CLI registered the same loopback redirect', async function (this: ConformanceWorld) {
  const listener = await loopbackListener(this);
  const first = this.state.nativeClient;
  const answer = await registerRedirectUris(this, [listener.redirectUri]);
  assert.equal(answer.status, 201, answer.text.slice(0, 300));
  // The first CLI's client stays the one its sign-in was made with; the other's is noted apart.
  this.state.otherNativeClientId = this.state.nativeClient?.clientId;
  if (first) this.state.nativeClient = first;
  assert.notEqual(this.state.otherNativeClientId, first?.clientId, 'two registrations gave the same client id');
});

When('the other CLI redeems the code with the verifier', async function (this: ConformanceWorld) {
  assert.ok(this.state.otherNativeClientId, 'no other client was registered');
  await redeemCode(this, { client_id: this.state.otherNativeClientId });
});

/**
 * Put the gateway's clock so that something it issued is at most, or at least, N seconds old by it.
 * The harness knows when it was issued only as lying between its request and the answer (for a code:
 * the click on Approve and the redirect reaching the listener): counted from the request, it is no
 * older than N; counted from the answer, no younger. The clock is set once more after
 * moveGatewayClock's own check, so that its time is not added.
 */
async function ageByGatewayClock(
  world: ConformanceWorld,
  issued: { fromMs: number; toMs: number },
  bound: string,
  seconds: string,
): Promise<void> {
  const targetS = (bound === 'at most' ? issued.fromMs : issued.toMs) / 1000 + Number(seconds);
  await world.moveGatewayClock(targetS - Date.now() / 1000);
  await (await world.gatewayClock()).setOffsetSeconds(targetS - Date.now() / 1000);
}

When(
  /^the code is (at most|at least) (\d+) seconds old by the gateway's clock$/,
  async function (this: ConformanceWorld, bound: string, seconds: string) {
    const decided = this.state.nativeDecided;
    assert.ok(decided, 'no code was issued');
    await ageByGatewayClock(this, decided, bound, seconds);
  },
);

// ---- The consent answer (CLISSO-NATIVE-19) ----

When(
  /^the harness notes the consent form shown to "([^"]+)"(, with its flow handle altered)?$/,
  async function (this: ConformanceWorld, _username: string, altered: string | null) {
    const form = await approvalForm(this);
    this.state.notedConsentForm = altered ? withAlteredFlow(form) : form;
  },
);

Given(
  'the harness notes the consent form shown to {string}, naming the team {string}',
  async function (this: ConformanceWorld, _username: string, teamId: string) {
    this.state.notedConsentForm = withTeam(await approvalForm(this), teamId);
  },
);

When(
  "the noted consent form is posted, approving, without the browser's cookies",
  async function (this: ConformanceWorld) {
    const form = this.state.notedConsentForm;
    assert.ok(form, 'no consent form was noted');
    await postConsentFormWithoutSession(this, form);
  },
);

When(
  /^(?:"[^"]+"'s browser|the browser) posts the noted consent form, approving$/,
  async function (this: ConformanceWorld) {
    const form = this.state.notedConsentForm;
    assert.ok(form, 'no consent form was noted');
    await postConsentFormFromBrowser(this, form);
  },
);

Then('the consent post is refused with a 4xx, without a redirect', function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no consent form was posted');
  // The Location of a redirect may carry a code: only the status is shown.
  assert.equal(answer.headers.location, undefined, `the consent post redirects (${answer.status})`);
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `POST /authorize/complete answered ${answer.status}, not a 4xx: ${answer.status < 300 ? '(body not shown)' : answer.text.slice(0, 300)}`,
  );
});

Then(
  /^the CLI's loopback listener received (no|exactly one) code$/,
  async function (this: ConformanceWorld, how: string) {
    const listener = await loopbackListener(this);
    const withCode = listener.callbacks.filter((callback) => callback.has('code'));
    assert.equal(withCode.length, how === 'no' ? 0 : 1, `the loopback listener received ${withCode.length} code(s)`);
  },
);

// ---- Refresh and revocation ----

Given('a native CLI signed in as {string}', async function (this: ConformanceWorld, username: string) {
  await signedInNatively(this, username);
});

When('the CLI refreshes its tokens', async function (this: ConformanceWorld) {
  await refreshTokens(this);
});

Given('the CLI refreshed its tokens', async function (this: ConformanceWorld) {
  expectTokens(await refreshTokens(this));
});

Then('the new refresh token is not the one it replaced', function (this: ConformanceWorld) {
  const replaced = this.state.replacedRefreshToken;
  assert.ok(replaced, 'no refresh token was replaced');
  assert.notEqual(this.state.nativeTokens?.refresh_token, replaced, 'the refresh token was not replaced');
});

When('the CLI refreshes with the refresh token it replaced', async function (this: ConformanceWorld) {
  const replaced = this.state.replacedRefreshToken;
  assert.ok(replaced, 'no refresh token was replaced');
  await refreshTokens(this, replaced);
});

When("the other CLI refreshes with the first CLI's refresh token", async function (this: ConformanceWorld) {
  const token = this.state.nativeTokens?.refresh_token;
  assert.ok(token && this.state.otherNativeClientId, 'no refresh token, or no other client');
  await refreshTokens(this, token, this.state.otherNativeClientId);
});

When('the CLI revokes the token {string}', async function (this: ConformanceWorld, token: string) {
  await revokeToken(this, token);
});

When('the CLI revokes its refresh token', async function (this: ConformanceWorld) {
  const token = this.state.nativeTokens?.refresh_token;
  assert.ok(token, 'the CLI holds no refresh token');
  await revokeToken(this, token);
});

When("the other CLI revokes the first CLI's refresh token", async function (this: ConformanceWorld) {
  const token = this.state.nativeTokens?.refresh_token;
  assert.ok(token && this.state.otherNativeClientId, 'no refresh token, or no other client');
  await revokeToken(this, token, this.state.otherNativeClientId);
});

When(
  'the CLI revokes its refresh token with the client id {string}',
  async function (this: ConformanceWorld, clientId: string) {
    const token = this.state.nativeTokens?.refresh_token;
    assert.ok(token, 'the CLI holds no refresh token');
    await revokeToken(this, token, clientId);
  },
);

Then(
  /^the revocation endpoint answers (4\d\d) (\w+)$/,
  function (this: ConformanceWorld, status: string, error: string) {
    assert.ok(this.lastAnswer, 'no revocation was sent');
    expectOAuthError(this.lastAnswer, Number(status), error, 'POST /revoke');
  },
);

// The 14-day edge (CLISSO-NATIVE-21), and the access token's lifetime (CLISSO-NATIVE-09), by the
// gateway's own clock, counted as the code's 120 s are: both come from one token answer.
When(
  /^the (?:refresh|access) token is (at most|at least) (\d+) seconds old by the gateway's clock$/,
  async function (this: ConformanceWorld, bound: string, seconds: string) {
    const issued = this.state.nativeTokensIssued;
    assert.ok(issued, 'no tokens were issued');
    await ageByGatewayClock(this, issued, bound, seconds);
  },
);

Then(/^the revocation endpoint answers 200 \{\}$/, function (this: ConformanceWorld) {
  const answer = this.lastAnswer;
  assert.ok(answer);
  assert.equal(answer.status, 200, `POST /revoke answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  assert.deepEqual(answer.json, {}, `POST /revoke answered ${answer.text.slice(0, 300)}`);
});

// ---- The sign-in's return_to (CLISSO-NATIVE-17) ----

When(
  'a browser without a session opens the sign-in with return_to {string}, and {string} signs in if asked',
  async function (this: ConformanceWorld, returnTo: string, username: string) {
    this.state.returnedSignIn = await signInReturningTo(this, returnTo, username);
  },
);

Then('the browser was never sent off the gateway', function (this: ConformanceWorld) {
  const signIn = this.state.returnedSignIn;
  assert.ok(signIn, 'no sign-in with a return_to was opened');
  const offSite = signIn.visited.filter((address) => !signIn.allowedOrigins.has(originOf(address)));
  assert.deepEqual(
    offSite,
    [],
    `the sign-in sent the browser off the gateway, to ${offSite.map(withoutQuery).join(', ')} (pages visited: ${signIn.visited.map(withoutQuery).join(' -> ')})`,
  );
});

/** An address's origin, or the address itself when it has none (`about:blank`, an error page). */
function originOf(address: string): string {
  return URL.canParse(address) ? new URL(address).origin : address;
}

/** An address without its query: the IdP's callback carries a code and a state, which a report must not show. */
function withoutQuery(address: string): string {
  const at = address.search(/[?#]/);
  return at < 0 ? address : `${address.slice(0, at)}?…`;
}
