/**
 * What the mock prints on start: the issuer, the clients, the users and the `GENERIC_*` lines to
 * paste when pointing a LiteLLM gateway (or the reference proxy) at it (docs/contract.md
 * section 3). The client secrets are test fixtures of the mock itself, so printing them is the point.
 */
import type { MockIdp } from './mock-idp.ts';

/** @internal */
export interface BannerExtras {
  autoLogin?: string | undefined;
  usersFile?: string | undefined;
}

/**
 * The text the `mock-idp` command prints at start.
 * @internal
 */
export function startBanner(
  idp: Pick<MockIdp, 'issuer' | 'url' | 'clients' | 'users' | 'endpoints' | 'startupMs'>,
  extras: BannerExtras = {},
): string {
  const lines = [
    `Mock IdP listening on ${idp.url} (ready in ${idp.startupMs} ms)`,
    `issuer:      ${idp.issuer}`,
    `discovery:   ${idp.endpoints.discovery}`,
    `control API: ${idp.endpoints.control}`,
    `users:       ${idp.users.usernames().join(', ')}${extras.usersFile ? ` (from ${extras.usersFile})` : ' (built-in cast)'}`,
    extras.autoLogin
      ? `auto-login:  every authorization signs in as ${extras.autoLogin}`
      : 'login page:  pick a user or type a username and password',
    '',
  ];
  for (const client of idp.clients) {
    lines.push(
      `client ${client.clientId}${client.clientSecret ? ` / ${client.clientSecret}` : ' (public)'}: auth ${client.authMethod}${client.requirePkce ? ', PKCE required' : ''}`,
      `  redirect URIs: ${client.redirectUris.join(' ')} (any port on loopback hosts)`,
    );
  }
  const first = idp.clients[0];
  if (first) {
    lines.push(
      '',
      '# Point a LiteLLM gateway (or the reference proxy) at this IdP:',
      `GENERIC_CLIENT_ID=${first.clientId}`,
      `GENERIC_CLIENT_SECRET=${first.clientSecret ?? ''}`,
      `GENERIC_AUTHORIZATION_ENDPOINT=${idp.endpoints.authorization}`,
      `GENERIC_TOKEN_ENDPOINT=${idp.endpoints.token}`,
      `GENERIC_USERINFO_ENDPOINT=${idp.endpoints.userinfo}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
