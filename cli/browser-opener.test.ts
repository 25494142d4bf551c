import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { browserCommands, openBrowser, splitCommandLine } from './browser-opener.ts';
import { makeTempHome } from './test-support/cli-process.ts';

const URL_ = 'http://gw.example/sso/key/generate?source=litellm-cli&key=cli-abcdefghijklmnop';

test('BROWSER follows Python webbrowser: ":"-separated commands, %s replaced, else the URL appended', () => {
  assert.deepEqual(browserCommands('firefox', URL_), [['firefox', URL_]]);
  assert.deepEqual(browserCommands('w3m -dump %s:lynx', URL_), [
    ['w3m', '-dump', URL_],
    ['lynx', URL_],
  ]);
  assert.deepEqual(browserCommands("'/opt/My Browser/run' --new-tab=%s", URL_), [
    ['/opt/My Browser/run', `--new-tab=${URL_}`],
  ]);
  assert.deepEqual(browserCommands('  :  ', URL_), []);
});

test('command lines split like a shell: quotes and backslashes', () => {
  assert.deepEqual(splitCommandLine(`a "b c" 'd e' f\\ g ""`), ['a', 'b c', 'd e', 'f g', '']);
});

test('the first BROWSER command that starts wins; it is not waited on', async () => {
  const home = await makeTempHome();
  try {
    const log = join(home.home, 'opened');
    const fakeBrowser = join(import.meta.dirname, 'test-support', 'fake-browser.mjs');
    const result = await openBrowser({
      url: URL_,
      env: {
        PATH: process.env['PATH'] ?? '',
        BROWSER: `/nonexistent/browser:${process.execPath} ${fakeBrowser}`,
        FAKE_BROWSER_LOG: log,
        FAKE_BROWSER_VISIT: 'no',
      },
      platform: 'linux',
    });
    assert.equal(result.opened, true);
    assert.match(result.how, /from BROWSER/);
    const opened = await readLineWritten(log);
    assert.equal(opened, `${JSON.stringify([URL_])}\n`);
  } finally {
    await home.remove();
  }
});

/** The browser runs detached: poll for its whole line with a deadline. */
async function readLineWritten(path: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.endsWith('\n')) return text;
    if (Date.now() > deadline) throw new Error(`${path} not written within 60 s`);
    await nextTurn();
  }
}

test('no BROWSER command can start: not opened, and the caller says so', async () => {
  const result = await openBrowser({
    url: URL_,
    env: { PATH: '', BROWSER: '/nonexistent/a:/nonexistent/b %s' },
    platform: 'linux',
  });
  assert.deepEqual(result, { opened: false, how: 'no command in BROWSER could be started' });
});

test('Linux without DISPLAY or WAYLAND_DISPLAY: no opener is tried', async () => {
  let tried = false;
  const result = await openBrowser({
    url: URL_,
    env: {},
    platform: 'linux',
    openWithPlatform: async () => {
      tried = true;
      throw new Error('not reached');
    },
  });
  assert.equal(result.opened, false);
  assert.match(result.how, /no graphical session/);
  assert.equal(tried, false);
});

test('with a display, the platform opener is used; its failure is reported, not thrown', async () => {
  const seen: string[] = [];
  const failed = await openBrowser({
    url: URL_,
    env: { DISPLAY: ':0' },
    platform: 'linux',
    openWithPlatform: async (url) => {
      seen.push(url);
      throw new Error('xdg-open missing');
    },
  });
  assert.deepEqual(seen, [URL_]);
  assert.deepEqual(failed, { opened: false, how: 'the system has no browser opener' });
});
