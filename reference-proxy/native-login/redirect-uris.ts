/**
 * Which redirect URIs a public client may register, and which may receive a proxy-API grant
 * (docs/contract.md section 10.6). Plain functions over strings.
 */

export const MAX_REDIRECT_URIS = 3;
export const MAX_REDIRECT_URI_LENGTH = 256;

/** The loopback hosts (RFC 8252 section 7.3), as URL's `hostname` spells them. */
const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Why a redirect URI cannot be registered, or undefined when it can: `https`, or `http` on a
 * loopback host; never userinfo (it hides the real host from a reader), a fragment (RFC 6749
 * section 3.1.2) or a backslash (browsers read it as `/`, parsers differ on the host).
 */
export function redirectUriProblem(uri: unknown): 'length' | 'form' | undefined {
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > MAX_REDIRECT_URI_LENGTH) return 'length';
  if (uri.includes('\\') || uri.includes('#') || /\s/.test(uri) || !URL.canParse(uri)) return 'form';
  const url = new URL(uri);
  if (url.username !== '' || url.password !== '' || url.hostname === '') return 'form';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTNAMES.has(url.hostname)) return undefined;
  return 'form';
}

/** Whether a (registered, so well-formed) redirect URI points at this machine. */
export function isLoopbackRedirect(uri: string): boolean {
  return URL.canParse(uri) && LOOPBACK_HOSTNAMES.has(new URL(uri).hostname);
}

/**
 * Whether a `resource` a client sent names this gateway's API, whose identifier is the public base
 * URL: the same scheme, host, port and path, however spelled (case of scheme and host, a default
 * port, a trailing slash).
 */
export function isThisGateway(resource: string, baseUrl: string): boolean {
  // Without PROXY_BASE_URL the base comes from the Host header, which a client may make anything.
  if (!URL.canParse(resource) || !URL.canParse(baseUrl)) return false;
  const given = new URL(resource);
  const ours = new URL(baseUrl);
  if (given.search !== '' || given.hash !== '' || given.username !== '' || given.password !== '') return false;
  const path = (url: URL) => url.pathname.replace(/\/+$/, '');
  return given.origin === ours.origin && path(given) === path(ours);
}
