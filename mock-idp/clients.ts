/**
 * Relying parties registered with the mock IdP, and their oidc-provider metadata (RFC 7591
 * section 2 names). The default client is LiteLLM's local-testing one (docs/contract.md section 9).
 */
import type { ClientMetadata } from 'oidc-provider';

/** How a client authenticates at the token endpoint (`none`: a public client, which must use PKCE). */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
/** One of {@link CLIENT_AUTH_METHODS}. */
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

/** A relying party registered with the mock (see {@link MockIdpOptions.clients}). */
export interface MockClient {
  /** Its `client_id`. */
  clientId: string;
  /** Absent for public clients (`authMethod: none`). */
  clientSecret?: string;
  /**
   * Where authorizations may send the browser back. On a loopback host (`127.0.0.1`, `localhost`,
   * `[::1]`) any port matches (RFC 8252 section 7.3); elsewhere the URI must match exactly.
   */
  redirectUris: string[];
  /** Where RP-initiated logout may send the browser back. */
  postLogoutRedirectUris?: string[];
  /**
   * The registered method. oidc-provider itself accepts either secret method from a confidential
   * client; the mock holds a `client_secret_post` client to its method (HTTP Basic at the token
   * endpoint is refused `invalid_client`, provider-middleware.ts), while a `client_secret_basic`
   * client may still send its secret in the body.
   */
  authMethod: ClientAuthMethod;
  /** Refuse authorization requests without PKCE S256 (RFC 7636). Public clients always need it. */
  requirePkce: boolean;
  /**
   * Algorithm of this client's id_tokens.
   * @defaultValue `'RS256'`
   */
  idTokenSigningAlg?: 'RS256' | 'ES256';
}

/** LiteLLM's local-testing client id. */
export const DEFAULT_CLIENT_ID = 'litellm-cli-test';
/** Its secret: a public test fixture, not a secret. */
export const DEFAULT_CLIENT_SECRET = 'litellm-cli-test-secret';
/** Its first redirect URI: a LiteLLM gateway's callback on port 4000 (any port on loopback matches). */
export const DEFAULT_REDIRECT_URI = 'http://127.0.0.1:4000/sso/callback';

/**
 * LiteLLM's local-testing client: `litellm-cli-test` / `litellm-cli-test-secret`, HTTP Basic (the
 * body works too), no PKCE required, redirect URIs `http://127.0.0.1:4000/sso/callback` and
 * `http://localhost:4000/sso/callback` (any port).
 * @param overrides - another id or secret
 */
export function defaultClient(overrides: { clientId?: string; clientSecret?: string } = {}): MockClient {
  return {
    clientId: overrides.clientId ?? DEFAULT_CLIENT_ID,
    clientSecret: overrides.clientSecret ?? DEFAULT_CLIENT_SECRET,
    redirectUris: [DEFAULT_REDIRECT_URI, 'http://localhost:4000/sso/callback'],
    postLogoutRedirectUris: ['http://127.0.0.1:4000/', 'http://localhost:4000/'],
    authMethod: 'client_secret_basic',
    requirePkce: false,
  };
}

/** Every grant the mock supports, so one client can try every flow. */
const GRANT_TYPES = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];

export function toClientMetadata(client: MockClient): ClientMetadata {
  return {
    client_id: client.clientId,
    ...(client.clientSecret !== undefined && client.authMethod !== 'none'
      ? { client_secret: client.clientSecret }
      : {}),
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris ?? [],
    token_endpoint_auth_method: client.authMethod,
    grant_types: GRANT_TYPES,
    response_types: ['code'],
    id_token_signed_response_alg: client.idTokenSigningAlg ?? 'RS256',
  };
}
