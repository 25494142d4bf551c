/**
 * The oidc-provider instance: its configuration is a pure function of the mock's current settings
 * (issuer, clients, claim names, keys, options). Claim names and keys are fixed when a Provider is
 * made, so the mock makes a new one when they change; state lives in the shared MemoryStore.
 */
import type { Configuration, FindAccount, KoaContextWithOIDC } from 'oidc-provider';
import { interactionPolicy, Provider } from 'oidc-provider';
import { NAMES_OUTSIDE_PROVIDER } from './claims.ts';
import { type MockClient, toClientMetadata } from './clients.ts';
import { allowAnyLoopbackPort } from './loopback-redirect.ts';
import type { MemoryStore } from './memory-store.ts';
import {
  deviceCodeInputPage,
  deviceConfirmPage,
  deviceSuccessPage,
  errorPage,
  logoutPage,
  logoutSuccessPage,
} from './pages.ts';
import type { SigningKeys } from './signing-keys.ts';
import { type MockUser, providerClaims, subjectOf } from './users.ts';

/**
 * Endpoint paths. LiteLLM's mock serves `/authorize`, `/token`, `/userinfo` (docs/contract.md
 * section 9); the rest keep oidc-provider's names. Discovery lists them all.
 * @internal
 */
export const ENDPOINT_PATHS = {
  authorization: '/authorize',
  token: '/token',
  userinfo: '/userinfo',
  jwks: '/jwks',
  device_authorization: '/device/auth',
  code_verification: '/device',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  end_session: '/session/end',
} as const;

/** Token lifetimes in seconds; the control API can override them at run time. */
export interface TokenLifetimes {
  /** Access tokens (userinfo, introspection). */
  accessTokenSeconds: number;
  /** id_tokens (`exp` - `iat`). */
  idTokenSeconds: number;
  /** Refresh tokens. */
  refreshTokenSeconds: number;
  /** Authorization codes, between the redirect back and the code exchange. */
  authorizationCodeSeconds: number;
  /** Device codes (RFC 8628). */
  deviceCodeSeconds: number;
}

/** The mock's token lifetimes unless told otherwise: one hour for access and id_tokens, 14 days for refresh tokens, 60 s for codes, 10 minutes for device codes. */
export const DEFAULT_TOKEN_LIFETIMES: TokenLifetimes = {
  accessTokenSeconds: 3600,
  idTokenSeconds: 3600,
  refreshTokenSeconds: 14 * 24 * 3600,
  authorizationCodeSeconds: 60,
  deviceCodeSeconds: 600,
};

/** OpenID Connect Core section 5.4: the standard scopes and their claims. */
const STANDARD_SCOPE_CLAIMS = {
  email: ['email', 'email_verified'],
  phone: ['phone_number', 'phone_number_verified'],
  address: ['address'],
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
} as const;

const STANDARD_PROFILE_CLAIMS = new Set<string>(STANDARD_SCOPE_CLAIMS.profile);

const NON_PROFILE_CLAIMS = new Set<string>([
  'sub',
  ...STANDARD_SCOPE_CLAIMS.email,
  ...STANDARD_SCOPE_CLAIMS.phone,
  ...STANDARD_SCOPE_CLAIMS.address,
]);

/**
 * oidc-provider releases a claim only when a requested scope declares it. LiteLLM asks for
 * `openid email profile` and expects every claim of the user at userinfo (employment_type,
 * org_info, teams, ...), so every claim name that is not an email/phone/address claim is declared
 * under `profile`, next to the standard profile claims. `groups` and `teams` are also a scope of
 * their own for relying parties that ask for them by name. NAMES_OUTSIDE_PROVIDER are left out: the
 * mock releases those itself (provider-middleware.ts).
 * @internal
 */
export function scopeClaims(claimNames: Iterable<string>): Record<string, string[]> {
  const custom = [...claimNames].filter(
    (name) => !NON_PROFILE_CLAIMS.has(name) && !STANDARD_PROFILE_CLAIMS.has(name) && !NAMES_OUTSIDE_PROVIDER.has(name),
  );
  return {
    openid: ['sub'],
    email: [...STANDARD_SCOPE_CLAIMS.email],
    phone: [...STANDARD_SCOPE_CLAIMS.phone],
    address: [...STANDARD_SCOPE_CLAIMS.address],
    profile: [...STANDARD_SCOPE_CLAIMS.profile, ...custom],
    groups: ['groups', 'teams'],
  };
}

export interface ProviderSettings {
  issuer: string;
  clients: readonly MockClient[];
  /** Read at every request, so claims changed at run time are served at once. */
  findUserBySubject(sub: string): MockUser | undefined;
  claimNames: Iterable<string>;
  keys: SigningKeys;
  store: MemoryStore;
  cookieKeys: string[];
  /** Read at every token issue, so lifetime overrides apply to the next token. */
  lifetimes(): TokenLifetimes;
  /** Put the user's scope claims in the id_token too (OpenID Connect Core section 5.4 allows it). */
  idTokenUserClaims: boolean;
  /**
   * The user an authorization request signs in without the login page (auto-login, or the user its
   * `login_hint` names), if any; called with the request's `login_hint`.
   */
  userSignedInWithoutPage(loginHint: unknown): MockUser | undefined;
}

export function buildProvider(settings: ProviderSettings): Provider {
  const pkceRequiredFor = new Set(settings.clients.filter((c) => c.requirePkce).map((c) => c.clientId));
  const findAccount: FindAccount = async (_ctx, sub) => {
    const user = settings.findUserBySubject(sub);
    if (!user) return undefined;
    return {
      accountId: sub,
      // Looked up again at claim time: the control API may have changed the user since login.
      claims: () => providerClaims(settings.findUserBySubject(sub) ?? user),
    };
  };
  // Consent is granted automatically: the grant covers whatever the client asked for.
  const loadExistingGrant = async (ctx: KoaContextWithOIDC) => {
    const { client, session, params } = ctx.oidc;
    const accountId = session?.accountId;
    if (!client || !accountId) return undefined;
    const existingId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
    const grant =
      (existingId ? await ctx.oidc.provider.Grant.find(existingId) : undefined) ??
      new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId });
    if (typeof params?.scope === 'string') grant.addOIDCScope(params.scope);
    await grant.save();
    return grant;
  };
  const policy = interactionPolicy.base();
  policy.add(signInWithoutPage(settings, findAccount, loadExistingGrant), 0);
  const configuration: Configuration = {
    adapter: settings.store.adapterFactory,
    clients: settings.clients.map(toClientMetadata),
    jwks: { keys: settings.keys.all() },
    cookies: { keys: settings.cookieKeys },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'phone', 'address', 'groups'],
    claims: scopeClaims(settings.claimNames),
    conformIdTokenClaims: !settings.idTokenUserClaims,
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256'] },
    routes: ENDPOINT_PATHS,
    findAccount,
    interactions: { policy, url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx, form, _out, err) => {
          ctx.type = 'html';
          ctx.body = deviceCodeInputPage(form, err ? 'That code is not valid. Try again.' : undefined);
        },
        userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) => {
          ctx.type = 'html';
          ctx.body = deviceConfirmPage(form, client.clientId, userCode);
        },
        successSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = deviceSuccessPage(ctx.oidc.client?.clientId ?? '');
        },
      },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = logoutSuccessPage();
        },
      },
    },
    // RFC 7636: S256 only; required for public clients and for clients registered with requirePkce.
    pkce: {
      required: (_ctx, client) => client.clientAuthMethod === 'none' || pkceRequiredFor.has(client.clientId),
    },
    // A mock should not make developers learn the offline_access + prompt=consent dance
    // (machine-notes.md, gotcha 5): every client allowed the refresh_token grant gets one.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    // RFC 9700 section 4.14.2: rotate refresh tokens on every use, so replay of an old one is visible.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: () => settings.lifetimes().accessTokenSeconds,
      IdToken: () => settings.lifetimes().idTokenSeconds,
      RefreshToken: () => settings.lifetimes().refreshTokenSeconds,
      AuthorizationCode: () => settings.lifetimes().authorizationCodeSeconds,
      DeviceCode: () => settings.lifetimes().deviceCodeSeconds,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
    loadExistingGrant,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = errorPage('Mock IdP error', { error: out.error, error_description: out.error_description });
    },
    clientBasedCORS: () => true,
  };
  const provider = new Provider(settings.issuer, configuration);
  allowAnyLoopbackPort(provider);
  persistOnlyStoredSessions(provider);
  return provider;
}

/**
 * Auto-login and `login_hint` sign the user in at the authorization request itself: a browser
 * without a session goes straight back to the client with a code, as from LiteLLM's own mock,
 * instead of through the interaction page and the resume of the authorization (two requests, an
 * interaction stored and two cookies fewer per login). The session, its cookie and the grant are
 * the ones the interaction would have made. Evaluated first in the policy, after oidc-provider has
 * checked the request (client, redirect URI, scope, PKCE), so an invalid request signs nobody in.
 * A browser already signed in keeps its user, as before. A request that asks something of the
 * sign-in itself (`prompt`, `max_age`, `id_token_hint`, `acr_values`), an unknown hinted user and
 * the device flow take the interaction as before (interactions.ts), which gives the answer it always did.
 */
function signInWithoutPage(
  settings: ProviderSettings,
  findAccount: FindAccount,
  loadExistingGrant: (ctx: KoaContextWithOIDC) => Promise<InstanceType<Provider['Grant']> | undefined>,
): interactionPolicy.Prompt {
  const { Check, Prompt } = interactionPolicy;
  return new Prompt(
    { name: 'sign_in_without_page', requestable: false },
    new Check('signed_in_without_page', 'auto-login or login_hint', 'interaction_required', async (ctx) => {
      const { oidc } = ctx;
      const { params, session, client } = oidc;
      if (oidc.route !== 'authorization' || !params || !session || !client || session.accountId) {
        return Check.NO_NEED_TO_PROMPT;
      }
      if (['prompt', 'max_age', 'id_token_hint', 'acr_values'].some((p) => params[p] !== undefined)) {
        return Check.NO_NEED_TO_PROMPT;
      }
      const user = settings.userSignedInWithoutPage(params['login_hint']);
      const account = user ? await findAccount(ctx, subjectOf(user)) : undefined;
      if (!account) return Check.NO_NEED_TO_PROMPT;
      // What the resume of an interaction finished with a login does, then oidc-provider's loadGrant.
      session.loginAccount({ accountId: account.accountId });
      oidc.entity('Account', account);
      const grant = await loadExistingGrant(ctx);
      if (grant) {
        session.ensureClientContainer(client.clientId);
        session.grantIdFor(client.clientId, grant.jti);
        oidc.entity('Grant', grant);
      }
      return Check.NO_NEED_TO_PROMPT;
    }),
  );
}

/**
 * oidc-provider re-saves, after its route, a session its error page touched (the device pages put a
 * new form secret in it). When that session was never stored (GET /device/auth, GET /device/{x},
 * POST /device without the device page's cookie), `persist()` throws "persist can only be called on
 * previously persisted Sessions" and the 400 page it had rendered becomes a 500. No cookie points at
 * a session that was never stored, so there is nothing to extend: persisting it does nothing.
 */
function persistOnlyStoredSessions(provider: Provider): void {
  const prototype = provider.Session.prototype;
  const persist = prototype.persist;
  prototype.persist = function persistIfStored(this: InstanceType<Provider['Session']>) {
    return typeof this.exp === 'number' ? persist.call(this) : Promise.resolve('');
  };
}
