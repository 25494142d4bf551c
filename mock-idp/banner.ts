/**
 * What the mock prints on start: the issuer, the clients, the users and the `GENERIC_*` lines to
 * paste when pointing a LiteLLM gateway (or the reference proxy) at it (protocol.md section 3).
 * The client secret is a public test fixture, so printing it is fine.
 */
import type { MockIdp } from './mock-idp.ts';

export function startBanner(
  idp: Pick<MockIdp, 'issuer' | 'url' | 'clients' | 'users' | 'endpoints'>,
  autoLogin?: string,
): string {
  const lines = [
    `Mock IdP listening on ${idp.url}`,
    `issuer:    ${idp.issuer}`,
    `discovery: ${idp.endpoints.discovery}`,
    `users:     ${idp.users.usernames().join(', ')}`,
    autoLogin
      ? `auto-login: every authorization signs in as ${autoLogin}`
      : 'login page: pick a user or type a username',
    '',
  ];
  for (const client of idp.clients) {
    lines.push(
      `client ${client.clientId}: auth ${client.authMethod}${client.requirePkce ? ', PKCE required' : ''}`,
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
