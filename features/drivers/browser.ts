/**
 * One Chromium per run (Debian's, through playwright-core), a fresh context per scenario.
 * The run launches it as a browser server; every Cucumber worker connects to that one browser, so
 * a parallel run still starts Chromium once.
 * The flags keep Chromium off the network: this machine has none, and without them Chromium
 * keeps trying to reach Google's services (machine-notes.md).
 */
import {
  type Browser,
  type BrowserContext,
  type BrowserServer,
  type CDPSession,
  chromium,
  type Page,
  type Response,
} from 'playwright-core';
import { type HttpAnswer, parseJson } from './gateway-http.ts';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Pages of one context share a renderer process where they can (see ReusedContext): a page
  // starting its own process cost ~60 ms of Chromium's CPU. Pages of different contexts never
  // share one, whatever this says.
  '--renderer-process-limit=1',
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
 * One browser context a worker keeps for all its scenarios, each scenario getting new pages in it
 * and leaving nothing behind: a new context and its first page cost Chromium ~100 ms of CPU
 * more than a new page in a context that already has a renderer process (measured on this
 * machine's headless shell: 205 against 143 ms for a page that loads a form and fills it in), on
 * ~200 scenarios a run. A page (a tab) is new for each scenario, so its history, session storage
 * and window name are new too; what the context holds for all its pages is removed when the
 * scenario ends (clear): its pages, every cookie, the HTTP cache, and every kind of storage
 * (local storage, IndexedDB, Cache Storage, service workers, file systems...) of every origin the
 * scenario's pages sent a request to, through Chrome's DevTools protocol, as DevTools' "Clear site
 * data" does. A page the context keeps open between scenarios (about:blank, never navigated) keeps
 * its renderer process alive for the next page.
 */
export class ReusedContext {
  private readonly origins = new Set<string>();
  private tracing = false;
  private discarded = false;

  private constructor(
    readonly context: BrowserContext,
    private readonly keeper: Page,
    private readonly devtools: CDPSession,
  ) {
    context.on('request', (request) => {
      const origin = originOf(request.url());
      if (origin) this.origins.add(origin);
    });
  }

  static async open(browser: Browser): Promise<ReusedContext> {
    const context = await browser.newContext();
    const keeper = await context.newPage();
    return new ReusedContext(context, keeper, await context.newCDPSession(keeper));
  }

  newPage(): Promise<Page> {
    return this.context.newPage();
  }

  /**
   * Records a trace until stopTrace: DOM snapshots of every action, network, console; no
   * screencast (its frames cost as much CPU as the rest of the trace, measured with full Chromium:
   * 26 s of a 216 s run, and a failure gets a full-page screenshot of its own). Started and stopped
   * for each scenario: a trace kept running across scenarios in chunks writes the network log of
   * every earlier chunk into each chunk's file, so a failure's trace would show other scenarios'
   * requests.
   */
  async startTrace(): Promise<void> {
    if (this.tracing) return;
    await this.context.tracing.start({ snapshots: true, screenshots: false });
    this.tracing = true;
  }

  /** Ends the trace startTrace began, written to `path` when given (a failure's), else discarded. */
  async stopTrace(path?: string): Promise<void> {
    if (!this.tracing) return;
    this.tracing = false;
    await this.context.tracing.stop(path ? { path } : {});
  }

  /** Everything the pages since the last clear left in the context is removed; as new as a new context. */
  async clear(): Promise<void> {
    await Promise.all(this.context.pages().map((page) => (page === this.keeper ? undefined : page.close())));
    const origins = [...this.origins];
    this.origins.clear();
    await Promise.all([
      this.context.clearCookies(),
      this.devtools.send('Network.clearBrowserCache'),
      ...origins.map((origin) => this.devtools.send('Storage.clearDataForOrigin', { origin, storageTypes: 'all' })),
    ]);
  }

  /**
   * Give the context up (a clear that did not finish): it is closed in the background, and the
   * harness opens a new one for the next scenario, since `usable` is false from now on.
   */
  discard(): void {
    // Marked at once: the closes below finish later, and a scenario asking for a context meanwhile
    // must not be handed this one ("Target page, context or browser has been closed").
    this.discarded = true;
    this.keeper.close().catch(() => undefined);
    this.context.close().catch(() => undefined);
  }

  /** The context is still there to reuse (the browser or the context was not closed under it). */
  get usable(): boolean {
    return !this.discarded && !this.keeper.isClosed();
  }
}

/** The origin a request went to, for http(s) URLs (other schemes hold no site data of their own). */
function originOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
  } catch {
    return undefined;
  }
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
