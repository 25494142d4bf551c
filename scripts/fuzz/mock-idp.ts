/**
 * The mock IdP's endpoints under fuzz: every OpenID endpoint oidc-provider serves for it
 * (mock-idp/provider.ts ENDPOINT_PATHS and discovery), the sign-in pages (mock-idp/interactions.ts),
 * health, and the control API `/_mock/*` (mock-idp/control-api.ts). Each input starts from a valid
 * request: a real interaction with its cookies, a fresh authorization code, real tokens, a valid
 * control call with the control token.
 *
 * The control API changes the IdP for everyone, so each control input is followed by a reset, and
 * (one in five) by a probe: a whole sign-in, token and userinfo, before the reset (no 5xx allowed in the
 * state the input left) and after it (the reset must give back a working IdP).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, type MockIdp } from '../../mock-idp/index.ts';
import { FixtureUnavailable, type FuzzContext, get, Jar, jsonOf, locationOf, specOfTarget } from './context.ts';
import { type Endpoint, endpoint, type Observation, observe } from './endpoint.ts';
import {
  applyMutations,
  encodeComponent,
  junkJson,
  junkString,
  type Mutation,
  mutations,
  prototypeName,
  type RequestSpec,
  type Vocabulary,
} from './model.ts';
import { CONTROL_USERS } from './systems.ts';

const REDIRECT_URI = 'http://127.0.0.1:4999/sso/callback';
const BASIC = `Basic ${Buffer.from(`${DEFAULT_CLIENT_ID}:${DEFAULT_CLIENT_SECRET}`).toString('base64')}`;
const PKCE_VERIFIER = 'fuzz-verifier-0123456789-0123456789-0123456789';
const PKCE_CHALLENGE = createHash('sha256').update(PKCE_VERIFIER).digest('base64url');

const VOCAB: Vocabulary = {
  query: [
    'client_id',
    'response_type',
    'redirect_uri',
    'scope',
    'state',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'login_hint',
    'prompt',
    'max_age',
    'claims',
    'request',
    'response_mode',
    'id_token_hint',
    'post_logout_redirect_uri',
    'access_token',
    'user_code',
  ],
  headers: ['authorization', 'cookie', 'content-type', 'origin', 'host', 'dpop', 'x-forwarded-proto'],
  fields: [
    'grant_type',
    'code',
    'redirect_uri',
    'code_verifier',
    'client_id',
    'client_secret',
    'refresh_token',
    'device_code',
    'token',
    'token_type_hint',
    'scope',
    'username',
    'password',
    'method',
    'xsrf',
    'logout',
    'user_code',
    'confirm',
    'abort',
    'access_token',
    'client_assertion',
    'client_assertion_type',
    'resource',
  ],
  segments: [
    'authorize',
    'token',
    'userinfo',
    'jwks',
    'interaction',
    'login',
    'deny',
    'device',
    'auth',
    'session',
    'end',
    'introspection',
    'revocation',
    '.well-known',
    'openid-configuration',
    '_mock',
  ],
};

const CONTROL_VOCAB: Vocabulary = {
  query: ['type', 'endpoint', 'event', 'path', 'method', 'status', 'client_id', 'since', 'limit'],
  headers: ['authorization', 'content-type', 'origin', 'host', 'x-forwarded-for'],
  fields: [
    'users',
    'username',
    'password',
    'teams',
    'claims',
    'endpoint',
    'kind',
    'times',
    'status',
    'body',
    'error',
    'error_description',
    'delay_ms',
    'issuer',
    'audience',
    'expired_seconds_ago',
    'access_token_seconds',
    'id_token_seconds',
    'refresh_token_seconds',
    'authorization_code_seconds',
    'device_code_seconds',
    'offset_seconds',
    'auto_login',
  ],
  segments: [
    '_mock',
    'users',
    'claims',
    'faults',
    'lifetimes',
    'clock',
    'keys',
    'rotate',
    'settings',
    'journal',
    'reset',
    'alice',
    'fault-1',
  ],
};

const IDP_SERVERS = ['idp-oidc'];
const CONTROL_SERVERS = ['idp-control'];

function form(fields: Array<[string, string]>, headers: Array<[string, string]> = []): Omit<RequestSpec, 'path'> {
  return {
    method: 'POST',
    query: [],
    headers: [['content-type', 'application/x-www-form-urlencoded'], ...headers],
    body: { kind: 'form', fields },
  };
}

function authorizeQuery(options: { hint?: string; pkce?: boolean; state?: string } = {}): Array<[string, string]> {
  const query: Array<[string, string]> = [
    ['client_id', DEFAULT_CLIENT_ID],
    ['response_type', 'code'],
    ['redirect_uri', REDIRECT_URI],
    ['scope', 'openid email profile'],
    ['state', options.state ?? 'fuzz-state'],
    ['nonce', 'fuzz-nonce'],
  ];
  if (options.pkce) query.push(['code_challenge', PKCE_CHALLENGE], ['code_challenge_method', 'S256']);
  if (options.hint) query.push(['login_hint', options.hint]);
  return query;
}

interface Interaction {
  idp: MockIdp;
  base: URL;
  uid: string;
  jar: Jar;
}

/** GET /authorize without a hint: an interaction waiting on the login page, with its cookies. */
async function interaction(ctx: FuzzContext, idp: MockIdp, pkce = false): Promise<Interaction> {
  const base = new URL(idp.url);
  const answer = await ctx.step('GET /authorize', base, get('/authorize', authorizeQuery({ pkce })), (s) => s === 303);
  const jar = new Jar();
  jar.absorb(base.host, answer.headers);
  const uid = /\/interaction\/([^/?]+)/.exec(locationOf(answer) ?? '')?.[1];
  if (!uid) throw new FixtureUnavailable('GET /authorize', `no interaction: ${locationOf(answer)}`);
  return { idp, base, uid, jar };
}

function withCookies(i: { jar: Jar; base: URL }): Array<[string, string]> {
  const cookie = i.jar.header(i.base.host);
  return cookie ? [['cookie', cookie]] : [];
}

/** A fresh authorization code for `user` (login_hint signs in without the page). */
async function code(ctx: FuzzContext, idp: MockIdp, user = 'alice', pkce = false): Promise<{ code: string; jar: Jar }> {
  const base = new URL(idp.url);
  const jar = new Jar();
  let spec = get('/authorize', authorizeQuery({ hint: user, pkce }));
  for (let hop = 0; hop < 5; hop++) {
    const answer = await ctx.step(`IdP ${spec.path}`, base, spec, (s) => s === 303 || s === 302);
    jar.absorb(base.host, answer.headers);
    const next = new URL(locationOf(answer) ?? '', base);
    if (next.origin !== base.origin) {
      const value = next.searchParams.get('code');
      if (!value) throw new FixtureUnavailable('sign-in', `no code: ${next.search.slice(0, 200)}`);
      ctx.systems.book.add(value, 'authorization code');
      return { code: value, jar };
    }
    spec = specOfTarget('GET', `${next.pathname}${next.search}`, withCookies({ jar, base }));
  }
  throw new FixtureUnavailable('sign-in', 'too many redirects');
}

interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
}

function harvestTokens(ctx: FuzzContext, body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const t = body as Record<string, unknown>;
  for (const [field, kind] of [
    ['access_token', 'access token'],
    ['refresh_token', 'refresh token'],
    ['id_token', 'id token'],
    ['device_code', 'device code'],
    ['user_code', 'user code'],
  ] as const) {
    if (typeof t[field] === 'string') ctx.systems.book.add(t[field], kind);
  }
}

async function tokens(ctx: FuzzContext, idp: MockIdp, user = 'alice'): Promise<Tokens> {
  const { code: value } = await code(ctx, idp, user);
  const answer = await ctx.step(
    'POST /token',
    new URL(idp.url),
    {
      path: '/token',
      ...form(
        [
          ['grant_type', 'authorization_code'],
          ['code', value],
          ['redirect_uri', REDIRECT_URI],
        ],
        [['authorization', BASIC]],
      ),
    },
    (s) => s === 200,
  );
  const body = jsonOf(answer) as Tokens;
  harvestTokens(ctx, body);
  return body;
}

async function fuzzed(
  ctx: FuzzContext,
  idp: MockIdp,
  base: RequestSpec,
  list: readonly Mutation[],
): Promise<Observation> {
  const spec = applyMutations(base, list);
  const answer = await ctx.send(new URL(idp.url), spec);
  harvestTokens(ctx, jsonOf(answer));
  const location = locationOf(answer);
  if (location) {
    try {
      const url = new URL(location, idp.url);
      ctx.systems.book.add(url.searchParams.get('code'), 'authorization code');
    } catch {
      // not a URL: nothing to learn
    }
  }
  return observe(spec, answer);
}

function simple(name: string, what: string, path: string): Endpoint {
  return endpoint({
    name,
    group: 'mock-idp',
    what,
    servers: IDP_SERVERS,
    recipe: () => fc.record({ mutations: mutations(VOCAB) }),
    run: async (r, ctx) => fuzzed(ctx, await ctx.systems.oidcIdp(), get(path), r.mutations),
  });
}

const authorize = endpoint({
  name: 'idp:authorize',
  group: 'mock-idp',
  what: 'GET/POST /authorize',
  servers: IDP_SERVERS,
  recipe: () =>
    fc.record({
      hint: fc.constantFrom(undefined, 'alice', 'carol', 'nobody'),
      pkce: fc.boolean(),
      post: fc.boolean(),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const query = authorizeQuery({ pkce: r.pkce, ...(r.hint ? { hint: r.hint } : {}) });
    const base: RequestSpec = r.post ? { path: '/authorize', ...form(query) } : get('/authorize', query);
    return fuzzed(ctx, idp, base, r.mutations);
  },
});

const resume = endpoint({
  name: 'idp:authorize-resume',
  group: 'mock-idp',
  what: 'GET /authorize/{uid} (after sign-in)',
  servers: IDP_SERVERS,
  recipe: () => fc.record({ mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const i = await interaction(ctx, idp);
    const login = await ctx.step(
      'POST /interaction/login',
      i.base,
      {
        path: `/interaction/${i.uid}/login`,
        ...form(
          [
            ['method', 'quick'],
            ['username', 'alice'],
          ],
          withCookies(i),
        ),
      },
      (s) => s === 303,
    );
    i.jar.absorb(i.base.host, login.headers);
    const next = new URL(locationOf(login) ?? '', i.base);
    return fuzzed(ctx, idp, specOfTarget('GET', `${next.pathname}${next.search}`, withCookies(i)), r.mutations);
  },
});

const interactionPage = endpoint({
  name: 'idp:interaction',
  group: 'mock-idp',
  what: 'GET /interaction/{uid} (sign-in page)',
  servers: IDP_SERVERS,
  recipe: () => fc.record({ mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const { value: i } = await ctx.pool.get(`interaction${ctx.systems.generation('idp-oidc')}`, 50, () =>
      interaction(ctx, idp),
    );
    return fuzzed(ctx, idp, get(`/interaction/${i.uid}`, [], withCookies(i)), r.mutations);
  },
});

const interactionLogin = endpoint({
  name: 'idp:interaction-login',
  group: 'mock-idp',
  what: 'POST /interaction/{uid}/login (sign-in form)',
  servers: IDP_SERVERS,
  recipe: () =>
    fc.record({
      how: fc.constantFrom<[string, string, string | undefined]>(
        ['password', 'carol', 'carol-password'],
        ['password', 'alice', 'anything'],
        ['quick', 'bob', undefined],
        ['password', 'carol', 'wrong'],
      ),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const { value: i, retire } = await ctx.pool.get(`login${ctx.systems.generation('idp-oidc')}`, 5, () =>
      interaction(ctx, idp),
    );
    const [method, username, password] = r.how;
    const fields: Array<[string, string]> = [
      ['method', method],
      ['username', username],
    ];
    if (password !== undefined) fields.push(['password', password]);
    const seen = await fuzzed(
      ctx,
      idp,
      { path: `/interaction/${i.uid}/login`, ...form(fields, withCookies(i)) },
      r.mutations,
    );
    if (seen.status === 303) retire();
    return seen;
  },
});

const interactionDeny = endpoint({
  name: 'idp:interaction-deny',
  group: 'mock-idp',
  what: 'POST /interaction/{uid}/deny',
  servers: IDP_SERVERS,
  recipe: () => fc.record({ mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const { value: i, retire } = await ctx.pool.get(`deny${ctx.systems.generation('idp-oidc')}`, 5, () =>
      interaction(ctx, idp),
    );
    const seen = await fuzzed(
      ctx,
      idp,
      { path: `/interaction/${i.uid}/deny`, ...form([], withCookies(i)) },
      r.mutations,
    );
    if (seen.status === 303) retire();
    return seen;
  },
});

const token = endpoint({
  name: 'idp:token',
  group: 'mock-idp',
  what: 'POST /token (authorization_code, refresh_token, device_code)',
  servers: IDP_SERVERS,
  recipe: () =>
    fc.record({
      grant: fc.constantFrom('code', 'code', 'code-pkce', 'refresh', 'device', 'client_credentials'),
      auth: fc.constantFrom('basic', 'basic', 'post', 'none'),
      mutations: mutations(VOCAB),
    }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const gen = ctx.systems.generation('idp-oidc');
    let fields: Array<[string, string]>;
    let retire = () => {};
    if (r.grant === 'code' || r.grant === 'code-pkce') {
      const pkce = r.grant === 'code-pkce';
      const { code: value } = await code(ctx, idp, 'alice', pkce);
      fields = [
        ['grant_type', 'authorization_code'],
        ['code', value],
        ['redirect_uri', REDIRECT_URI],
      ];
      if (pkce) fields.push(['code_verifier', PKCE_VERIFIER]);
    } else if (r.grant === 'refresh') {
      const pooled = await ctx.pool.get(`refresh${gen}`, 20, () => tokens(ctx, idp));
      retire = pooled.retire;
      fields = [
        ['grant_type', 'refresh_token'],
        ['refresh_token', pooled.value.refresh_token ?? ''],
      ];
    } else if (r.grant === 'device') {
      const { value } = await ctx.pool.get(`device${gen}`, 50, async () => {
        const answer = await ctx.step(
          'POST /device/auth',
          new URL(idp.url),
          {
            path: '/device/auth',
            ...form(
              [
                ['client_id', DEFAULT_CLIENT_ID],
                ['scope', 'openid'],
              ],
              [['authorization', BASIC]],
            ),
          },
          (s) => s === 200,
        );
        const body = jsonOf(answer) as { device_code: string };
        harvestTokens(ctx, body);
        return body.device_code;
      });
      fields = [
        ['grant_type', 'urn:ietf:params:oauth:grant-type:device_code'],
        ['device_code', value],
      ];
    } else
      fields = [
        ['grant_type', 'client_credentials'],
        ['scope', 'openid'],
      ];
    const headers: Array<[string, string]> = r.auth === 'basic' ? [['authorization', BASIC]] : [];
    if (r.auth === 'post') fields.push(['client_id', DEFAULT_CLIENT_ID], ['client_secret', DEFAULT_CLIENT_SECRET]);
    if (r.auth === 'none') fields.push(['client_id', DEFAULT_CLIENT_ID]);
    const seen = await fuzzed(ctx, idp, { path: '/token', ...form(fields, headers) }, r.mutations);
    if (seen.status === 200) retire();
    return seen;
  },
});

async function pooledTokens(
  ctx: FuzzContext,
  idp: MockIdp,
  name: string,
  uses: number,
): Promise<{ value: Tokens; retire: () => void }> {
  return ctx.pool.get(`${name}${ctx.systems.generation('idp-oidc')}`, uses, () => tokens(ctx, idp));
}

const userinfo = endpoint({
  name: 'idp:userinfo',
  group: 'mock-idp',
  what: 'GET/POST /userinfo',
  servers: IDP_SERVERS,
  recipe: () =>
    fc.record({ how: fc.constantFrom('header', 'header', 'post-form', 'post-header'), mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const { value: t } = await pooledTokens(ctx, idp, 'userinfo', 500);
    const base: RequestSpec =
      r.how === 'header'
        ? get('/userinfo', [], [['authorization', `Bearer ${t.access_token}`]])
        : r.how === 'post-form'
          ? { path: '/userinfo', ...form([['access_token', t.access_token]]) }
          : { path: '/userinfo', ...form([], [['authorization', `Bearer ${t.access_token}`]]) };
    return fuzzed(ctx, idp, base, r.mutations);
  },
});

function tokenManagement(name: string, path: string, consumes: boolean): Endpoint {
  return endpoint({
    name,
    group: 'mock-idp',
    what: `POST ${path}`,
    servers: IDP_SERVERS,
    recipe: () =>
      fc.record({ which: fc.constantFrom('access_token', 'refresh_token', 'id_token'), mutations: mutations(VOCAB) }),
    run: async (r, ctx) => {
      const idp = await ctx.systems.oidcIdp();
      // A revoked token stays a good input (revoking it again is a 200 too): a fresh one every 10.
      const { value: t } = await pooledTokens(ctx, idp, name, consumes ? 10 : 500);
      const value = (t as unknown as Record<string, string>)[r.which] ?? '';
      const seen = await fuzzed(
        ctx,
        idp,
        {
          path,
          ...form(
            [
              ['token', value],
              ['token_type_hint', r.which],
            ],
            [['authorization', BASIC]],
          ),
        },
        r.mutations,
      );
      return seen;
    },
  });
}

const deviceAuth = endpoint({
  name: 'idp:device-auth',
  group: 'mock-idp',
  what: 'POST /device/auth',
  servers: IDP_SERVERS,
  recipe: () => fc.record({ mutations: mutations(VOCAB) }),
  run: async (r, ctx) =>
    fuzzed(
      ctx,
      await ctx.systems.oidcIdp(),
      {
        path: '/device/auth',
        ...form(
          [
            ['client_id', DEFAULT_CLIENT_ID],
            ['scope', 'openid email'],
          ],
          [['authorization', BASIC]],
        ),
      },
      r.mutations,
    ),
});

/**
 * Pushed authorization requests (RFC 9126), on by default in oidc-provider and listed in discovery:
 * POST /request with client authentication and the authorization parameters, or the /authorize that
 * uses a real request_uri it handed out.
 */
const par = endpoint({
  name: 'idp:par',
  group: 'mock-idp',
  what: 'POST /request (pushed authorization request), GET /authorize?request_uri=',
  servers: IDP_SERVERS,
  recipe: () => fc.record({ use: fc.boolean(), pkce: fc.boolean(), mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const push: RequestSpec = {
      path: '/request',
      ...form(authorizeQuery({ pkce: r.pkce }), [['authorization', BASIC]]),
    };
    if (!r.use) return fuzzed(ctx, idp, push, r.mutations);
    const pushed = await ctx.step('POST /request', new URL(idp.url), push, (s) => s === 201);
    const requestUri = (jsonOf(pushed) as { request_uri?: unknown } | undefined)?.request_uri;
    if (typeof requestUri !== 'string') throw new FixtureUnavailable('POST /request', 'no request_uri');
    const query: Array<[string, string]> = [
      ['client_id', DEFAULT_CLIENT_ID],
      ['request_uri', requestUri],
    ];
    return fuzzed(ctx, idp, get('/authorize', query), r.mutations);
  },
});

const deviceVerify = endpoint({
  name: 'idp:device-verify',
  group: 'mock-idp',
  what: 'GET/POST /device (user code page)',
  servers: IDP_SERVERS,
  recipe: () => fc.record({ post: fc.boolean(), mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const base = new URL(idp.url);
    const { value } = await ctx.pool.get(`device-page${ctx.systems.generation('idp-oidc')}`, 20, async () => {
      const auth = await ctx.step(
        'POST /device/auth',
        base,
        {
          path: '/device/auth',
          ...form(
            [
              ['client_id', DEFAULT_CLIENT_ID],
              ['scope', 'openid'],
            ],
            [['authorization', BASIC]],
          ),
        },
        (s) => s === 200,
      );
      const body = jsonOf(auth) as { user_code: string };
      harvestTokens(ctx, body);
      const page = await ctx.step('GET /device', base, get('/device'), (s) => s === 200);
      const jar = new Jar();
      jar.absorb(base.host, page.headers);
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body.toString('utf8'))?.[1] ?? '';
      return { userCode: body.user_code, xsrf, jar };
    });
    const cookies = withCookies({ jar: value.jar, base });
    const spec: RequestSpec = r.post
      ? {
          path: '/device',
          ...form(
            [
              ['xsrf', value.xsrf],
              ['user_code', value.userCode],
            ],
            cookies,
          ),
        }
      : get('/device', [['user_code', value.userCode]], cookies);
    return fuzzed(ctx, idp, spec, r.mutations);
  },
});

const endSession = endpoint({
  name: 'idp:end-session',
  group: 'mock-idp',
  what: 'GET /session/end, POST /session/end/confirm',
  servers: IDP_SERVERS,
  recipe: () => fc.record({ confirm: fc.boolean(), mutations: mutations(VOCAB) }),
  run: async (r, ctx) => {
    const idp = await ctx.systems.oidcIdp();
    const base = new URL(idp.url);
    const { value: t } = await pooledTokens(ctx, idp, 'end-session', 200);
    const query: Array<[string, string]> = [
      ['id_token_hint', t.id_token ?? ''],
      ['post_logout_redirect_uri', 'http://127.0.0.1:4000/'],
      ['state', 'fuzz-state'],
    ];
    if (!r.confirm) return fuzzed(ctx, idp, get('/session/end', query), r.mutations);
    const page = await ctx.step('GET /session/end', base, get('/session/end', query), (s) => s === 200);
    const jar = new Jar();
    jar.absorb(base.host, page.headers);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body.toString('utf8'))?.[1] ?? '';
    return fuzzed(
      ctx,
      idp,
      {
        path: '/session/end/confirm',
        ...form(
          [
            ['xsrf', xsrf],
            ['logout', 'yes'],
          ],
          withCookies({ jar, base }),
        ),
      },
      r.mutations,
    );
  },
});

// ---- the control API --------------------------------------------------------------------------------

const usernameArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...CONTROL_USERS) },
  { weight: 1, arbitrary: junkString },
);

const claimsArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constant<Record<string, unknown>>({
      department: 'Sales',
      org_info: { department: 'Sales' },
      teams: ['team-a'],
    }),
  },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.oneof(prototypeName, junkString, fc.constantFrom('email', 'sub', 'teams')), junkJson, {
      maxKeys: 4,
    }),
  },
);

function controlHeaders(token: string, json = true): Array<[string, string]> {
  return [
    ['authorization', `Bearer ${token}`],
    ...(json ? ([['content-type', 'application/json']] as Array<[string, string]>) : []),
  ];
}

function controlCall(
  method: string,
  path: string,
  token: string,
  body?: unknown,
  query: Array<[string, string]> = [],
): RequestSpec {
  return {
    method,
    path,
    query,
    headers: controlHeaders(token, body !== undefined),
    body: body === undefined ? { kind: 'none' } : { kind: 'json', value: body },
  };
}

type ProbeWhen = 'none' | 'fuzzed' | 'both';
/** One input in five is followed by a whole sign-in (they cost five requests or ten). */
const probeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant<ProbeWhen>('none') },
  { weight: 1, arbitrary: fc.constant<ProbeWhen>('fuzzed') },
  { weight: 1, arbitrary: fc.constant<ProbeWhen>('both') },
);

/** A whole sign-in, token and userinfo at `idp` as `user`: each answer >= 500 is a problem. */
async function probe(ctx: FuzzContext, idp: MockIdp, user: string, strict: boolean): Promise<string | undefined> {
  const base = new URL(idp.url);
  const jar = new Jar();
  let spec = get('/authorize', authorizeQuery({ hint: user, state: 'probe' }));
  let codeValue: string | undefined;
  for (let hop = 0; hop < 5 && !codeValue; hop++) {
    const answer = await ctx.send(base, spec);
    if (answer.status === 0 || answer.status >= 500)
      return `probe ${spec.path} answered ${answer.status || answer.error} (${answer.body.toString('utf8').slice(0, 200)})`;
    jar.absorb(base.host, answer.headers);
    const location = locationOf(answer);
    if (!location) return strict ? `probe ${spec.path} answered ${answer.status} without a redirect` : undefined;
    const next = new URL(location, base);
    if (next.origin !== base.origin) codeValue = next.searchParams.get('code') ?? undefined;
    else spec = specOfTarget('GET', `${next.pathname}${next.search}`, withCookies({ jar, base }));
    if (next.origin !== base.origin && !codeValue)
      return strict ? `probe got no code (${next.search.slice(0, 120)})` : undefined;
  }
  if (!codeValue) return strict ? 'probe got no code' : undefined;
  ctx.systems.book.add(codeValue, 'authorization code');
  const tokenAnswer = await ctx.send(base, {
    path: '/token',
    ...form(
      [
        ['grant_type', 'authorization_code'],
        ['code', codeValue],
        ['redirect_uri', REDIRECT_URI],
      ],
      [['authorization', BASIC]],
    ),
  });
  harvestTokens(ctx, jsonOf(tokenAnswer));
  if (tokenAnswer.status === 0 || tokenAnswer.status >= 500 || (strict && tokenAnswer.status !== 200)) {
    return `probe POST /token answered ${tokenAnswer.status || tokenAnswer.error} (${tokenAnswer.body.toString('utf8').slice(0, 200)})`;
  }
  const accessToken = (jsonOf(tokenAnswer) as Tokens | undefined)?.access_token;
  if (!accessToken) return undefined;
  const info = await ctx.send(base, get('/userinfo', [], [['authorization', `Bearer ${accessToken}`]]));
  if (info.status === 0 || info.status >= 500) return `probe GET /userinfo answered ${info.status || info.error}`;
  if (strict) {
    const claims = jsonOf(info) as Record<string, unknown> | undefined;
    const expected = idp.users.get(user)?.claims ?? {};
    const missing = Object.keys(expected).filter((name) => !(claims && name in claims));
    if (info.status !== 200 || missing.length > 0) {
      return `probe GET /userinfo for ${user} answered ${info.status} without the claims ${missing.join(', ')}`;
    }
  }
  return undefined;
}

function controlEndpoint<R extends { mutations: Mutation[]; probe: ProbeWhen; user: string }>(
  name: string,
  what: string,
  extra: fc.Arbitrary<Omit<R, 'mutations' | 'probe' | 'user'>>,
  build: (r: R, token: string) => RequestSpec,
): Endpoint {
  return endpoint({
    name,
    group: 'mock-idp-control',
    what,
    servers: CONTROL_SERVERS,
    stateful: true,
    // A key rotation makes RSA keys: slow on a busy machine, and not a hang.
    slowMs: 15_000,
    recipe: () =>
      fc
        .tuple(extra, fc.record({ mutations: mutations(CONTROL_VOCAB), probe: probeArb, user: usernameArb }))
        .map(([e, common]) => ({ ...e, ...common }) as R),
    run: async (r, ctx) => {
      const idp = await ctx.systems.controlIdp();
      const spec = applyMutations(build(r, ctx.systems.controlToken), r.mutations);
      const answer = await ctx.send(new URL(idp.url), spec);
      const problems: string[] = [];
      // Faults are injected on purpose: none may fire at a probe.
      idp.faults.clear();
      if (r.probe !== 'none') {
        const target = CONTROL_USERS.includes(r.user) && idp.users.get(r.user) ? r.user : 'alice';
        if (idp.users.get(target)) {
          const fuzzedState = await probe(ctx, idp, target, false);
          if (fuzzedState) problems.push(`${fuzzedState} (in the state the control call left)`);
        }
      }
      idp.reset();
      if (r.probe === 'both') {
        const afterReset = await probe(ctx, idp, 'alice', true);
        if (afterReset) problems.push(`after /_mock/reset, ${afterReset}`);
      }
      return observe(spec, answer, problems);
    },
  });
}

const VALID_USERS = [
  { username: 'alice', claims: { email: 'alice@example.com', teams: ['team-alpha'] } },
  {
    username: 'zed',
    password: 'zed-password-123',
    teams: ['team-z'],
    claims: { email: 'zed@example.com', org_info: { department: 'Z' } },
  },
];

const controlUsers = controlEndpoint<{ op: string; mutations: Mutation[]; probe: ProbeWhen; user: string }>(
  'ctl:users',
  '/_mock/users, /_mock/users/{username}',
  fc.record({ op: fc.constantFrom('list', 'replace', 'get', 'put', 'put', 'delete') }),
  (r, token) => {
    const path = `/_mock/users/${encodeComponent(r.user)}`;
    switch (r.op) {
      case 'list':
        return controlCall('GET', '/_mock/users', token);
      case 'replace':
        return controlCall('PUT', '/_mock/users', token, { users: VALID_USERS });
      case 'get':
        return controlCall('GET', path, token);
      case 'put':
        return controlCall('PUT', path, token, {
          password: 'pw-1234567',
          teams: ['team-a'],
          claims: { email: `${r.user}@example.com`, department: 'Sales' },
        });
      default:
        return controlCall('DELETE', path, token);
    }
  },
);

const controlClaims = controlEndpoint<{
  op: string;
  claims: Record<string, unknown>;
  mutations: Mutation[];
  probe: ProbeWhen;
  user: string;
}>(
  'ctl:claims',
  '/_mock/users/{username}/claims (GET, PUT, PATCH)',
  fc.record({ op: fc.constantFrom('GET', 'PUT', 'PATCH', 'PATCH'), claims: claimsArb }),
  (r, token) =>
    controlCall(r.op, `/_mock/users/${encodeComponent(r.user)}/claims`, token, r.op === 'GET' ? undefined : r.claims),
);

const FAULTS: unknown[] = [
  { endpoint: 'token', kind: 'oauth_error', error: 'invalid_grant', times: 1 },
  { endpoint: 'userinfo', kind: 'status', status: 503, body: { error: 'temporarily_unavailable' }, times: 2 },
  { endpoint: 'token', kind: 'delay', delay_ms: 10 },
  { endpoint: 'authorization', kind: 'oauth_error', error: 'access_denied', status: 400 },
  { endpoint: 'token', kind: 'wrong_issuer' },
  { endpoint: 'token', kind: 'expired_id_token', expired_seconds_ago: 60, times: 'always' },
  { endpoint: 'jwks', kind: 'malformed_body' },
  { endpoint: 'discovery', kind: 'drop_connection' },
];

const controlFaults = controlEndpoint<{
  op: string;
  fault: number;
  mutations: Mutation[];
  probe: ProbeWhen;
  user: string;
}>(
  'ctl:faults',
  '/_mock/faults, /_mock/faults/{id}',
  fc.record({
    op: fc.constantFrom('list', 'add', 'add', 'add', 'clear', 'remove'),
    fault: fc.nat({ max: FAULTS.length - 1 }),
  }),
  (r, token) =>
    r.op === 'list'
      ? controlCall('GET', '/_mock/faults', token)
      : r.op === 'add'
        ? controlCall('POST', '/_mock/faults', token, FAULTS[r.fault])
        : r.op === 'clear'
          ? controlCall('DELETE', '/_mock/faults', token)
          : controlCall('DELETE', `/_mock/faults/fault-${r.fault + 1}`, token),
);

const controlSettings = controlEndpoint<{ op: string; mutations: Mutation[]; probe: ProbeWhen; user: string }>(
  'ctl:settings',
  '/_mock/lifetimes, /_mock/clock, /_mock/settings',
  fc.record({
    op: fc.constantFrom('get-lifetimes', 'put-lifetimes', 'get-clock', 'put-clock', 'get-settings', 'put-settings'),
  }),
  (r, token) => {
    switch (r.op) {
      case 'get-lifetimes':
        return controlCall('GET', '/_mock/lifetimes', token);
      case 'put-lifetimes':
        return controlCall('PUT', '/_mock/lifetimes', token, {
          access_token_seconds: 600,
          authorization_code_seconds: 30,
        });
      case 'get-clock':
        return controlCall('GET', '/_mock/clock', token);
      case 'put-clock':
        return controlCall('PUT', '/_mock/clock', token, { offset_seconds: 120 });
      case 'get-settings':
        return controlCall('GET', '/_mock/settings', token);
      default:
        return controlCall('PUT', '/_mock/settings', token, { auto_login: r.user });
    }
  },
);

const controlKeys = controlEndpoint<{ rotate: boolean; mutations: Mutation[]; probe: ProbeWhen; user: string }>(
  'ctl:keys',
  '/_mock/keys, /_mock/keys/rotate',
  // A rotation makes new RSA and EC keys (tens of milliseconds): 1 input in 200.
  fc.record({
    rotate: fc.oneof({ weight: 199, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  }),
  (r, token) =>
    r.rotate ? controlCall('POST', '/_mock/keys/rotate', token) : controlCall('GET', '/_mock/keys', token),
);

const controlJournal = controlEndpoint<{
  clear: boolean;
  query: Array<[string, string]>;
  mutations: Mutation[];
  probe: ProbeWhen;
  user: string;
}>(
  'ctl:journal',
  '/_mock/journal (GET with filters, DELETE)',
  fc.record({
    clear: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    query: fc.subarray<[string, string]>([
      ['type', 'request'],
      ['endpoint', 'token'],
      ['event', 'grant.success'],
      ['path', '/token'],
      ['method', 'post'],
      ['status', '200'],
      ['client_id', DEFAULT_CLIENT_ID],
      ['since', '0'],
      ['limit', '10'],
    ]),
  }),
  (r, token) =>
    r.clear
      ? controlCall('DELETE', '/_mock/journal', token)
      : controlCall('GET', '/_mock/journal', token, undefined, r.query),
);

const controlReset = controlEndpoint<{ op: string; mutations: Mutation[]; probe: ProbeWhen; user: string }>(
  'ctl:reset',
  'POST /_mock/reset, GET /_mock',
  fc.record({ op: fc.constantFrom('reset', 'summary') }),
  (r, token) => (r.op === 'reset' ? controlCall('POST', '/_mock/reset', token) : controlCall('GET', '/_mock', token)),
);

export const MOCK_IDP_ENDPOINTS: Endpoint[] = [
  simple('idp:discovery', 'GET /.well-known/openid-configuration', '/.well-known/openid-configuration'),
  simple('idp:jwks', 'GET /jwks', '/jwks'),
  simple('idp:health', 'GET /health', '/health'),
  authorize,
  resume,
  interactionPage,
  interactionLogin,
  interactionDeny,
  token,
  userinfo,
  tokenManagement('idp:introspection', '/token/introspection', false),
  tokenManagement('idp:revocation', '/token/revocation', true),
  deviceAuth,
  deviceVerify,
  endSession,
  par,
  controlUsers,
  controlClaims,
  controlFaults,
  controlSettings,
  controlKeys,
  controlJournal,
  controlReset,
];

/** After the run: the IdP still signs a user in, with every claim at userinfo. */
export async function mockIdpStillWorks(ctx: FuzzContext, which: 'oidc' | 'control'): Promise<string | undefined> {
  try {
    const idp = which === 'oidc' ? await ctx.systems.oidcIdp() : await ctx.systems.controlIdp();
    return await probe(ctx, idp, 'alice', true);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
