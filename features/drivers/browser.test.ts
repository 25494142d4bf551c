/**
 * The worker's reused browser context (ReusedContext) with the run's real Chromium: what one
 * scenario's pages left in it (cookies, local and session storage, IndexedDB, the HTTP cache) is
 * there for the next page until the context is cleared, and gone after.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, BrowserServer, Page } from 'playwright-core';
import { listen, type RunningServer } from '../../common/http-server.ts';
import { connectBrowser, launchBrowserServer, ReusedContext } from './browser.ts';
import { ensureSystemTools } from './system-packages.ts';

/** Requests for the cacheable resource that reached the server. */
let cachedFetches = 0;

/** A page that stores something everywhere a page can, and one that reads it all back. */
function site(request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (path === '/cached') {
    cachedFetches += 1;
    response.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=3600' });
    response.end(String(cachedFetches));
    return;
  }
  const script =
    path === '/write'
      ? `localStorage.setItem('left', 'behind'); sessionStorage.setItem('left', 'behind');
         const open = indexedDB.open('left-behind'); open.onsuccess = () => { document.title = 'written'; };`
      : `indexedDB.databases().then((dbs) => {
           document.title = JSON.stringify({ cookie: document.cookie, local: localStorage.length,
             session: sessionStorage.length, databases: dbs.map((db) => db.name) });
         });`;
  response.writeHead(200, {
    'content-type': 'text/html',
    ...(path === '/write' ? { 'set-cookie': 'session=kept; Max-Age=3600; Path=/' } : {}),
  });
  response.end(`<!doctype html><title></title><script>${script}</script>`);
}

let server: RunningServer;
let browserServer: BrowserServer;
let browser: Browser;

before(async () => {
  const tools = await ensureSystemTools({ chromiumPath: undefined, isRoot: false, log: () => undefined });
  server = await listen(site, '127.0.0.1', 0);
  browserServer = await launchBrowserServer(tools.chromiumPath);
  browser = await connectBrowser(browserServer.wsEndpoint());
});

after(async () => {
  await browser?.close();
  await browserServer?.close();
  await server?.close();
});

/** What a new page of the context finds at the site, and whether the cached resource came from the cache. */
async function whatIsLeft(page: Page): Promise<{ left: unknown; fromCache: boolean }> {
  await page.goto(`${server.url}/read`);
  await page.waitForFunction(() => document.title !== '');
  const left = JSON.parse(await page.title());
  const before = cachedFetches;
  await page.evaluate(() => fetch('/cached').then((r) => r.text()));
  return { left, fromCache: cachedFetches === before };
}

test('a cleared context holds nothing a page left in it: cookies, storage of every kind, HTTP cache', async () => {
  const reused = await ReusedContext.open(browser);
  const writer = await reused.newPage();
  await writer.goto(`${server.url}/write`);
  await writer.waitForFunction(() => document.title === 'written');
  await writer.evaluate(() => fetch('/cached').then((r) => r.text()));

  // Not cleared: the next page finds what the first one left (sessionStorage is per page: not here).
  const unclearedPage = await reused.newPage();
  const uncleared = await whatIsLeft(unclearedPage);
  assert.deepEqual(uncleared.left, { cookie: 'session=kept', local: 1, session: 0, databases: ['left-behind'] });
  assert.equal(uncleared.fromCache, true, 'the cacheable resource came from the HTTP cache');

  await reused.clear();
  assert.equal(writer.isClosed(), true, "the scenario's pages are closed");
  const cleared = await whatIsLeft(await reused.newPage());
  assert.deepEqual(cleared.left, { cookie: '', local: 0, session: 0, databases: [] });
  assert.equal(cleared.fromCache, false, 'the HTTP cache was emptied');
  await reused.context.close();
});

test('a discarded context is unusable at once, before its closing has finished', async () => {
  const reused = await ReusedContext.open(browser);
  assert.equal(reused.usable, true);
  reused.discard();
  // No await between: a scenario asking for a context right now must get a new one.
  assert.equal(reused.usable, false);
});
