/**
 * A bare-hands relying party for the mock's own tests: a real callback server on a random loopback
 * port, a cookie-keeping HTTP "browser" (common/browserless-login.ts) and token-endpoint calls.
 * Tests observe what crossed the wire instead of mocking anything (architecture.md, convention 12).
 */
import { parse as parseHtml } from 'node-html-parser';
import { z } from 'zod';
import { HttpBrowser, type HttpPage } from '../common/browserless-login.ts';
import { listen, type RunningServer } from '../common/http-server.ts';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from './clients.ts';
import type { MockIdp } from './mock-idp.ts';

export interface CallbackServer {
  /** `http://127.0.0.1:{random port}/sso/callback`: matches the default client by the loopback rule. */
  redirectUri: string;
  close(): Promise<void>;
}

export async function startCallbackServer(path = '/sso/callback'): Promise<CallbackServer> {
  const server: RunningServer = await listen(
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('callback reached');
    },
    '127.0.0.1',
    0,
  );
  return { redirectUri: `${server.url}${path}`, close: () => server.close() };
}

export function authorizeUrl(idp: MockIdp, redirectUri: string, extra: Record<string, string> = {}): string {
  const url = new URL(idp.endpoints.authorization);
  url.search = new URLSearchParams({
    client_id: DEFAULT_CLIENT_ID,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state: 'state-123',
    ...extra,
  }).toString();
  return url.toString();
}

/** Query parameters of the page the browser ended on (the callback, when the login went through). */
export function callbackParams(page: HttpPage): URLSearchParams {
  return new URL(page.url).searchParams;
}

/** Press a named submit button of the login page, as a browser would. */
export async function pressButton(browser: HttpBrowser, page: HttpPage, name: string): Promise<HttpPage> {
  const root = parseHtml(page.body);
  for (const form of root.querySelectorAll('form')) {
    const button = form.querySelectorAll('button').find((b) => b.text.trim() === name);
    if (!button) continue;
    const fields: Record<string, string> = {};
    for (const input of form.querySelectorAll('input[type="hidden"]')) {
      fields[input.getAttribute('name') ?? ''] = input.getAttribute('value') ?? '';
    }
    const buttonName = button.getAttribute('name');
    if (buttonName) fields[buttonName] = button.getAttribute('value') ?? '';
    return browser.postForm(new URL(form.getAttribute('action') ?? '', page.url).toString(), fields);
  }
  throw new Error(`no button named "${name}" on ${page.url}`);
}

/** Fill the username/password form and press "Sign in". */
export async function signInWithPassword(
  browser: HttpBrowser,
  page: HttpPage,
  username: string,
  password: string,
): Promise<HttpPage> {
  const root = parseHtml(page.body);
  const form = root.querySelectorAll('form').find((f) => f.querySelector('input[name="password"]'));
  if (!form) throw new Error(`no password form on ${page.url}`);
  return browser.postForm(new URL(form.getAttribute('action') ?? '', page.url).toString(), {
    method: 'password',
    username,
    password,
  });
}

/**
 * The browser's part of the device flow (RFC 8628 section 3.3): open the verification URI, submit
 * the code (when not pre-filled), confirm, sign in as `username`, and end on the success page.
 */
export async function approveDevice(verificationUri: string, username: string): Promise<HttpPage> {
  const browser = new HttpBrowser();
  let page = await browser.get(verificationUri);
  for (let step = 0; step < 6; step++) {
    const root = parseHtml(page.body);
    // oidc-provider's own forms: code input, confirmation, and the self-submitting resume form.
    const providerForm =
      root.querySelector('form[id="op.deviceInputForm"]') ??
      root.querySelector('form[id="op.deviceConfirmForm"]') ??
      (root.querySelector('title')?.text === 'Submitting Callback' ? root.querySelector('form') : null);
    if (providerForm) {
      const fields: Record<string, string> = {};
      for (const input of providerForm.querySelectorAll('input')) {
        fields[input.getAttribute('name') ?? ''] = input.getAttribute('value') ?? '';
      }
      page = await browser.postForm(new URL(providerForm.getAttribute('action') ?? '', page.url).toString(), fields);
      continue;
    }
    if (root.querySelector('h1')?.text === 'Sign in to Mock IdP') {
      page = await pressButton(browser, page, `Sign in as ${username}`);
      continue;
    }
    return page;
  }
  throw new Error(`the device flow did not finish; last page ${page.url}`);
}

export type ClientAuthentication = 'basic' | 'post';

export async function tokenRequest(
  idp: MockIdp,
  params: Record<string, string>,
  auth: ClientAuthentication = 'basic',
  client = { id: DEFAULT_CLIENT_ID, secret: DEFAULT_CLIENT_SECRET },
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  const form = new URLSearchParams(params);
  if (auth === 'basic') {
    // RFC 6749 section 2.3.1: id and secret are form-urlencoded before Base64.
    const pair = `${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`;
    headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else {
    form.set('client_id', client.id);
    form.set('client_secret', client.secret);
  }
  const response = await fetch(idp.endpoints.token, { method: 'POST', headers, body: form });
  const text = await response.text();
  return { status: response.status, body: parseJsonOrText(text) };
}

export async function userinfo(idp: MockIdp, accessToken: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(idp.endpoints.userinfo, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, body: parseJsonOrText(await response.text()) };
}

export const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.string(),
  expires_in: z.number(),
  id_token: z.string().optional(),
  refresh_token: z.string().optional(),
  scope: z.string().optional(),
});

/**
 * The whole authorization code flow for `username` through its "Sign in as" button: returns the
 * code and the redirect URI it was issued for. The caller closes `callback`.
 */
export async function authorizationCode(
  idp: MockIdp,
  callback: CallbackServer,
  username: string,
  extra: Record<string, string> = {},
): Promise<{ code: string; redirectUri: string; browser: HttpBrowser }> {
  const browser = new HttpBrowser();
  const loginPage = await browser.get(authorizeUrl(idp, callback.redirectUri, extra));
  const landed = await pressButton(browser, loginPage, `Sign in as ${username}`);
  const code = callbackParams(landed).get('code');
  if (!code) throw new Error(`no code at the callback: ${landed.status} ${landed.url}`);
  return { code, redirectUri: callback.redirectUri, browser };
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export { HttpBrowser };
