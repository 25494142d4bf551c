/**
 * The reference gateway's endpoints under fuzz (reference-proxy/app.ts and routes/), each input
 * built from a real, valid request: a login started for real and taken as far as the endpoint
 * needs (sent to the IdP, signed in, code confirmed), a real or forged-but-validly-signed key, a
 * real UI session. Three gateways: A (mock IdP, CLI keys accepted, claim map), B (PKCE,
 * client_secret_post, allowed email domains, CLI keys refused), C (a scripted IdP whose token and
 * userinfo answers are generated too, so hostile identities reach the gateway's identity code).
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { CLI_KEY_ISSUER, CLI_KEY_PURPOSE, deriveSigningKey } from '../../reference-proxy/index.ts';
import { FixtureUnavailable, type FuzzContext, get, Jar, jsonOf, locationOf, specOfTarget } from './context.ts';
import { type Endpoint, endpoint, type Observation, observe } from './endpoint.ts';
import {
  applyMutations,
  junkJson,
  junkString,
  type Mutation,
  mutations,
  prototypeName,
  type RequestSpec,
  type Vocabulary,
} from './model.ts';
import type { IdpScript, ScriptedAnswer } from './scripted-idp.ts';
import type { Gateway, GatewayName } from './systems.ts';

const VOCAB: Vocabulary = {
  query: ['source', 'key', 'code', 'state', 'error', 'error_description', 'iss', 'team_id', 'user_id', 'session_state'],
  headers: ['x-litellm-cli-poll-secret', 'prefer', 'authorization', 'cookie', 'host', 'origin', 'content-type'],
  fields: ['user_code', 'browser_complete_token', 'code', 'login_id'],
  segments: [
    'sso',
    'cli',
    'start',
    'poll',
    'complete',
    'key',
    'generate',
    'callback',
    'models',
    'v1',
    'user',
    'info',
    'ui',
  ],
};

/** Users whose login goes through on each gateway (carol's domain is refused by B: see the callback). */
const USERS: Record<GatewayName, readonly string[]> = {
  A: ['alice', 'bob', 'dave', 'mallory', 'cli-test-user'],
  B: ['alice', 'bob', 'dave'],
  C: ['scripted'],
};
const CALLBACK_USERS: Record<GatewayName, readonly string[]> = { ...USERS, B: ['alice', 'bob', 'carol', 'dave'] };

// ---- a login, step by step, over real HTTP ------------------------------------------------------

export interface Login {
  gw: Gateway;
  loginId: string;
  pollSecret: string;
  userCode: string;
}

export interface FormReady extends Login {
  action: string;
  browserToken: string;
}

async function startLogin(ctx: FuzzContext, gw: Gateway): Promise<Login> {
  const spec: RequestSpec = { ...get('/sso/cli/start'), method: 'POST', from: 'fresh' };
  const answer = await ctx.step('POST /sso/cli/start', gw.url, spec, (s) => s === 200);
  const body = jsonOf(answer) as { login_id: string; poll_secret: string; user_code: string };
  ctx.systems.book.add(body.poll_secret, 'poll secret');
  ctx.systems.book.add(body.user_code, 'user code');
  ctx.systems.book.add(body.user_code.replace('-', ''), 'user code');
  return { gw, loginId: body.login_id, pollSecret: body.poll_secret, userCode: body.user_code };
}

/** GET /sso/key/generate: the authorization URL the gateway sends the browser to. */
async function sendToIdp(ctx: FuzzContext, login: Login): Promise<URL> {
  const spec = get('/sso/key/generate', [
    ['source', 'litellm-cli'],
    ['key', login.loginId],
  ]);
  const answer = await ctx.step('GET /sso/key/generate', login.gw.url, spec, (s) => s === 303);
  return new URL(locationOf(answer)!);
}

/** Play the browser at the mock IdP (auto-login as `user`) until it sends us back to the gateway. */
async function signInAtMockIdp(ctx: FuzzContext, authorizeUrl: URL, user: string, jar = new Jar()): Promise<string> {
  const idp = await ctx.systems.gatewayIdp();
  idp.setAutoLogin(user);
  let url = authorizeUrl;
  for (let hop = 0; hop < 6; hop++) {
    const cookie = jar.header(url.host);
    const spec = specOfTarget('GET', `${url.pathname}${url.search}`, cookie ? [['cookie', cookie]] : []);
    const answer = await ctx.step(`IdP GET ${url.pathname}`, url, spec, (s) => s === 303 || s === 302);
    jar.absorb(url.host, answer.headers);
    const next = new URL(locationOf(answer)!, url);
    if (next.pathname === '/sso/callback') {
      ctx.systems.book.add(next.searchParams.get('code'), 'authorization code');
      return `${next.pathname}${next.search}`;
    }
    url = next;
  }
  throw new FixtureUnavailable('IdP sign-in', 'no redirect back to the gateway after 6 hops');
}

const SCRIPTED_USER = {
  sub: 'scripted-user',
  preferred_username: 'scripted-user',
  email: 'scripted@example.com',
  email_verified: true,
  name: 'Scripted User',
  given_name: 'Scripted',
  family_name: 'User',
  groups: ['team-alpha', 'team-beta'],
  app: { role: 'internal_user' },
  department: 'R&D',
  org: { unit: { name: 'not this one' } },
  'org.unit': { name: 'Platform' },
  nested: { deep: { value: 42 } },
  employee_number: '0042',
};

function json(status: number, value: unknown): ScriptedAnswer {
  return { status, contentType: 'application/json', body: JSON.stringify(value) };
}

const VALID_SCRIPT: IdpScript = {
  token: json(200, { access_token: '{{access_token}}', token_type: 'Bearer', expires_in: 3600 }),
  userinfo: json(200, SCRIPTED_USER),
};

/** The callback target (path and query) of a login at gateway C, with the IdP's answers scripted. */
async function signInAtScriptedIdp(ctx: FuzzContext, login: Login, script: IdpScript): Promise<string> {
  const idp = await ctx.systems.scriptedIdp();
  const authorize = await sendToIdp(ctx, login);
  const code = idp.register(script);
  ctx.systems.book.add(code, 'authorization code');
  const query = new URLSearchParams({ code, state: authorize.searchParams.get('state') ?? '' });
  return `/sso/callback?${query}`;
}

async function toCallback(ctx: FuzzContext, login: Login, user: string, script = VALID_SCRIPT): Promise<string> {
  if (login.gw.name === 'C') return signInAtScriptedIdp(ctx, login, script);
  return signInAtMockIdp(ctx, await sendToIdp(ctx, login), user);
}

function readForm(html: string): { action: string; browserToken: string } | undefined {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const token = /name="browser_complete_token" value="([^"]+)"/.exec(html)?.[1];
  return action && token ? { action: action.replaceAll('&amp;', '&'), browserToken: token } : undefined;
}

async function callback(ctx: FuzzContext, login: Login, target: string): Promise<FormReady> {
  const answer = await ctx.step('GET /sso/callback', login.gw.url, specOfTarget('GET', target), (s) => s === 200);
  const form = readForm(answer.body.toString('utf8'));
  if (!form) throw new FixtureUnavailable('GET /sso/callback', 'no completion form on the page');
  ctx.systems.book.add(form.browserToken, 'browser token');
  return { ...login, ...form };
}

function completeSpec(ready: FormReady): RequestSpec {
  return {
    method: 'POST',
    path: ready.action,
    query: [],
    headers: [['content-type', 'application/x-www-form-urlencoded']],
    body: {
      kind: 'form',
      fields: [
        ['user_code', ready.userCode],
        ['browser_complete_token', ready.browserToken],
      ],
    },
  };
}

async function complete(ctx: FuzzContext, ready: FormReady): Promise<void> {
  await ctx.step('POST /sso/cli/complete', ready.gw.url, completeSpec(ready), (s) => s === 200);
}

function pollSpec(login: Login, teamId?: string): RequestSpec {
  return get(`/sso/cli/poll/${encodeURIComponent(login.loginId)}`, teamId === undefined ? [] : [['team_id', teamId]], [
    ['x-litellm-cli-poll-secret', login.pollSecret],
  ]);
}

interface PollBody {
  status?: string;
  key?: string;
  teams?: string[];
  requires_team_selection?: boolean;
  user_id?: string;
}

/** Poll until the key: pick the first team when asked to choose. */
async function pollForKey(ctx: FuzzContext, login: Login): Promise<{ key: string; userId: string }> {
  let answer = await ctx.step('GET /sso/cli/poll', login.gw.url, pollSpec(login), (s) => s === 200);
  let body = jsonOf(answer) as PollBody;
  if (body.requires_team_selection) {
    answer = await ctx.step(
      'GET /sso/cli/poll (team)',
      login.gw.url,
      pollSpec(login, body.teams?.[0]),
      (s) => s === 200,
    );
    body = jsonOf(answer) as PollBody;
  }
  if (body.status !== 'ready' || !body.key)
    throw new FixtureUnavailable('GET /sso/cli/poll', `no key: ${JSON.stringify(body)}`);
  ctx.systems.book.add(body.key, 'cli key');
  return { key: body.key, userId: body.user_id ?? '' };
}

/** Harvest secrets from any gateway answer the fuzzer sees (a fuzzed poll may hand out a key). */
function harvest(ctx: FuzzContext, body: Buffer): void {
  const text = body.toString('utf8');
  let parsed: (PollBody & { poll_secret?: string; user_code?: string }) | undefined;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed === 'object') {
    ctx.systems.book.add(parsed.key, 'cli key');
    ctx.systems.book.add(parsed.poll_secret, 'poll secret');
    if (typeof parsed.user_code === 'string') {
      ctx.systems.book.add(parsed.user_code, 'user code');
      ctx.systems.book.add(parsed.user_code.replace('-', ''), 'user code');
    }
  }
  const token = /name="browser_complete_token" value="([^"]+)"/.exec(text)?.[1];
  ctx.systems.book.add(token, 'browser token');
}

// ---- fixtures: a login in a given state, shared by a few inputs ----------------------------------

type FlowState = 'pending' | 'form' | 'verified';

async function loginIn(ctx: FuzzContext, gw: Gateway, state: FlowState, user: string): Promise<FormReady | Login> {
  const login = await startLogin(ctx, gw);
  if (state === 'pending') return login;
  const ready = await callback(ctx, login, await toCallback(ctx, login, user));
  if (state === 'verified') await complete(ctx, ready);
  return ready;
}

/** A login in `state`, shared by up to `maxUses` inputs of one endpoint (`owner`). */
async function pooledLogin(
  ctx: FuzzContext,
  owner: string,
  gw: Gateway,
  state: FlowState,
  user: string,
  maxUses: number,
): Promise<{ value: FormReady | Login; retire: () => void }> {
  return ctx.pool.get(`${owner}:${gw.name}${gw.generation}:${state}:${user}`, maxUses, () =>
    loginIn(ctx, gw, state, user),
  );
}

async function cliKey(ctx: FuzzContext, gw: Gateway, user: string): Promise<{ key: string; userId: string }> {
  const { value } = await ctx.pool.get(`${gw.name}${gw.generation}:key:${user}`, 1_000_000, async () => {
    const ready = (await loginIn(ctx, gw, 'verified', user)) as FormReady;
    return pollForKey(ctx, ready);
  });
  return value;
}

async function uiCallbackTarget(
  ctx: FuzzContext,
  gw: Gateway,
  user: string,
): Promise<{ target: string; cookie: string }> {
  const answer = await ctx.step('GET /sso/key/generate (UI)', gw.url, get('/sso/key/generate'), (s) => s === 303);
  const jar = new Jar();
  jar.absorb(gw.url.host, answer.headers);
  const cookie = jar.header(gw.url.host) ?? '';
  ctx.systems.book.add(jar.get(gw.url.host, 'litellm_ui_login_state'), 'ui session');
  const target = await signInAtMockIdp(ctx, new URL(locationOf(answer)!), user);
  return { target, cookie };
}

async function uiSession(ctx: FuzzContext, gw: Gateway, user: string): Promise<string> {
  const { value } = await ctx.pool.get(`${gw.name}${gw.generation}:ui:${user}`, 1_000_000, async () => {
    const { target, cookie } = await uiCallbackTarget(ctx, gw, user);
    const answer = await ctx.step(
      'GET /sso/callback (UI)',
      gw.url,
      specOfTarget('GET', target, [['cookie', cookie]]),
      (s) => s === 303,
    );
    const jar = new Jar();
    jar.absorb(gw.url.host, answer.headers);
    const session = jar.get(gw.url.host, 'litellm_ui_session');
    if (!session) throw new FixtureUnavailable('GET /sso/callback (UI)', 'no session cookie');
    ctx.systems.book.add(session, 'ui session');
    return session;
  });
  return value;
}

// ---- forged tokens: validly signed, odd inside ----------------------------------------------------

interface ForgeRecipe {
  alg: 'HS256' | 'HS512' | 'none' | 'wrong-secret' | 'other-purpose';
  edits: Array<[string, unknown]>;
  drop: string[];
}

const CLAIM_NAMES = [
  'sub',
  'team_id',
  'user_role',
  'models',
  'exp',
  'iat',
  'nbf',
  'iss',
  'jti',
  'aud',
  'email',
  'role',
];

const forgeRecipe: fc.Arbitrary<ForgeRecipe> = fc.record({
  alg: fc.constantFrom('HS256', 'HS256', 'HS256', 'HS512', 'none', 'wrong-secret', 'other-purpose'),
  edits: fc.array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...CLAIM_NAMES), prototypeName),
      fc.oneof(
        junkJson,
        fc.constantFrom('past', 'now', 'future', 'far-future', 0, -1, 1e20, '9999999999', [], ['gpt-4o', 'x']),
      ),
    ),
    { maxLength: 3 },
  ),
  drop: fc.array(fc.constantFrom(...CLAIM_NAMES), { maxLength: 2 }),
});

function timeValue(value: unknown): unknown {
  const now = Math.floor(Date.now() / 1000);
  if (value === 'past') return now - 3600;
  if (value === 'now') return now;
  if (value === 'future') return now + 3600;
  if (value === 'far-future') return now + 100 * 365 * 24 * 3600;
  return value;
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function forge(
  secret: string,
  purpose: string,
  recipe: ForgeRecipe,
  base: Record<string, unknown>,
): Promise<string> {
  const payload: Record<string, unknown> = { ...base };
  for (const name of recipe.drop) delete payload[name];
  for (const [name, value] of recipe.edits) {
    Object.defineProperty(payload, name, {
      value: timeValue(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (recipe.alg === 'none') return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
  const keySecret = recipe.alg === 'wrong-secret' ? `${secret}x` : secret;
  const keyPurpose = recipe.alg === 'other-purpose' ? 'ui-session' : purpose;
  const alg = recipe.alg === 'HS512' ? 'HS512' : 'HS256';
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(deriveSigningKey(keySecret, keyPurpose));
}

function keyClaims(): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: CLI_KEY_ISSUER,
    sub: 'alice',
    iat: now,
    exp: now + 3600,
    jti: 'fuzz',
    team_id: 'team-alpha',
    user_role: 'internal_user',
    models: ['gpt-4o'],
  };
}

function sessionClaims(): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'alice', email: 'alice@example.com', role: 'internal_user', iat: now, exp: now + 600 };
}

// ---- the endpoints ---------------------------------------------------------------------------------

export const gatewayName = fc.constantFrom<GatewayName>('A', 'B', 'C');
const mockGateway = fc.constantFrom<GatewayName>('A', 'B');

function userOf(gw: GatewayName, index: number): string {
  const users = USERS[gw];
  return users[index % users.length]!;
}

/** Replaced after a failure: the gateways (their IdPs keep nothing a gateway input can spoil). */
export const GATEWAY_SERVERS = ['gateway-A', 'gateway-B', 'gateway-C'];

export async function sendFuzzed(
  ctx: FuzzContext,
  gw: Gateway,
  base: RequestSpec,
  list: readonly Mutation[],
): Promise<Observation> {
  const spec = applyMutations(base, list);
  const answer = await ctx.send(gw.url, spec);
  harvest(ctx, answer.body);
  return observe(spec, answer);
}

const start = endpoint({
  name: 'gw:start',
  group: 'gateway',
  what: 'POST /sso/cli/start',
  servers: GATEWAY_SERVERS,
  recipe: () => fc.record({ gw: gatewayName, fresh: fc.boolean(), json: fc.boolean(), mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const base: RequestSpec = r.json
      ? {
          ...get('/sso/cli/start', [], [['content-type', 'application/json']]),
          method: 'POST',
          body: { kind: 'json', value: {} },
        }
      : { ...get('/sso/cli/start'), method: 'POST' };
    if (r.fresh) base.from = 'fresh';
    return sendFuzzed(ctx, gw, base, r.mutations);
  },
});

const browserEntry = endpoint({
  name: 'gw:browser-entry',
  group: 'gateway',
  what: 'GET /sso/key/generate?source=litellm-cli&key={login_id}',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      state: fc.constantFrom<FlowState | 'none'>('pending', 'pending', 'form', 'verified', 'none'),
      user: fc.nat(),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const loginId =
      r.state === 'none'
        ? 'cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
        : (await pooledLogin(ctx, 'browser-entry', gw, r.state, userOf(r.gw, r.user), 100)).value.loginId;
    const base = get('/sso/key/generate', [
      ['source', 'litellm-cli'],
      ['key', loginId],
    ]);
    return sendFuzzed(ctx, gw, base, r.mutations);
  },
});

const uiLogin = endpoint({
  name: 'gw:ui-login',
  group: 'gateway',
  what: 'GET /sso/key/generate (admin UI login)',
  servers: GATEWAY_SERVERS,
  recipe: () => fc.record({ gw: gatewayName, mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    return sendFuzzed(ctx, gw, get('/sso/key/generate'), r.mutations);
  },
});

// Scripted IdP answers (gateway C): start from the valid answers and break one thing or two.
const TOKEN_VARIANTS = {
  valid: VALID_SCRIPT.token,
  'oauth-error-400': json(400, { error: 'invalid_grant', error_description: 'code expired' }),
  'status-500': json(500, { error: 'server_error' }),
  'status-503-html': { status: 503, contentType: 'text/html', body: '<h1>down</h1>' },
  'not-json': { status: 200, contentType: 'application/json', body: '{"access_token": ' },
  'no-access-token': json(200, { token_type: 'Bearer' }),
  'access-token-number': json(200, { access_token: 12345 }),
  'access-token-huge': json(200, { access_token: 'a'.repeat(20_000) }),
  array: json(200, [{ access_token: 'x' }]),
  empty: { status: 200, contentType: 'application/json', body: '' },
  'over-1mb': {
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({ access_token: '{{access_token}}', pad: 'p'.repeat(1_100_000) }),
  },
  drop: { status: 200, contentType: 'application/json', body: '', drop: true },
  'redirect-302': { status: 302, contentType: 'text/plain', body: '' },
} satisfies Record<string, ScriptedAnswer>;
const BROKEN_TOKEN = new Set([
  'not-json',
  'no-access-token',
  'access-token-number',
  'array',
  'empty',
  'over-1mb',
  'drop',
]);

const USERINFO_SHAPES = [
  'valid',
  'status-401',
  'status-500',
  'not-json',
  'array',
  'null',
  'string',
  'deep',
  'over-1mb',
  'drop',
  'html',
  'duplicate-keys',
  'proto-text',
] as const;
const BROKEN_USERINFO = new Set(['not-json', 'array', 'null', 'string', 'over-1mb', 'drop', 'html']);

const IDENTITY_CLAIMS = [
  'sub',
  'preferred_username',
  'email',
  'email_verified',
  'given_name',
  'family_name',
  'groups',
  'app',
  'department',
  'org.unit',
  'nested',
  'employee_number',
  'name',
];

/** Identities of hostile length or content (docs/contract.md section 4), and any JSON. */
const identityJunk = fc.oneof(
  { weight: 1, arbitrary: junkJson },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'x'.repeat(20_000),
      `${'u'.repeat(300)}@example.com`,
      'VICTIM@\u212Aiwi.example',
      'victim@kiwi.example',
      'x@evil.example@example.com',
      '@example.com',
      'a@EXAMPLE.COM',
      'Alice',
      ' alice ',
      '\u001b]8;;http://evil.example\u0007link\u001b]8;;\u0007',
      '\u001b[2J',
      'false',
      [],
      ['team-alpha', 'team-alpha', ' ', 7],
      'team-alpha,team-beta, ,team-alpha',
      { role: 'proxy_admin' },
      { role: '__proto__' },
    ),
  },
);

interface CallbackScript {
  token: keyof typeof TOKEN_VARIANTS;
  userinfo: (typeof USERINFO_SHAPES)[number];
  claims: Array<[string, unknown]>;
  extra: Array<[string, unknown]>;
}

const callbackScript: fc.Arbitrary<CallbackScript> = fc.record({
  token: fc.oneof(
    { weight: 6, arbitrary: fc.constant('valid' as const) },
    { weight: 1, arbitrary: fc.constantFrom(...(Object.keys(TOKEN_VARIANTS) as Array<keyof typeof TOKEN_VARIANTS>)) },
  ),
  userinfo: fc.oneof(
    { weight: 6, arbitrary: fc.constant('valid' as const) },
    { weight: 1, arbitrary: fc.constantFrom(...USERINFO_SHAPES) },
  ),
  claims: fc.array(
    fc.tuple(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('preferred_username', 'email', 'email_verified', 'groups', 'sub') },
        { weight: 2, arbitrary: fc.constantFrom(...IDENTITY_CLAIMS) },
      ),
      identityJunk,
    ),
    { maxLength: 3 },
  ),
  extra: fc.array(fc.tuple(fc.oneof(prototypeName, junkString), junkJson), { maxLength: 2 }),
});

function scriptOf(recipe: CallbackScript): IdpScript {
  const user: Record<string, unknown> = structuredClone(SCRIPTED_USER);
  for (const [name, value] of [...recipe.claims, ...recipe.extra]) {
    Object.defineProperty(user, name, { value, enumerable: true, writable: true, configurable: true });
  }
  const body = JSON.stringify(user);
  const userinfo: ScriptedAnswer =
    recipe.userinfo === 'valid'
      ? { status: 200, contentType: 'application/json', body }
      : recipe.userinfo === 'status-401'
        ? json(401, { error: 'invalid_token' })
        : recipe.userinfo === 'status-500'
          ? json(500, { error: 'server_error' })
          : recipe.userinfo === 'not-json'
            ? { status: 200, contentType: 'application/json', body: body.slice(0, body.length / 2) }
            : recipe.userinfo === 'array'
              ? { status: 200, contentType: 'application/json', body: `[${body}]` }
              : recipe.userinfo === 'null'
                ? { status: 200, contentType: 'application/json', body: 'null' }
                : recipe.userinfo === 'string'
                  ? json(200, 'alice')
                  : recipe.userinfo === 'deep'
                    ? {
                        status: 200,
                        contentType: 'application/json',
                        body: `{"sub":"deep","email":"deep@example.com","nested":${'{"deep":'.repeat(5000)}1${'}'.repeat(5000)}}`,
                      }
                    : recipe.userinfo === 'over-1mb'
                      ? json(200, { ...user, pad: 'p'.repeat(1_100_000) })
                      : recipe.userinfo === 'drop'
                        ? { status: 200, contentType: 'application/json', body: '', drop: true }
                        : recipe.userinfo === 'html'
                          ? { status: 200, contentType: 'text/html', body: '<html>sign in</html>' }
                          : recipe.userinfo === 'duplicate-keys'
                            ? {
                                status: 200,
                                contentType: 'application/json',
                                body: body.replace(
                                  /^\{/,
                                  '{"preferred_username":"first","preferred_username":"second",',
                                ),
                              }
                            : {
                                status: 200,
                                contentType: 'application/json',
                                body: body.replace(
                                  /^\{/,
                                  '{"__proto__":{"preferred_username":"polluted","groups":["admins"]},',
                                ),
                              };
  return { token: TOKEN_VARIANTS[recipe.token], userinfo };
}

/** After a callback that showed the form: confirm the code, get the key, and use it. */
async function finishLogin(ctx: FuzzContext, login: Login, html: string, problems: string[]): Promise<void> {
  const form = readForm(html);
  if (!form) return;
  const ready = { ...login, ...form };
  ctx.systems.book.add(form.browserToken, 'browser token');
  const done = await ctx.send(login.gw.url, completeSpec(ready));
  if (done.status !== 200) {
    problems.push(`the code confirmation after a successful callback answered ${done.status || done.error}`);
    return;
  }
  let poll = await ctx.send(login.gw.url, pollSpec(login));
  let body = jsonOf(poll) as PollBody | undefined;
  if (body?.requires_team_selection) {
    poll = await ctx.send(login.gw.url, pollSpec(login, body.teams?.[0]));
    body = jsonOf(poll) as PollBody | undefined;
  }
  if (poll.status !== 200 || body?.status !== 'ready' || !body.key) {
    problems.push(
      `the poll after a confirmed login answered ${poll.status || poll.error}: ${poll.body.toString('utf8').slice(0, 200)}`,
    );
    return;
  }
  ctx.systems.book.add(body.key, 'cli key');
  await checkIssuedKey(ctx, login.gw, body.key, body.user_id ?? '', problems);
}

/** A key the gateway issued must open its own API, and its user must be readable by the admin. */
async function checkIssuedKey(
  ctx: FuzzContext,
  gw: Gateway,
  key: string,
  userId: string,
  problems: string[],
): Promise<void> {
  if (gw.acceptsCliKeys) {
    const models = await ctx.send(gw.url, get('/v1/models', [], [['authorization', `Bearer ${key}`]]));
    if (models.status !== 200) {
      problems.push(
        `a key this gateway issued (${key.length} characters) was refused by its own /v1/models: ${models.status || models.error}`,
      );
    }
  }
  const info = await ctx.send(
    gw.url,
    get('/user/info', [['user_id', userId]], [['authorization', `Bearer ${gw.masterKey}`]]),
  );
  if (info.status !== 200)
    problems.push(`/user/info for the user just logged in answered ${info.status || info.error}`);
}

const callbackEndpoint = endpoint({
  name: 'gw:callback',
  group: 'gateway',
  what: 'GET /sso/callback?code&state (CLI login; completion page)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: fc.constantFrom<GatewayName>('A', 'B', 'C', 'C', 'C'),
      fixture: fc.constantFrom('fresh', 'fresh', 'fresh', 'fresh', 'used', 'used', 'used', 'verified', 'none', 'none'),
      user: fc.nat(),
      script: callbackScript,
      mutations: fc.oneof(
        { weight: 1, arbitrary: fc.constant<Mutation[]>([]) },
        { weight: 3, arbitrary: mutations(VOCAB) },
      ),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const user = CALLBACK_USERS[r.gw][r.user % CALLBACK_USERS[r.gw].length]!;
    let login: Login;
    let target: string;
    if (r.fixture === 'none') {
      login = { gw, loginId: 'cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', pollSecret: '', userCode: '' };
      target = `/sso/callback?code=none&state=litellm-session-token%3A${login.loginId}`;
    } else if (r.fixture === 'fresh') {
      login = await startLogin(ctx, gw);
      target = await toCallback(ctx, login, user, scriptOf(r.script));
    } else {
      const { value } = await ctx.pool.get(`${gw.name}${gw.generation}:used-callback:${r.fixture}`, 200, async () => {
        const l = await startLogin(ctx, gw);
        const t = await toCallback(ctx, l, userOf(r.gw, r.user));
        const ready = await callback(ctx, l, t);
        if (r.fixture === 'verified') await complete(ctx, ready);
        return { login: l, target: t };
      });
      ({ login, target } = value);
    }
    const spec = applyMutations(specOfTarget('GET', target), r.mutations);
    const answer = await ctx.send(gw.url, spec);
    harvest(ctx, answer.body);
    const problems: string[] = [];
    if (answer.status === 200 && r.fixture === 'fresh')
      await finishLogin(ctx, login, answer.body.toString('utf8'), problems);
    const seen = observe(spec, answer, problems);
    if (
      r.gw === 'C' &&
      r.fixture === 'fresh' &&
      (BROKEN_TOKEN.has(r.script.token) || BROKEN_USERINFO.has(r.script.userinfo))
    ) {
      seen.upstreamBroken = true;
    }
    return seen;
  },
});

const uiCallback = endpoint({
  name: 'gw:ui-callback',
  group: 'gateway',
  what: 'GET /sso/callback?code&state (admin UI login)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: mockGateway,
      fixture: fc.constantFrom('fresh', 'fresh', 'used', 'used', 'used', 'no-cookie'),
      user: fc.nat(),
      mutations: fc.oneof(
        { weight: 1, arbitrary: fc.constant<Mutation[]>([]) },
        { weight: 3, arbitrary: mutations(VOCAB) },
      ),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const user = userOf(r.gw, r.user);
    // Without its cookie the callback is refused before any IdP call: a used target will do.
    const { target, cookie } =
      r.fixture === 'used' || r.fixture === 'no-cookie'
        ? (await ctx.pool.get(`${gw.name}${gw.generation}:used-ui`, 500, () => uiCallbackTarget(ctx, gw, user))).value
        : await uiCallbackTarget(ctx, gw, user);
    const base = specOfTarget('GET', target, r.fixture === 'no-cookie' ? [] : [['cookie', cookie]]);
    const seen = await sendFuzzed(ctx, gw, base, r.mutations);
    return seen;
  },
});

const completeEndpoint = endpoint({
  name: 'gw:complete',
  group: 'gateway',
  what: 'POST /sso/cli/complete/{login_id} (completion form)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      state: fc.constantFrom<FlowState | 'none'>('form', 'form', 'form', 'verified', 'pending', 'none'),
      user: fc.nat(),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    let ready: FormReady;
    if (r.state === 'none') {
      ready = {
        gw,
        loginId: 'cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        pollSecret: '',
        userCode: 'ABCD-EFGH',
        action: '/sso/cli/complete/cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
        browserToken: 'x'.repeat(43),
      };
    } else {
      // The fifth wrong code deletes the flow: four inputs per login.
      const { value } = await pooledLogin(ctx, 'complete', gw, r.state, userOf(r.gw, r.user), 4);
      ready =
        'action' in value
          ? value
          : { ...value, action: `/sso/cli/complete/${value.loginId}`, browserToken: 'x'.repeat(43) };
    }
    return sendFuzzed(ctx, gw, completeSpec(ready), r.mutations);
  },
});

const pollEndpoint = endpoint({
  name: 'gw:poll',
  group: 'gateway',
  what: 'GET /sso/cli/poll/{login_id}',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      state: fc.constantFrom<FlowState | 'none'>('pending', 'form', 'verified', 'verified', 'verified', 'none'),
      user: fc.nat(),
      team: fc.constantFrom('none', 'none', 'first', 'other'),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    let login: Login;
    let retire = () => {};
    if (r.state === 'none')
      login = { gw, loginId: 'cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', pollSecret: 'x'.repeat(43), userCode: '' };
    else ({ value: login, retire } = await pooledLogin(ctx, 'poll', gw, r.state, userOf(r.gw, r.user), 50));
    const teamId = r.team === 'first' ? 'team-alpha' : r.team === 'other' ? 'team-omega' : undefined;
    const spec = applyMutations(pollSpec(login, teamId), r.mutations);
    const answer = await ctx.send(gw.url, spec);
    harvest(ctx, answer.body);
    const problems: string[] = [];
    const body = answer.status === 200 ? (jsonOf(answer) as PollBody | undefined) : undefined;
    if (body?.status === 'ready' && body.key) {
      retire();
      await checkIssuedKey(ctx, gw, body.key, body.user_id ?? '', problems);
    }
    return observe(spec, answer, problems);
  },
});

type KeyKind = 'master' | 'cli' | 'forged' | 'none';
const keyKind = fc.constantFrom<KeyKind>('master', 'master', 'cli', 'forged', 'forged', 'none');

async function bearerFor(
  ctx: FuzzContext,
  gw: Gateway,
  kind: KeyKind,
  forgeWith: ForgeRecipe,
  user: number,
): Promise<string | undefined> {
  if (kind === 'master') return gw.masterKey;
  if (kind === 'cli') return (await cliKey(ctx, gw, userOf(gw.name, user))).key;
  if (kind === 'forged') return forge(gw.signingSecret, CLI_KEY_PURPOSE, forgeWith, keyClaims());
  return undefined;
}

function apiEndpoint(name: string, path: string, query: (gw: Gateway) => Array<[string, string]>): Endpoint {
  return endpoint({
    name,
    group: 'gateway',
    what: `GET ${path}`,
    servers: GATEWAY_SERVERS,
    recipe: () =>
      fc.record({ gw: gatewayName, key: keyKind, forge: forgeRecipe, user: fc.nat(), mutations: mutations(VOCAB) }),
    run: async (r, ctx) => {
      const gw = await ctx.systems.gateway(r.gw);
      // A forged key is the fuzzer's input, not a secret a server issued: it is not watched.
      const key = await bearerFor(ctx, gw, r.key, r.forge, r.user);
      const headers: Array<[string, string]> = key ? [['authorization', `Bearer ${key}`]] : [];
      return sendFuzzed(ctx, gw, get(path, query(gw), headers), r.mutations);
    },
  });
}

const models = apiEndpoint('gw:models', '/models', () => []);
const v1Models = apiEndpoint('gw:v1-models', '/v1/models', () => []);
const userInfo = apiEndpoint('gw:user-info', '/user/info', () => [['user_id', 'alice']]);
/** Not served by the reference gateway today (404): fuzzed so that whatever answers there is judged too. */
const keyInfo = apiEndpoint('gw:key-info', '/key/info', () => [['key', 'sk-1234']]);

const health = endpoint({
  name: 'gw:health',
  group: 'gateway',
  what: 'GET /health/liveliness, /health/readiness',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      path: fc.constantFrom('/health/liveliness', '/health/readiness'),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => sendFuzzed(ctx, await ctx.systems.gateway(r.gw), get(r.path), r.mutations),
});

const uiHome = endpoint({
  name: 'gw:ui-home',
  group: 'gateway',
  what: 'GET /ui/ (admin UI session page), GET /ui',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: mockGateway,
      cookie: fc.constantFrom('session', 'session', 'forged', 'forged', 'none'),
      path: fc.constantFrom('/ui/', '/ui/', '/ui'),
      forge: forgeRecipe,
      user: fc.nat(),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const gw = await ctx.systems.gateway(r.gw);
    const session =
      r.cookie === 'session'
        ? await uiSession(ctx, gw, userOf(r.gw, r.user))
        : r.cookie === 'forged'
          ? await forge(gw.signingSecret, 'ui-session', r.forge, sessionClaims())
          : undefined;
    return sendFuzzed(
      ctx,
      gw,
      get(r.path, [], session ? [['cookie', `litellm_ui_session=${session}`]] : []),
      r.mutations,
    );
  },
});

const OTHER_PATHS = [
  '/',
  '/sso',
  '/sso/cli',
  '/sso/cli/poll',
  '/sso/cli/complete',
  '/sso/cli/start/x',
  '/key/generate',
  '/chat/completions',
  '/v1/chat/completions',
  '/.env',
  '/ui/login',
  '/favicon.ico',
  '/health',
  '/sso/callback/x',
  '/%2e%2e/%2e%2e/etc/passwd',
];

const unknown = endpoint({
  name: 'gw:other-routes',
  group: 'gateway',
  what: 'any other path or method (404, 405)',
  servers: GATEWAY_SERVERS,
  recipe: () =>
    fc.record({
      gw: gatewayName,
      path: fc.constantFrom(...OTHER_PATHS, '/sso/cli/start', '/models', '/sso/callback', '/user/info'),
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) =>
    sendFuzzed(ctx, await ctx.systems.gateway(r.gw), { ...get(r.path), method: r.method }, r.mutations),
});

export const GATEWAY_ENDPOINTS: Endpoint[] = [
  start,
  browserEntry,
  uiLogin,
  callbackEndpoint,
  uiCallback,
  completeEndpoint,
  pollEndpoint,
  models,
  v1Models,
  userInfo,
  keyInfo,
  health,
  uiHome,
  unknown,
];

/** A whole login on gateway A, for the health check after a run: the gateway must still work. */
export async function gatewayStillWorks(ctx: FuzzContext, name: GatewayName): Promise<string | undefined> {
  try {
    const gw = await ctx.systems.gateway(name);
    const ready = (await loginIn(ctx, gw, 'verified', userOf(name, 0))) as FormReady;
    const { key } = await pollForKey(ctx, ready);
    if (gw.acceptsCliKeys) {
      const answer = await ctx.send(gw.url, get('/v1/models', [], [['authorization', `Bearer ${key}`]]));
      if (answer.status !== 200) return `the new key was refused: ${answer.status}`;
    }
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
