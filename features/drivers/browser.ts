/**
 * One Chromium per run (Debian's, through playwright-core), a fresh context per scenario.
 * The run launches it as a browser server; every Cucumber worker connects to that one browser, so
 * a parallel run still starts Chromium once.
 * The flags keep Chromium off the network: this machine has none, and without them Chromium
 * keeps trying to reach Google's services (machine-notes.md).
 */
import { type Browser, type BrowserServer, chromium, type Page, type Response } from 'playwright-core';
import { type HttpAnswer, parseJson } from './gateway-http.ts';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The run's browser, listening for its workers on a loopback WebSocket. */
export async function launchBrowserServer(executablePath: string): Promise<BrowserServer> {
  return chromium.launchServer({ executablePath, headless: true, args: CHROMIUM_ARGS, host: '127.0.0.1' });
}

/** A worker's connection to the run's browser; closing it closes the worker's contexts, not the browser. */
export async function connectBrowser(wsEndpoint: string): Promise<Browser> {
  return chromium.connect(wsEndpoint);
}

/**
 * Navigate to `url` and return the gateway's own answer to that first request (a redirect to the
 * IdP, or an error page), however far the browser went on after it.
 */
export async function openAndReadFirstAnswer(page: Page, url: string): Promise<Response | null> {
  const final = await page.goto(url);
  let first = final?.request();
  for (let previous = first?.redirectedFrom(); previous; previous = previous.redirectedFrom()) first = previous;
  return (await first?.response()) ?? null;
}

/**
 * An answer the browser got (a navigation's or one sent with `page.request`), in the shape the
 * "the gateway answers ..." steps check. A redirect's body is not kept by the browser: it reads as
 * empty.
 */
export async function answerSeenByBrowser(
  response: Pick<Response, 'status' | 'headers' | 'text'>,
): Promise<HttpAnswer> {
  const text = await response.text().catch(() => '');
  return { status: response.status(), headers: response.headers(), text, json: parseJson(text), elapsedMs: 0 };
}
