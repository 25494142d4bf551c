/**
 * The browser's part of a CLI login, done over plain HTTP: open the login URL the CLI printed,
 * follow every redirect (gateway -> IdP -> IdP interaction -> gateway callback) with a cookie jar,
 * read the "Complete CLI Login" form, and post the verification code.
 *
 * Only works when the IdP signs users in without a page (the mock IdP's auto-login mode or
 * `login_hint`). Used by component tests and scripts; the conformance features use a real browser.
 */
import { parse as parseHtml } from 'node-html-parser';
import { CookieJar } from 'tough-cookie';

/** What {@link completeLoginOverHttp} needs: what a CLI prints when a login starts. */
export interface BrowserlessLoginOptions {
  /** `{gateway}/sso/key/generate?source=litellm-cli&key=...` as printed by the CLI. */
  loginUrl: string;
  /** The verification code shown by the CLI (any case, with or without the dash). */
  userCode: string;
  /**
   * Stop following redirects after this many hops.
   * @defaultValue 20
   */
  maxRedirects?: number;
}

/** A page the browserless login landed on. */
export interface HttpPage {
  /** Where, after the redirects. */
  url: string;
  /** Its HTTP status. */
  status: number;
  /** Its body, as text. */
  body: string;
}

/** The two pages of a browserless login. */
export interface BrowserlessLoginResult {
  /** The page that showed the completion form (the gateway's callback answer). */
  formPage: HttpPage;
  /** The answer to the form post. */
  completion: HttpPage;
}

/** The login did not reach the gateway's completion form, or the form was not what the contract says; `page` is where it stopped. */
export class BrowserlessLoginError extends Error {
  constructor(
    message: string,
    readonly page?: HttpPage,
  ) {
    super(message);
    this.name = 'BrowserlessLoginError';
  }
}

/** A tiny browser: a cookie jar and manual redirects, so every hop is observable. */
export class HttpBrowser {
  readonly jar = new CookieJar();
  readonly visited: HttpPage[] = [];

  constructor(private readonly maxRedirects = 20) {}

  async get(url: string): Promise<HttpPage> {
    return this.request(url, { method: 'GET' });
  }

  async postForm(url: string, fields: Record<string, string>): Promise<HttpPage> {
    return this.request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  private async request(startUrl: string, init: RequestInit): Promise<HttpPage> {
    let url = startUrl;
    let current: RequestInit = init;
    for (let hop = 0; hop <= this.maxRedirects; hop++) {
      const cookie = await this.jar.getCookieString(url);
      const headers = new Headers(current.headers);
      if (cookie) headers.set('cookie', cookie);
      const response = await fetch(url, { ...current, headers, redirect: 'manual' });
      for (const setCookie of response.headers.getSetCookie()) {
        await this.jar.setCookie(setCookie, url, { ignoreError: true });
      }
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location) {
        await response.arrayBuffer();
        this.visited.push({ url, status: response.status, body: '' });
        url = new URL(location, url).toString();
        // 303 (and 301/302 after a POST, as browsers do) turn into a GET.
        current = { method: 'GET' };
        continue;
      }
      const page = { url, status: response.status, body: await response.text() };
      this.visited.push(page);
      return page;
    }
    throw new BrowserlessLoginError(`more than ${this.maxRedirects} redirects from ${new URL(startUrl).pathname}`);
  }
}

export interface CompletionForm {
  /** Absolute URL the form posts to. */
  action: string;
  browserCompleteToken: string;
}

/** Read the gateway's "Complete CLI Login" form: its action and the hidden browser token. */
export function readCompletionForm(page: HttpPage): CompletionForm {
  const root = parseHtml(page.body);
  const form = root.querySelectorAll('form').find((f) => f.querySelector('input[name="user_code"]'));
  if (!form) throw new BrowserlessLoginError('no form with a user_code input on the callback page', page);
  const token = form.querySelector('input[name="browser_complete_token"]')?.getAttribute('value');
  if (!token) throw new BrowserlessLoginError('the completion form has no browser_complete_token value', page);
  const action = form.getAttribute('action') ?? '';
  return { action: new URL(action, page.url).toString(), browserCompleteToken: token };
}

/**
 * The browser's part of a CLI SSO login, over plain HTTP: open the login URL the CLI printed,
 * follow the redirects (gateway, IdP, gateway callback) with a cookie jar, read the "Complete CLI
 * Login" form and post the verification code to it. Works when the IdP signs the user in without
 * a page: the mock IdP in auto-login mode ({@link MockIdpOptions.autoLogin}).
 * @param options - the login URL and the code the CLI shows
 * @returns the form page and the answer to the form post (200 "Authentication Successful!" when the code was right)
 * @throws {@link BrowserlessLoginError} when a page on the way is not a redirect or the form, naming the status and path
 * @example
 * ```ts
 * const { completion } = await completeLoginOverHttp({
 *   loginUrl: browserLoginUrl(gateway.url, session.loginId),
 *   userCode: session.userCode,
 * });
 * ```
 */
export async function completeLoginOverHttp(options: BrowserlessLoginOptions): Promise<BrowserlessLoginResult> {
  const browser = new HttpBrowser(options.maxRedirects);
  const formPage = await browser.get(options.loginUrl);
  if (formPage.status !== 200) {
    throw new BrowserlessLoginError(
      `the login ended on HTTP ${formPage.status} at ${new URL(formPage.url).pathname}`,
      formPage,
    );
  }
  const form = readCompletionForm(formPage);
  const completion = await browser.postForm(form.action, {
    user_code: options.userCode,
    browser_complete_token: form.browserCompleteToken,
  });
  return { formPage, completion };
}
