/**
 * The native CLI's loopback listener (loopback-listener.ts) over real HTTP: it notes the query of
 * each callback, hands a callback to whoever waits for it, gives up at its deadline, and answers
 * 404 off its callback path without noting anything.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoopbackListener } from './loopback-listener.ts';

test('a callback is noted and handed to the one waiting for it', async () => {
  const listener = await LoopbackListener.start();
  try {
    assert.match(listener.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const waiting = listener.callback(0, 5_000);
    const answer = await fetch(`${listener.redirectUri}?code=c1&state=s1`);
    assert.equal(answer.status, 200);
    assert.match(answer.headers.get('cache-control') ?? '', /no-store/);
    const query = await waiting;
    assert.equal(query?.get('code'), 'c1');
    assert.equal(query?.get('state'), 's1');
    // One already received is handed at once, and the next one is its own.
    assert.equal((await listener.callback(0, 0))?.get('code'), 'c1');
    await fetch(`${listener.redirectUri}?error=access_denied`);
    assert.equal((await listener.callback(1, 5_000))?.get('error'), 'access_denied');
  } finally {
    await listener.close();
  }
});

test('no callback within the deadline is undefined; another path is 404 and not noted', async () => {
  const listener = await LoopbackListener.start();
  try {
    const other = await fetch(new URL('/elsewhere?code=c1', listener.redirectUri));
    assert.equal(other.status, 404);
    const began = Date.now();
    assert.equal(await listener.callback(0, 200), undefined);
    assert.ok(Date.now() - began >= 190, 'gave up before its deadline');
    assert.equal(listener.callbacks.length, 0);
  } finally {
    await listener.close();
  }
});
