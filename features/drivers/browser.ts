/**
 * One Chromium per run (Debian's, through playwright-core), a fresh context per scenario.
 * The flags keep Chromium off the network: this machine has none, and without them Chromium
 * keeps trying to reach Google's services (machine-notes.md).
 */
import { type Browser, chromium } from 'playwright-core';

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
