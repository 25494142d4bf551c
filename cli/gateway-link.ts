/**
 * Whether a link a gateway hands the CLI stays on that gateway: its origin (so an http(s) URL, never
 * a `javascript:` or `data:` one, whose origin is opaque), no userinfo or fragment, and under the
 * base URL's path. The CLI follows no other link from an answer: a PKCE discovery document's
 * endpoints (the code, the verifier and the refresh token go there; docs/contract.md section 10.6)
 * and the start answer's `verification_uri_complete` (a browser link, CLISSO-CLI-29).
 */
import { shown } from './terminal-safe.ts';

/**
 * Why `value` is not a link on the gateway at `baseUrl`, as the end of a sentence ("must be on the
 * gateway's origin ..."), or undefined when it is. `pathMayEqualBase`: the base URL itself counts
 * (a `resource`), not only paths under it.
 */
export function offGatewayRule(baseUrl: string, value: string, pathMayEqualBase = false): string | undefined {
  const base = new URL(baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const rule = `must be on the gateway's origin ${base.origin} and under its path ${basePath || '/'} (got ${shown(JSON.stringify(value))})`;
  let target: URL;
  try {
    target = new URL(value);
  } catch {
    return rule;
  }
  const path = target.pathname.replace(/\/+$/, '');
  const inside = path.startsWith(`${basePath}/`) || (pathMayEqualBase && path === basePath);
  if (target.origin !== base.origin || target.username || target.password || target.hash || !inside) return rule;
  return undefined;
}
