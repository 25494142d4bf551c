/**
 * Relying parties registered with the mock IdP, and their oidc-provider metadata (RFC 7591
 * section 2 names). The default client is LiteLLM's local-testing one (docs/contract.md section 9).
 */
import type { ClientMetadata } from 'oidc-provider';

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export interface MockClient {
  clientId: string;
  /** Absent for public clients (`authMethod: none`). */
  clientSecret?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /**
   * The registered method. oidc-provider also accepts the other secret method for a confidential
   * client (machine-notes.md, gotcha 9), so Basic and body both work either way.
   */
  authMethod: ClientAuthMethod;
  /** Refuse authorization requests without PKCE S256 (RFC 7636). Public clients always need it. */
  requirePkce: boolean;
  /** Algorithm of this client's id_tokens. */
  idTokenSigningAlg?: 'RS256' | 'ES256';
}

export const DEFAULT_CLIENT_ID = 'litellm-cli-test';
export const DEFAULT_CLIENT_SECRET = 'litellm-cli-test-secret';
export const DEFAULT_REDIRECT_URI = 'http://127.0.0.1:4000/sso/callback';

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
