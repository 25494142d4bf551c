/**
 * The harness playing a native CLI of the PKCE-native login (docs/contract.md section 10.6), with
 * no CLI under test: it reads the discovery document, registers a loopback redirect, builds the
 * authorize URL with an S256 challenge, catches the browser's redirect on a loopback listener of
 * its own, and speaks to the token and revocation endpoints over HTTP. A person's part (signing in
 * at the IdP, the consent page) happens in the real browser.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Request } from 'playwright-core';
import { z } from 'zod';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import { NATIVE_LOGIN_PATHS } from '../../protocol/native-login.ts';
import type { RunningGateway } from '../drivers/gateway.ts';
import { GatewayHttp, type HttpAnswer } from '../drivers/gateway-http.ts';
import { LoopbackListener } from '../drivers/loopback-listener.ts';
import { WireTap } from '../drivers/wire-tap.ts';
import { type ConsentForm, ConsentPage } from '../pages/consent-page.ts';
import { GATEWAY_PATH_PREFIX, UNDER_PATH_CLIENT_ID } from '../support/harness.ts';
import type { NativeEndpoints, NativeSignIn, NativeTokens, ReturnedSignIn } from '../support/scenario-state.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { expectShape } from './gateway-answers.ts';
import { publicBaseUrl } from './gateway-setup.ts';
import { signInAtIdpPageAs } from './idp-sign-in.ts';
import { isNearMiss, nearMiss } from './near-misses.ts';

export const DISCOVERY_PATH = NATIVE_LOGIN_PATHS.discovery;
/** How long the loopback listener waits for the browser's redirect after a decision. */
const CALLBACK_DEADLINE_MS = 15_000;

const endpointsSchema = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  registration_endpoint: z.string(),
  revocation_endpoint: z.string(),
  resource: z.string(),
});

/**
 * The native CLI's gateway over HTTP: the scenario's gateway, or the relay that serves it under a
 * path prefix once gatewayUnderPathPrefix has put one in front of it.
 */
async function nativeHttp(world: ConformanceWorld): Promise<GatewayHttp> {
  const relay = world.state.nativeRelay;
  return relay ? new GatewayHttp(relay.url) : world.http();
}

/**
 * The base URL the native CLI was given, which a discovery document must name: the gateway's
 * public base URL, or the relay's URL with its path prefix.
 */
export async function nativeBaseUrl(world: ConformanceWorld): Promise<string> {
  const base = world.state.nativeRelay?.url ?? publicBaseUrl(await world.gateway());
  return base.replace(/\/+$/, '');
}

/**
 * Put a gateway behind a relay that serves it under `prefix`, as a reverse proxy mounting it at
 * `https://host/litellm` does, and point the native CLI at the relay: the gateway is started with
 * PROXY_BASE_URL = the relay's URL with the prefix (so it must exist first) and signs in with the
 * harness IdP's client whose callback is under the prefix (CLISSO-NATIVE-01). The scenario's
 * settings apply; the gateway is retired and the relay closed after the scenario. A gateway the
 * harness did not start cannot be told its base URL: the scenario is skipped.
 */
export async function gatewayUnderPathPrefix(world: ConformanceWorld, prefix: string): Promise<WireTap> {
  const h = await world.harness();
  if (h.gateways.target.kind === 'url')
    throw new ConfigurationNotOffered(
      `is a running gateway: the harness cannot start it with PROXY_BASE_URL under the path ${prefix}`,
    );
  assert.equal(
    prefix,
    GATEWAY_PATH_PREFIX,
    `the harness IdP knows a gateway callback under ${GATEWAY_PATH_PREFIX} only (support/harness.ts)`,
  );
  const relay = new WireTap(undefined, prefix);
  await relay.start();
  world.cleanups.push(() => relay.close());
  const client = h.idp.gatewayEnv(UNDER_PATH_CLIENT_ID);
  const env = await world.gatewayEnv({
    PROXY_BASE_URL: relay.url,
    GENERIC_CLIENT_ID: client.GENERIC_CLIENT_ID ?? UNDER_PATH_CLIENT_ID,
    ...(client.GENERIC_CLIENT_SECRET === undefined ? {} : { GENERIC_CLIENT_SECRET: client.GENERIC_CLIENT_SECRET }),
  });
  const gateway = await h.gateways.acquire(env);
  world.cleanups.push(() => h.gateways.retire(gateway));
  relay.forwardTo(new URL(gateway.url));
  world.state.nativeRelay = relay;
  // The endpoints read so far are the scenario's gateway's at its root: read again, through the relay.
  world.state.nativeEndpoints = undefined;
  return relay;
}

/** The requests a login under a path prefix must have sent through the relay, by method and gateway path. */
const LOGIN_THROUGH_PREFIX: ReadonlyArray<readonly [string, string]> = [
  ['GET', NATIVE_LOGIN_PATHS.discovery],
  ['POST', NATIVE_LOGIN_PATHS.register],
  ['GET', NATIVE_LOGIN_PATHS.authorize],
  ['GET', CLI_SSO_PATHS.callback],
  ['POST', NATIVE_LOGIN_PATHS.complete],
  ['POST', NATIVE_LOGIN_PATHS.token],
  ['GET', CLI_SSO_PATHS.v1Models],
];

/**
 * How a login went with the gateway behind its relay: the requests the relay got outside its path
 * prefix (answered 404 by the relay, never seen by the gateway), the addresses the browser was
 * answered from that are neither the relay under its prefix, nor the IdP, nor the CLI's loopback
 * listener (the gateway reached past the relay), and the login's requests the relay never saw.
 * Paths are shown without their query, which may carry a code or a state.
 */
export async function loginPastThePrefix(
  world: ConformanceWorld,
): Promise<{ outside: string[]; browserElsewhere: string[]; notRelayed: string[] }> {
  const relay = world.state.nativeRelay;
  assert.ok(relay, 'the gateway is not served under a path prefix in this scenario');
  const outside = relay.outsidePrefix().map((e) => `${e.method} ${e.route}`);
  const idpOrigin = new URL((await world.harness()).idp.url).origin;
  const listenerOrigin = new URL((await loopbackListener(world)).redirectUri).origin;
  const underPrefix = (url: URL) => `${url.origin}${url.pathname}`.startsWith(`${relay.url}/`);
  const browserElsewhere = world.browserResponses
    .map((response) => new URL(response.url))
    .filter((url) => url.origin !== idpOrigin && url.origin !== listenerOrigin && !underPrefix(url))
    .map((url) => `${url.origin}${url.pathname}`);
  const notRelayed = LOGIN_THROUGH_PREFIX.filter(
    ([method, path]) => !relay.exchanges.some((e) => e.method === method && e.route === path),
  ).map(([method, path]) => `${method} ${relay.pathPrefix}${path}`);
  return { outside, browserElsewhere, notRelayed };
}

/** GET the discovery document as a CLI would, on the scenario's gateway (through its relay, if any). */
export async function readDiscovery(world: ConformanceWorld): Promise<HttpAnswer> {
  const answer = await (await nativeHttp(world)).send('GET', DISCOVERY_PATH);
  world.lastAnswer = answer;
  return answer;
}

/**
 * The endpoints of a gateway that advertises the PKCE-native login. A gateway whose discovery
 * document answers 404 speaks only the classic contract: the scenario is skipped, not failed.
 */
export async function nativeEndpoints(world: ConformanceWorld): Promise<NativeEndpoints> {
  if (world.state.nativeEndpoints) return world.state.nativeEndpoints;
  const answer = await readDiscovery(world);
  if (answer.status === 404)
    throw new ConfigurationNotOffered(
      `does not advertise the PKCE-native login (GET ${DISCOVERY_PATH} answered 404: the classic v3 contract only)`,
    );
  assert.equal(answer.status, 200, `GET ${DISCOVERY_PATH} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const endpoints = expectShape(endpointsSchema, answer.json, 'the discovery document', answer.text.slice(0, 300));
  world.state.nativeEndpoints = endpoints;
  return endpoints;
}

/**
 * The endpoints of another gateway the scenario started (a replica), read from its own discovery
 * document; skipped, as nativeEndpoints, when it does not advertise the PKCE-native login.
 */
export async function nativeEndpointsOn(world: ConformanceWorld, on: RunningGateway): Promise<NativeEndpoints> {
  const answer = await (await world.http(on)).send('GET', DISCOVERY_PATH);
  if (answer.status === 404)
    throw new ConfigurationNotOffered(
      `does not advertise the PKCE-native login (GET ${DISCOVERY_PATH} answered 404: the classic v3 contract only)`,
    );
  assert.equal(answer.status, 200, `GET ${DISCOVERY_PATH} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  return expectShape(endpointsSchema, answer.json, 'the discovery document', answer.text.slice(0, 300));
}

/** One request to an endpoint the discovery document named; redirects are answers, not followed. */
async function call(
  endpoint: string,
  method: string,
  init: { headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  const url = new URL(endpoint);
  return new GatewayHttp(url.origin).send(method, `${url.pathname}${url.search}`, init);
}

function postForm(endpoint: string, fields: Record<string, string | undefined>): Promise<HttpAnswer> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) body.set(name, value);
  return call(endpoint, 'POST', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: body.toString(),
  });
}

/** The CLI's loopback listener, started on first use and closed after the scenario. */
export async function loopbackListener(world: ConformanceWorld): Promise<LoopbackListener> {
  if (world.state.nativeListener) return world.state.nativeListener;
  const listener = await LoopbackListener.start();
  world.cleanups.push(() => listener.close());
  world.state.nativeListener = listener;
  return listener;
}

/** POST /register (RFC 7591) at a gateway's registration endpoint, with these redirect URIs. */
function postRegistration(on: NativeEndpoints, redirectUris: unknown): Promise<HttpAnswer> {
  return call(on.registration_endpoint, 'POST', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: redirectUris }),
  });
}

/** POST /register with these redirect URIs; a 201 answer's client becomes the CLI's client. */
export async function registerRedirectUris(world: ConformanceWorld, redirectUris: unknown): Promise<HttpAnswer> {
  const answer = await postRegistration(await nativeEndpoints(world), redirectUris);
  world.lastAnswer = answer;
  const body = answer.json as { client_id?: unknown } | undefined;
  if (answer.status === 201 && typeof body?.client_id === 'string' && Array.isArray(redirectUris))
    world.state.nativeClient = { clientId: body.client_id, redirectUris: redirectUris as string[] };
  return answer;
}

/**
 * A client of another gateway (`on` is its discovery document) for the loopback listener's redirect
 * URI, as a CLI that talks to two gateways registers at each; the scenario's own client is kept.
 */
export async function clientRegisteredAt(world: ConformanceWorld, on: NativeEndpoints): Promise<string> {
  const listener = await loopbackListener(world);
  const answer = await postRegistration(on, [listener.redirectUri]);
  const clientId = (answer.json as { client_id?: unknown } | undefined)?.client_id;
  assert.ok(
    answer.status === 201 && typeof clientId === 'string',
    `POST /register at the other gateway answered ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
  return clientId;
}

/** Register the loopback listener's redirect URI (and `others` after it); fails unless 201. */
export async function registeredClient(
  world: ConformanceWorld,
  others: string[] = [],
): Promise<{ clientId: string; redirectUris: string[] }> {
  const listener = await loopbackListener(world);
  const answer = await registerRedirectUris(world, [listener.redirectUri, ...others]);
  assert.equal(answer.status, 201, `POST /register answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  assert.ok(
    world.state.nativeClient,
    `the 201 answer of POST /register holds no client_id: ${answer.text.slice(0, 300)}`,
  );
  return world.state.nativeClient;
}

/** A code verifier of `length` characters of the RFC 7636 alphabet, and its S256 challenge. */
export function pkcePair(length = 43): { verifier: string; challenge: string } {
  const verifier = randomBytes(length).toString('base64url').slice(0, length);
  assert.equal(verifier.length, length);
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A new sign-in of the registered client: a fresh PKCE pair and state, to the loopback redirect. */
export async function newSignIn(world: ConformanceWorld, verifierLength = 43): Promise<NativeSignIn> {
  const client = world.state.nativeClient ?? (await registeredClient(world));
  const listener = await loopbackListener(world);
  const signIn: NativeSignIn = {
    clientId: client.clientId,
    redirectUri: listener.redirectUri,
    ...pkcePair(verifierLength),
    state: randomBytes(16).toString('base64url'),
    callbacksBefore: listener.callbacks.length,
  };
  world.state.nativeSignIn = signIn;
  return signIn;
}

/**
 * A value of an authorize parameter as a scenario writes it: `(absent)`, `(altered)` (the client
 * id with a character in its middle changed), `(N characters)` (a state of that length), or the value itself.
 */
function parameterValue(written: string, current: string | undefined): string | undefined {
  if (written === '(absent)') return undefined;
  if (written === '(altered)') {
    assert.ok(current, 'there is no value to alter');
    // A character in the middle: the last one of a base64url text may carry only unused bits.
    const at = Math.floor(current.length / 2);
    return `${current.slice(0, at)}${current[at] === 'A' ? 'B' : 'A'}${current.slice(at + 1)}`;
  }
  const length = /^\((\d+) characters\)$/.exec(written)?.[1];
  if (length !== undefined) return 's'.repeat(Number(length));
  // "(with one character more)" and the like: the sign-in's own value one step off (near-misses.ts).
  const appended = /^\(with "(.+)" appended\)$/.exec(written)?.[1];
  if (appended !== undefined) {
    assert.ok(current, `there is no value to append "${appended}" to`);
    return `${current}${appended}`;
  }
  const how = /^\((.+)\)$/.exec(written)?.[1];
  if (how !== undefined && isNearMiss(how)) {
    assert.ok(current, `there is no value to move off (${how})`);
    return nearMiss(current, how);
  }
  return written;
}

/** The authorize URL of the sign-in, with `changes` (parameter -> written value) applied. */
export async function authorizeUrl(world: ConformanceWorld, changes: Record<string, string> = {}): Promise<string> {
  const endpoints = await nativeEndpoints(world);
  const signIn = world.state.nativeSignIn ?? (await newSignIn(world));
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: signIn.clientId,
    redirect_uri: signIn.redirectUri,
    code_challenge: signIn.challenge,
    code_challenge_method: 'S256',
    state: signIn.state,
    resource: endpoints.resource,
  };
  for (const [name, written] of Object.entries(changes)) params[name] = parameterValue(written, params[name]);
  const url = new URL(endpoints.authorization_endpoint);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

/** GET the authorize URL over HTTP, as a browser without a session would first reach it. */
export async function authorizeOverHttp(world: ConformanceWorld, changes: Record<string, string>): Promise<HttpAnswer> {
  const url = await authorizeUrl(world, changes);
  const answer = await call(url, 'GET');
  world.lastAnswer = answer;
  return answer;
}

/** The browser opens the authorize URL (the CLI's part ends there; the person's begins). */
export async function openAuthorizeInBrowser(world: ConformanceWorld): Promise<void> {
  const url = await authorizeUrl(world);
  await (await world.browserPage()).goto(url);
}

/** The consent page the browser shows now. */
export async function consentPage(world: ConformanceWorld): Promise<ConsentPage> {
  const page = new ConsentPage(await world.browserPage());
  await page.waitUntilShown();
  return page;
}

/**
 * The page the browser shows once the sign-in has brought it back to the gateway: the consent page,
 * or the gateway's refusal; and how many of its elements carry an id starting with `idPrefix`.
 */
export async function pageAfterSignIn(
  world: ConformanceWorld,
  idPrefix: string,
): Promise<{ consentShown: boolean; elements: number }> {
  const origin = new URL(await nativeBaseUrl(world)).origin;
  return new ConsentPage(await world.browserPage()).settledOn(origin, idPrefix);
}

/** The person decides on the consent page; returns what the CLI's loopback listener then received. */
export async function decideOnConsent(
  world: ConformanceWorld,
  decision: 'approve' | 'deny',
  teamId?: string,
): Promise<URLSearchParams> {
  const page = await consentPage(world);
  const signIn = world.state.nativeSignIn;
  assert.ok(signIn, 'no sign-in is under way');
  if (teamId !== undefined) await page.chooseTeam(teamId);
  const fromMs = Date.now();
  if (decision === 'approve') await page.approve();
  else await page.deny();
  const listener = await loopbackListener(world);
  const callback = await listener.callback(signIn.callbacksBefore, CALLBACK_DEADLINE_MS);
  assert.ok(callback, `the CLI's loopback listener received no redirect within ${CALLBACK_DEADLINE_MS / 1000} s`);
  world.state.nativeCallback = callback;
  world.state.nativeDecided = { fromMs, toMs: Date.now() };
  return callback;
}

/** The consent form the browser shows now, as Approve would post it: its address and fields. */
export async function approvalForm(world: ConformanceWorld): Promise<ConsentForm> {
  return (await consentPage(world)).approvalForm();
}

/** Post a consent form over HTTP, as a program without the browser's cookies would (CLISSO-NATIVE-19). */
export async function postConsentFormWithoutSession(world: ConformanceWorld, form: ConsentForm): Promise<HttpAnswer> {
  const answer = await call(form.action, 'POST', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form.fields).toString(),
  });
  world.lastAnswer = answer;
  return answer;
}

/**
 * Post a consent form from the page the browser shows now, with the browser's cookies, as a form
 * someone else wrote would be posted (CLISSO-NATIVE-19); the gateway's answer, not followed.
 */
export async function postConsentFormFromBrowser(world: ConformanceWorld, form: ConsentForm): Promise<HttpAnswer> {
  // Posted from the consent page the browser shows now: the gateway's own origin, with its cookies.
  const posted = await (await consentPage(world)).postForm(form);
  let json: unknown;
  try {
    json = JSON.parse(posted.text);
  } catch {
    json = undefined;
  }
  const answer: HttpAnswer = { status: posted.status, headers: posted.headers, text: posted.text, json, elapsedMs: 0 };
  world.lastAnswer = answer;
  return answer;
}

/** A form's fields with the flow handle's middle character changed: a handle the gateway never sealed. */
export function withAlteredFlow(form: ConsentForm): ConsentForm {
  const flow = form.fields.find(([name]) => name === 'flow')?.[1];
  assert.ok(flow, `the consent form has no flow field: ${form.fields.map(([name]) => name).join(', ')}`);
  return {
    action: form.action,
    fields: form.fields.map(([name, value]) => [
      name,
      name === 'flow' ? (parameterValue('(altered)', value) ?? '') : value,
    ]),
  };
}

/** A form's fields with `team_id` set to `teamId` (added when the page sent none, as for a person with one team). */
export function withTeam(form: ConsentForm, teamId: string): ConsentForm {
  const others = form.fields.filter(([name]) => name !== 'team_id');
  return { action: form.action, fields: [...others, ['team_id', teamId]] };
}

/**
 * What a callback carried, for a message: its parameters, with the value of each but the code
 * (a credential) and cut short.
 */
export function callbackShown(callback: URLSearchParams): string {
  const shown = [...callback].map(([name, value]) =>
    name === 'code' ? 'code=(a code)' : `${name}=${value.slice(0, 80)}`,
  );
  return shown.length > 0 ? shown.join(', ') : 'no parameter';
}

/** The code the loopback listener received for the sign-in. */
export function receivedCode(world: ConformanceWorld): string {
  const code = world.state.nativeCallback?.get('code');
  const callback = world.state.nativeCallback;
  assert.ok(code, `the loopback listener received no code: ${callback ? callbackShown(callback) : 'nothing'}`);
  return code;
}

/** The whole walk up to a code at the loopback: authorize, sign in at the IdP, approve. */
export async function codeFor(world: ConformanceWorld, username: string, verifierLength = 43): Promise<string> {
  await newSignIn(world, verifierLength);
  await openAuthorizeInBrowser(world);
  await signInAtIdpPageAs(world, username);
  await decideOnConsent(world, 'approve');
  return receivedCode(world);
}

/**
 * POST /token with the authorization code grant, with `changes` to the fields a CLI sends, at the
 * scenario's gateway or at the endpoints `on` names (another replica's).
 */
export async function redeemCode(
  world: ConformanceWorld,
  changes: Record<string, string | undefined> = {},
  on?: NativeEndpoints,
): Promise<HttpAnswer> {
  const endpoints = on ?? (await nativeEndpoints(world));
  const signIn = world.state.nativeSignIn;
  assert.ok(signIn, 'no sign-in got a code');
  const fromMs = Date.now();
  const answer = await postForm(endpoints.token_endpoint, {
    grant_type: 'authorization_code',
    code: receivedCode(world),
    redirect_uri: signIn.redirectUri,
    client_id: signIn.clientId,
    code_verifier: signIn.verifier,
    resource: endpoints.resource,
    ...changes,
  });
  noteTokens(world, answer, fromMs);
  return answer;
}

/**
 * POST /token with the refresh token grant (the CLI's own refresh token unless another is given),
 * at the scenario's gateway or at the endpoints `on` names.
 */
export async function refreshTokens(
  world: ConformanceWorld,
  refreshToken?: string,
  clientId?: string,
  on?: NativeEndpoints,
): Promise<HttpAnswer> {
  const endpoints = on ?? (await nativeEndpoints(world));
  const held = world.state.nativeTokens;
  const token = refreshToken ?? held?.refresh_token;
  assert.ok(token, 'the CLI holds no refresh token');
  const fromMs = Date.now();
  const answer = await postForm(endpoints.token_endpoint, {
    grant_type: 'refresh_token',
    refresh_token: token,
    client_id: clientId ?? world.state.nativeSignIn?.clientId,
    resource: endpoints.resource,
  });
  if (answer.status === 200 && refreshToken === undefined) world.state.replacedRefreshToken = token;
  noteTokens(world, answer, fromMs);
  return answer;
}

/** POST /revoke (RFC 7009) with this token and the CLI's client id, or another client's. */
export async function revokeToken(world: ConformanceWorld, token: string, clientId?: string): Promise<HttpAnswer> {
  const endpoints = await nativeEndpoints(world);
  const answer = await postForm(endpoints.revocation_endpoint, {
    token,
    client_id: clientId ?? world.state.nativeSignIn?.clientId ?? world.state.nativeClient?.clientId,
    token_type_hint: 'refresh_token',
  });
  world.lastAnswer = answer;
  return answer;
}

const tokensSchema = z.object({
  access_token: z.string().min(1, 'should be a non-empty string'),
  token_type: z.string().regex(/^bearer$/i, 'should be "Bearer"'),
  expires_in: z.number().int().positive('should be a positive number of seconds'),
  refresh_token: z.string().min(1, 'should be a non-empty string'),
  user_id: z.string(),
  team_id: z.string().nullable(),
});

/**
 * The tokens of a 200 token answer, checked field by field, and the answer not to be cached (RFC
 * 6749 section 5.1: every answer that carries tokens, a refresh's too); fails naming what is wrong.
 */
export function expectTokens(answer: HttpAnswer): NativeTokens {
  assert.equal(answer.status, 200, `the token endpoint answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const tokens = expectShape(
    tokensSchema,
    answer.json,
    'the token answer',
    '(its body is not shown: it holds credentials)',
  );
  assert.match(
    String(answer.headers['cache-control'] ?? ''),
    /no-store/,
    `the token answer may be cached (Cache-Control: ${answer.headers['cache-control'] ?? 'absent'})`,
  );
  return tokens;
}

function noteTokens(world: ConformanceWorld, answer: HttpAnswer, fromMs: number): void {
  world.lastAnswer = answer;
  if (answer.status === 200) {
    const parsed = tokensSchema.safeParse(answer.json);
    if (parsed.success) {
      world.state.nativeTokens = parsed.data;
      world.state.nativeTokensIssued = { fromMs, toMs: Date.now() };
    }
  }
}

/** The whole walk and the code's exchange: the CLI then holds tokens. */
export async function signedInNatively(world: ConformanceWorld, username: string): Promise<NativeTokens> {
  await codeFor(world, username);
  return expectTokens(await redeemCode(world));
}

/** An OAuth error answer (`{"error", "error_description"}`) with this status and code. */
export function expectOAuthError(answer: HttpAnswer, status: number, error: string, where: string): void {
  // A success where a refusal was due may carry tokens: its body is not shown.
  const shown = answer.status < 300 ? '(its body is not shown: it may hold credentials)' : answer.text.slice(0, 300);
  assert.equal(answer.status, status, `${where} answered ${answer.status}, not ${status}: ${shown}`);
  const body = expectShape(
    z.looseObject({ error: z.string(), error_description: z.string().optional() }),
    answer.json,
    `the ${answer.status} answer of ${where}`,
    shown,
  );
  assert.equal(body.error, error, `${where} answered the error "${body.error}", not "${error}": ${shown}`);
}

/** GET /v1/models with this access token (through the gateway's relay, if any). */
export async function modelsWith(world: ConformanceWorld, accessToken: string): Promise<HttpAnswer> {
  return (await nativeHttp(world)).models(accessToken, '/v1/models');
}

/**
 * A browser without a session opens the gateway's sign-in (`GET /sso/key/generate`) with this
 * `return_to`, as the authorize endpoint sends one there, and signs in at the IdP as `username`
 * when the gateway sends it there (CLISSO-NATIVE-17). Every navigation of the page is recorded as
 * it is requested, so a redirect to an address that cannot even be reached is still seen.
 */
export async function signInReturningTo(
  world: ConformanceWorld,
  returnTo: string,
  username: string,
): Promise<ReturnedSignIn> {
  const gateway = await world.gateway();
  const idpOrigin = new URL((await world.harness()).idp.url).origin;
  const base = publicBaseUrl(gateway);
  const allowedOrigins = new Set([new URL(gateway.url).origin, new URL(base).origin, idpOrigin]);
  const page = await world.browserPage();
  const visited: string[] = [];
  const record = (request: Request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) visited.push(request.url());
  };
  page.on('request', record);
  try {
    const entry = new URL(`${base}${CLI_SSO_PATHS.browserEntry}`);
    entry.searchParams.set('return_to', returnTo);
    const answer = await page.goto(entry.href);
    const status = answer?.status() ?? 0;
    if (status >= 400 && status < 500) return { refusedWith: status, visited, allowedOrigins };
    if (new URL(page.url()).origin === idpOrigin) {
      await signInAtIdpPageAs(world, username);
      // Back from the IdP: the callback and wherever it sends the browser (an unreachable address
      // ends on the browser's error page, whose origin is not the IdP's either).
      await page.waitForURL((url) => url.origin !== idpOrigin, { timeout: CALLBACK_DEADLINE_MS });
      await page.waitForLoadState('load');
    }
    return { refusedWith: undefined, visited, allowedOrigins };
  } finally {
    page.off('request', record);
  }
}
