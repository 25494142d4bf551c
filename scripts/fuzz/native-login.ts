/**
 * The reference gateway's PKCE-native login under fuzz (reference-proxy/native-login/,
 * docs/contract.md section 10.6): discovery, registration, authorize, complete, token and revoke,
 * each input built from a valid request of that step (a client registered for real on the
 * gateway, a verifier of the right length) and then mutated. The browser's part (a signed-in UI
 * session, the consent) is not played here, so the token endpoint sees codes and refresh tokens
 * that are forged, altered or someone else's: its refusals are what is fuzzed, and every one must
 * be a 4xx that names the rule, never a 5xx.
 */
import fc from 'fast-check';
import { NATIVE_LOGIN_PATHS } from '../../protocol/native-login.ts';
import type { FuzzContext } from './context.ts';
import { get, jsonOf } from './context.ts';
import { endpoint } from './endpoint.ts';
import { GATEWAY_SERVERS, gatewayName, sendFuzzed } from './gateway.ts';
import { junkString, mutations, type RequestSpec, type Vocabulary } from './model.ts';
import type { Gateway } from './systems.ts';

const VOCAB: Vocabulary = {
  query: [
    'response_type',
    'client_id',
    'redirect_uri',
    'state',
    'code_challenge',
    'code_challenge_method',
    'resource',
    'scope',
  ],
  headers: ['content-type', 'cookie', 'origin', 'host', 'authorization'],
  fields: [
    'grant_type',
    'code',
    'redirect_uri',
    'client_id',
    'code_verifier',
    'resource',
    'refresh_token',
    'token',
    'token_type_hint',
    'flow',
    'team_id',
    'decision',
  ],
  segments: ['.well-known', 'litellm-cli-auth', 'register', 'authorize', 'complete', 'token', 'revoke'],
};

const LOOPBACK_REDIRECT = 'http://127.0.0.1:53682/callback';

/** One public client registered for real on each gateway, reused by every input of a run. */
const registered = new WeakMap<Gateway, Promise<string>>();

function clientOf(ctx: FuzzContext, gw: Gateway): Promise<string> {
  let client = registered.get(gw);
  if (!client) {
    client = ctx
      .step('POST /register', gw.url, jsonPost('/register', { redirect_uris: [LOOPBACK_REDIRECT] }), (s) => s === 201)
      .then((answer) => String((jsonOf(answer) as { client_id?: unknown } | undefined)?.client_id ?? ''));
    // A failed registration is tried again by the next input, not remembered.
    client.catch(() => registered.delete(gw));
    registered.set(gw, client);
  }
  return client;
}

function jsonPost(path: string, value: unknown): RequestSpec {
  return { ...get(path, [], [['content-type', 'application/json']]), method: 'POST', body: { kind: 'json', value } };
}

function formPost(path: string, fields: Array<[string, string]>): RequestSpec {
  return {
    ...get(path, [], [['content-type', 'application/x-www-form-urlencoded']]),
    method: 'POST',
    body: { kind: 'form', fields },
  };
}

/** Redirect URIs as a client might send them: right, nearly right, and wrong in each way the rules name. */
const redirectUri = fc.oneof(
  fc.constantFrom(
    LOOPBACK_REDIRECT,
    'http://localhost:8080/cb',
    'http://[::1]:9/cb',
    'https://app.example/cb',
    'http://app.example/cb',
    'http://127.0.0.1/cb#frag',
    'http://user@127.0.0.1/cb',
    'http://127.0.0.1\\@evil.example/cb',
    'cursor://callback',
    `http://127.0.0.1/${'a'.repeat(240)}`,
  ),
  junkString,
);

/** A verifier of each length around the 43..128 rule, or junk. */
const verifier = fc.oneof(
  fc.integer({ min: 40, max: 131 }).map((n) => 'v'.repeat(n)),
  junkString,
);

const discovery = endpoint({
  name: 'gw:native-discovery',
  group: 'gateway',
  what: 'GET /.well-known/litellm-cli-auth',
  servers: GATEWAY_SERVERS,
  recipe: () => fc.record({ gw: gatewayName, mutations: mutations(VOCAB) }),
  run: async (r, ctx) =>
    sendFuzzed(ctx, await ctx.systems.gateway(r.gw), get(NATIVE_LOGIN_PATHS.discovery), r.mutations),
});

const register = endpoint({
  name: 'gw:native-register',
  group: 'gateway',
  what: 'POST /register (PKCE-native client registration)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      uris: fc.array(redirectUri, { minLength: 0, maxLength: 5 }),
      extra: fc.dictionary(fc.constantFrom('client_name', 'token_endpoint_auth_method', 'grant_types'), junkString, {
        maxKeys: 2,
      }),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) =>
    sendFuzzed(
      ctx,
      await ctx.systems.gateway(r.gw),
      jsonPost('/register', { redirect_uris: r.uris, ...r.extra }),
      r.mutations,
    ),
});

const authorize = endpoint({
  name: 'gw:native-authorize',
  group: 'gateway',
  what: 'GET /authorize (PKCE-native, no browser session)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      redirect: fc.oneof(fc.constant(LOOPBACK_REDIRECT), redirectUri),
      challenge: fc.oneof(fc.constant('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'), junkString),
      method: fc.constantFrom('S256', 'S256', 'plain', ''),
      state: fc.oneof(fc.string({ maxLength: 8 }), fc.constant('s'.repeat(1025))),
      resource: fc.constantFrom('gateway', 'none', 'other'),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const clientId = await clientOf(ctx, gw);
    const query: Array<[string, string]> = [
      ['response_type', 'code'],
      ['client_id', clientId],
      ['redirect_uri', r.redirect],
      ['state', r.state],
      ['code_challenge', r.challenge],
      ['code_challenge_method', r.method],
    ];
    if (r.resource !== 'none')
      query.push(['resource', r.resource === 'gateway' ? gw.url.origin : 'https://other.example']);
    return sendFuzzed(ctx, gw, get('/authorize', query), r.mutations);
  },
});

const complete = endpoint({
  name: 'gw:native-complete',
  group: 'gateway',
  what: 'POST /authorize/complete (PKCE-native consent, no browser session)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      flow: junkString,
      decision: fc.constantFrom('approve', 'deny', '', 'maybe'),
      team: fc.oneof(fc.constant(''), junkString),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) =>
    sendFuzzed(
      ctx,
      await ctx.systems.gateway(r.gw),
      formPost('/authorize/complete', [
        ['flow', r.flow],
        ['decision', r.decision],
        ['team_id', r.team],
      ]),
      r.mutations,
    ),
});

const token = endpoint({
  name: 'gw:native-token',
  group: 'gateway',
  what: 'POST /token (authorization_code and refresh_token grants)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      grant: fc.constantFrom('authorization_code', 'refresh_token', 'client_credentials', ''),
      code: fc.oneof(
        fc.constant('llm_gcode_'),
        junkString.map((j) => `llm_gcode_${j}`),
        junkString,
      ),
      refresh: fc.oneof(
        junkString.map((j) => `llm_srefresh_${j}`),
        junkString,
      ),
      verifier,
      ownClient: fc.boolean(),
      resource: fc.constantFrom('gateway', 'none', 'other'),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const clientId = r.ownClient ? await clientOf(ctx, gw) : 'llm_dcrc_forged';
    const fields: Array<[string, string]> = [
      ['grant_type', r.grant],
      ['client_id', clientId],
      ...(r.grant === 'refresh_token'
        ? ([['refresh_token', r.refresh]] as Array<[string, string]>)
        : ([
            ['code', r.code],
            ['redirect_uri', LOOPBACK_REDIRECT],
            ['code_verifier', r.verifier],
          ] as Array<[string, string]>)),
    ];
    if (r.resource !== 'none')
      fields.push(['resource', r.resource === 'gateway' ? gw.url.origin : 'https://other.example']);
    return sendFuzzed(ctx, gw, formPost('/token', fields), r.mutations);
  },
});

const revoke = endpoint({
  name: 'gw:native-revoke',
  group: 'gateway',
  what: 'POST /revoke (RFC 7009)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      token: fc.oneof(
        junkString.map((j) => `llm_srefresh_${j}`),
        junkString,
      ),
      hint: fc.constantFrom('refresh_token', 'access_token', ''),
      ownClient: fc.boolean(),
      otherClient: fc.oneof(fc.constant('llm_dcrc_forged'), junkString),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const clientId = r.ownClient ? await clientOf(ctx, gw) : r.otherClient;
    return sendFuzzed(
      ctx,
      gw,
      formPost('/revoke', [
        ['token', r.token],
        ['token_type_hint', r.hint],
        ['client_id', clientId],
      ]),
      r.mutations,
    );
  },
});

export const NATIVE_LOGIN_ENDPOINTS = [discovery, register, authorize, complete, token, revoke];
