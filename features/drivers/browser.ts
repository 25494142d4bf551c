/**
 * One Chromium per run (Debian's, through playwright-core), a fresh context per scenario.
 * The flags keep Chromium off the network: this machine has none, and without them Chromium
 * keeps trying to reach Google's services (machine-notes.md).
 */
import { type Browser, chromium, type Page, type Response } from 'playwright-core';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
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
