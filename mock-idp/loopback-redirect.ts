/**
 * RFC 8252 section 7.3: for loopback redirect URIs the authorization server must allow any port at
 * request time. oidc-provider does this only for `application_type: native` clients; the gateways
 * the suite drives are web clients on random ports, so the same rule is applied to every client.
 * Scheme, host, path and query must still match a registered URI exactly.
 */
import type { Provider } from 'oidc-provider';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** The URI without its port when it is an http loopback URI, else undefined. */
export function withoutLoopbackPort(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  if (url.username !== '' || url.password !== '' || url.hash !== '') return undefined;
  return `${url.protocol}//${url.hostname}${url.pathname}${url.search}`;
}

/**
 * True when `requested` equals a registered URI up to the port of a loopback host.
 * @internal
 */
export function loopbackRedirectMatches(requested: string, registered: readonly string[]): boolean {
  const wanted = withoutLoopbackPort(requested);
  if (wanted === undefined) return false;
  return registered.some((uri) => withoutLoopbackPort(uri) === wanted);
}

/** Widen the provider's redirect checks (authorization and RP-initiated logout) with the rule above. */
export function allowAnyLoopbackPort(provider: Provider): void {
  const prototype = provider.Client.prototype;
  const exactRedirect = prototype.redirectUriAllowed;
  const exactPostLogout = prototype.postLogoutRedirectUriAllowed;
  prototype.redirectUriAllowed = function redirectUriAllowed(value: string): boolean {
    return exactRedirect.call(this, value) || loopbackRedirectMatches(value, this.redirectUris ?? []);
  };
  prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(value: string): boolean {
    return exactPostLogout.call(this, value) || loopbackRedirectMatches(value, this.postLogoutRedirectUris ?? []);
  };
}
