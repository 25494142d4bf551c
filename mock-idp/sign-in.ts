/**
 * The user's part of an authorization at the mock IdP, played over HTTP for a relying party's tests:
 * open the authorization URL the relying party built, sign in as a named user on the login page
 * (or let auto-login do it), and stop at the redirect that leaves the IdP, without following it.
 * The relying party's test then hands that URL (with `code` and `state`, or `error`) to its own
 * callback handler. A cookie jar carries oidc-provider's interaction cookies between the steps.
 */
import { CookieJar } from 'tough-cookie';

/** How {@link MockIdp.signIn} signs in. */
export interface SignInOptions {
  /**
   * The user to sign in as, when the IdP shows its login page (it does not in auto-login mode,
   * nor for a request with a `login_hint` naming a user). Without a password this presses the
   * page's "Sign in as" button, which skips the password check.
   */
  username?: string;
  /** Sign in through the username/password form instead: a wrong password is refused (401). */
  password?: string;
  /**
   * Stop after this many HTTP requests at the IdP.
   * @defaultValue 10
   */
  maxSteps?: number;
}

/** A sign-in that did not get back to the relying party: the IdP answered with a page instead. */
export class SignInError extends Error {
  /**
   * @param message - what went wrong, with the IdP's own words when it gave any
   * @param status - the HTTP status of the IdP's last answer
   * @param url - the IdP URL that gave it (its query left out, as it may carry a `code`)
   */
  constructor(
    message: string,
    readonly status: number,
    readonly url: string,
  ) {
    super(message);
    this.name = 'SignInError';
  }
}

const DEFAULT_MAX_STEPS = 10;
const LOGIN_PAGE_PATH = /^\/interaction\/[^/]+$/;

/**
 * Play the browser from `authorizationUrl` until the IdP redirects away from `idpOrigins`.
 * @returns the URL the IdP sent the browser to (not visited)
 */
export async function signInAt(
  idpOrigins: readonly string[],
  authorizationUrl: string | URL,
  options: SignInOptions = {},
): Promise<URL> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  let init: RequestInit = { method: 'GET' };
  let signedIn = false;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  for (let step = 0; step < maxSteps; step++) {
    const headers = new Headers(init.headers);
    const cookie = await jar.getCookieString(url.href);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) {
      await jar.setCookie(setCookie, url.href, { ignoreError: true });
    }
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      await response.arrayBuffer();
      const next = new URL(location, url);
      if (!idpOrigins.includes(next.origin)) return next;
      url = next;
      init = { method: 'GET' };
      continue;
    }
    const text = await response.text();
    const where = `${url.origin}${url.pathname}`;
    if (response.status === 200 && LOGIN_PAGE_PATH.test(url.pathname) && !signedIn) {
      if (options.username === undefined) {
        throw new SignInError(
          'the mock IdP shows its login page: pass options.username (or set auto-login)',
          response.status,
          where,
        );
      }
      signedIn = true;
      const form = new URLSearchParams(
        options.password === undefined
          ? { method: 'quick', username: options.username }
          : { method: 'password', username: options.username, password: options.password },
      );
      url = new URL(`${url.pathname}/login`, url);
      init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form };
      continue;
    }
    throw new SignInError(
      `the mock IdP answered HTTP ${response.status} at ${url.pathname} instead of sending the browser back: ${pageText(text)}`,
      response.status,
      where,
    );
  }
  throw new SignInError(`no redirect away from the mock IdP after ${maxSteps} requests`, 0, url.origin);
}

/** The words of an HTML page (the IdP's error or login page), short enough for an error message. */
function pageText(html: string): string {
  const alert = /role="alert"[^>]*>([\s\S]*?)<\/(?:p|div)>/.exec(html)?.[1];
  const text = (alert ?? html.replace(/<(head|style|script)[\s\S]*?<\/\1>/g, ''))
    .replace(/<\/dt>/g, ':')
    .replace(/<\/dd>/g, ';')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
    .replace(/[\u0000-\u001f\u007f-\u009f\s]+/g, ' ')
    .trim()
    .replace(/;$/, '');
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
