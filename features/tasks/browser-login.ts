/**
 * Tasks where the harness plays the CLI over HTTP and a person uses the real browser: start a
 * session, sign in at the IdP, confirm the code, poll until the answer is no longer pending.
 */
import assert from 'node:assert/strict';
import { browserLoginUrl, CLI_SSO_PATHS, parsePollAnswer, parseStartAnswer } from '../../protocol/cli-sso.ts';
import type { RunningGateway } from '../drivers/gateway.ts';
import { GatewayHttp, type HttpAnswer, type PollRequest } from '../drivers/gateway-http.ts';
import type { NavigationEnd, ReadyAnswer } from '../support/scenario-state.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { confirmCode, waitForCodePage } from './code-confirmation.ts';

const POLL_DEADLINE_MS = 15_000;
const POLL_EVERY_MS = 100;

/**
 * Now on the gateway's clock, in seconds: the real time plus however far this scenario moved it. The
 * moments a session was started and written are kept on that clock, so that a later step can put the
 * clock a given number of seconds after them (polling.steps.ts, "the session is at most N seconds old").
 */
export function gatewayNowSeconds(world: ConformanceWorld): number {
  return Date.now() / 1000 + (world.startedGateway?.clock?.offset ?? 0);
}

/**
 * POST /sso/cli/start as a CLI would, to the scenario's gateway or to `on` (a replica); the session
 * is remembered by the world.
 */
export async function startSession(world: ConformanceWorld, on?: RunningGateway): Promise<HttpAnswer> {
  const gateway = on ?? (await world.gateway());
  await gateway.admitLoginStart();
  const from = gatewayNowSeconds(world);
  const answer = await (await world.http(gateway)).start();
  // The gateway made the session while the request was under way: between these two moments.
  world.state.sessionStarted = { from, to: gatewayNowSeconds(world) };
  world.lastAnswer = answer;
  if (answer.status === 200) world.flow = parseStartAnswer(answer.json);
  return answer;
}

export async function startedSession(world: ConformanceWorld): Promise<NonNullable<ConformanceWorld['flow']>> {
  const answer = await startSession(world);
  assert.equal(answer.status, 200, `POST /sso/cli/start answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return world.flow as NonNullable<ConformanceWorld['flow']>;
}

export function sessionLoginUrl(world: ConformanceWorld, gatewayUrl: string): string {
  assert.ok(world.flow, 'no login session was started');
  return browserLoginUrl(gatewayUrl, world.flow.loginId);
}

/**
 * The browser opens the session's login URL and the person signs in at the IdP as someone who
 * already has a session there, as most people at a company with single sign-on do: the IdP signs
 * them in without showing its page (the mock IdP's auto-login, which is also how LiteLLM's own mock
 * IdP answers). The gateway sees the same authorization request, redirect to its callback, code
 * exchange and userinfo call either way, and the browser still goes through all of them. The IdP's
 * sign-in page (IdpLoginPage) is used where a person types at the IdP: the CLI logins, the
 * admin-UI login, denying the login and signing in with a password.
 */
export async function signInAtIdp(
  world: ConformanceWorld,
  username: string,
  gatewayUrl?: string,
): Promise<NavigationEnd | undefined> {
  return signInThrough(world, username, sessionLoginUrl(world, gatewayUrl ?? (await world.gateway()).url));
}

/** {@link signInAtIdp} from another address than the session's login URL (a verification_uri_complete). */
export async function signInThrough(
  world: ConformanceWorld,
  username: string,
  url: string,
): Promise<NavigationEnd | undefined> {
  const page = await world.browserPage();
  const { idp } = await world.harness();
  idp.setAutoLogin(username);
  // The IdP callback writes the session (and may be when a gateway makes the key): it happens after
  // the browser set off and before its last page has loaded.
  const began = Date.now();
  const from = gatewayNowSeconds(world);
  let answer: Awaited<ReturnType<typeof page.goto>>;
  try {
    // The last answer of the navigation, after every redirect: normally the gateway's callback.
    answer = await page.goto(url);
  } finally {
    idp.setAutoLogin(undefined);
  }
  world.state.signInBeganMs = began;
  world.state.sessionWritten = { from, to: gatewayNowSeconds(world) };
  return answer ? { status: answer.status(), url: answer.url() } : undefined;
}

/** Sign in and wait for the gateway's completion page. */
export async function reachCompletionPage(
  world: ConformanceWorld,
  username: string,
  gatewayUrl?: string,
): Promise<void> {
  await signInAtIdp(world, username, gatewayUrl);
  await waitForCodePage(world);
}

/** Sign in and confirm the code the CLI would have shown. */
export async function signInAndConfirm(world: ConformanceWorld, username: string): Promise<void> {
  await signInAtIdp(world, username);
  await confirmCode(world);
}

/** One poll with the session's own secret (unless the request says otherwise). */
export async function pollSession(
  world: ConformanceWorld,
  request: Partial<PollRequest> = {},
  gatewayUrl?: string,
): Promise<HttpAnswer> {
  assert.ok(world.flow, 'no login session was started');
  const http = gatewayUrl ? new GatewayHttp(gatewayUrl) : await world.http();
  const answer = await http.poll({ loginId: world.flow.loginId, pollSecret: world.flow.pollSecret, ...request });
  world.lastAnswer = answer;
  return answer;
}

/**
 * Poll until the answer is not "pending" or the deadline passes (the browser's last request may
 * still be landing); returns the last answer. Polls every 100 ms: a deadline, not a sleep.
 */
export async function pollUntilSettled(
  world: ConformanceWorld,
  request: Partial<PollRequest> = {},
  gatewayUrl?: string,
): Promise<HttpAnswer> {
  const deadline = Date.now() + POLL_DEADLINE_MS;
  for (;;) {
    const answer = await pollSession(world, request, gatewayUrl);
    const pending = answer.status === 200 && parsePollAnswer(answer.json).status === 'pending';
    if (!pending || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
  }
}

/** Expect a 200 ready answer with a key; remember the key and when it arrived. */
export function expectReady(world: ConformanceWorld, answer: HttpAnswer): ReadyAnswer {
  assert.equal(answer.status, 200, `the poll answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const parsed = parsePollAnswer(answer.json);
  assert.equal(parsed.status, 'ready', `the poll answered ${JSON.stringify(answer.json)}`);
  const ready = parsed as ReadyAnswer;
  world.key = ready.key;
  world.keyReceivedAtMs = Date.now();
  world.state.readyAnswer = ready;
  return ready;
}

/**
 * The whole login with the harness as the CLI: start, browser, code, poll until the key. Given
 * `teamId`, the harness is a CLI that asks at once for that team of a person in several (poll step 5
 * of docs/contract.md section 2.5).
 */
export async function logInThroughBrowser(
  world: ConformanceWorld,
  username: string,
  teamId?: string,
): Promise<ReadyAnswer> {
  await startedSession(world);
  await signInAndConfirm(world, username);
  return expectReady(world, await pollUntilSettled(world, teamId === undefined ? {} : { teamId }));
}

/**
 * The browser's cookies walk the redirects from `startUrl` through the IdP (signed in as `username`
 * without its page) one by one, up to the gateway's callback, which is returned undelivered: a
 * browser would follow them, and a redirect cannot be held back inside a navigation.
 */
export async function walkToCallback(world: ConformanceWorld, startUrl: string, username: string): Promise<URL> {
  const gateway = await world.gateway();
  const callback = `${gateway.url}${CLI_SSO_PATHS.callback}?`;
  const page = await world.browserPage();
  const { idp } = await world.harness();
  idp.setAutoLogin(username);
  let next = startUrl;
  try {
    for (let hop = 0; !next.startsWith(callback); hop += 1) {
      assert.ok(hop < 12, `the IdP did not send the browser back to ${callback} within 12 redirects`);
      const answer = await page.request.get(next, { maxRedirects: 0 });
      const location = answer.headers().location;
      assert.ok(location, `${new URL(next).pathname} answered ${answer.status()} without a redirect`);
      next = new URL(location, next).href;
    }
  } finally {
    idp.setAutoLogin(undefined);
  }
  return new URL(next);
}

/** `count` starts straight at the gateway, past the harness's own start budget: the limit is what is tested. */
export async function startWithinAMinute(world: ConformanceWorld, count: number, on?: RunningGateway): Promise<void> {
  const http = await world.http(on);
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const answer = await http.start();
    assert.equal(
      answer.status,
      200,
      `start #${i + 1} of ${count} answered ${answer.status}: the limit is more than 30 a minute`,
    );
  }
  assert.ok(Date.now() - started < 60_000, 'the starts took more than a minute');
}

export async function startOneMore(world: ConformanceWorld, on?: RunningGateway): Promise<void> {
  world.flow = undefined;
  world.lastAnswer = await (await world.http(on)).start();
}
