/**
 * Test support: start a reference proxy on port 0 with a given environment, capture its log lines,
 * and speak the CLI's and the browser's parts of the protocol over real HTTP.
 */
import { HttpBrowser, type HttpPage, readCompletionForm } from '../../common/browserless-login.ts';
import type { Clock } from '../../common/clock.ts';
import {
  browserLoginUrl,
  CLI_SSO_PATHS,
  joinUrl,
  POLL_SECRET_HEADER,
  parseStartAnswer,
  type StartAnswer,
} from '../../protocol/cli-sso.ts';
import { loadProxyConfig, type RunningProxy, startReferenceProxy } from '../index.ts';

export interface ProxyUnderTest {
  url: string;
  proxy: RunningProxy;
  /** Every JSON log line written so far. */
  logLines: string[];
  close(): Promise<void>;
}

export async function startProxyForTest(env: Record<string, string>, clock?: Clock): Promise<ProxyUnderTest> {
  const logLines: string[] = [];
  const config = loadProxyConfig({ LOG_LEVEL: 'debug', ...env }, { host: '127.0.0.1', port: 0 });
  const proxy = await startReferenceProxy(config, {
    ...(clock ? { clock } : {}),
    logSink: { write: (line: string) => logLines.push(line.trimEnd()) },
  });
  return { url: proxy.url, proxy, logLines, close: () => proxy.close() };
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: unknown;
}

async function asJson(response: Response): Promise<JsonAnswer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text: a non-JSON answer is itself something to assert on
  }
  return { status: response.status, headers: response.headers, body };
}

export async function startLogin(base: string): Promise<StartAnswer> {
  const response = await fetch(joinUrl(base, CLI_SSO_PATHS.start), { method: 'POST' });
  if (response.status !== 200) throw new Error(`start answered ${response.status}`);
  return parseStartAnswer(await response.json());
}

export async function poll(
  base: string,
  start: Pick<StartAnswer, 'loginId' | 'pollSecret'>,
  options: { teamId?: string; prefer?: string; signal?: AbortSignal } = {},
): Promise<JsonAnswer> {
  const url = new URL(joinUrl(base, CLI_SSO_PATHS.poll(start.loginId)));
  if (options.teamId !== undefined) url.searchParams.set('team_id', options.teamId);
  const headers: Record<string, string> = { [POLL_SECRET_HEADER]: start.pollSecret };
  if (options.prefer !== undefined) headers['prefer'] = options.prefer;
  return asJson(await fetch(url, { headers, ...(options.signal ? { signal: options.signal } : {}) }));
}

export async function getJson(url: string, headers: Record<string, string> = {}): Promise<JsonAnswer> {
  return asJson(await fetch(url, { headers, redirect: 'manual' }));
}

/** The browser: from the CLI's login URL to the "Complete CLI Login" form (IdP approves at once). */
export async function openLoginForm(
  base: string,
  loginId: string,
): Promise<{ browser: HttpBrowser; page: HttpPage; action: string; browserCompleteToken: string }> {
  const browser = new HttpBrowser();
  const page = await browser.get(browserLoginUrl(base, loginId));
  if (page.status !== 200) return { browser, page, action: '', browserCompleteToken: '' };
  const form = readCompletionForm(page);
  return { browser, page, ...form };
}

export async function postCode(action: string, fields: Record<string, string>): Promise<JsonAnswer> {
  return asJson(
    await fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    }),
  );
}

/** Start -> browser -> code: the flow is ready for the poll that issues the key. */
export async function loginUntilVerified(base: string): Promise<StartAnswer> {
  const start = await startLogin(base);
  const form = await openLoginForm(base, start.loginId);
  if (form.page.status !== 200) throw new Error(`callback answered ${form.page.status}: ${form.page.body}`);
  const done = await postCode(form.action, {
    user_code: start.userCode,
    browser_complete_token: form.browserCompleteToken,
  });
  if (done.status !== 200) throw new Error(`complete answered ${done.status}`);
  return start;
}

/** Poll with a deadline (never a fixed sleep): resolves with the first value `check` accepts. */
export async function eventually<T>(
  what: string,
  attempt: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (performance.now() < deadline) {
    try {
      last = await attempt();
      if (accept(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: not reached in ${timeoutMs} ms; last seen ${JSON.stringify(last) ?? String(lastError)}`);
}
