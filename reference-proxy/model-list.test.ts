/**
 * The model list is answered before express's router for a GET whose key is good (routes/models.ts).
 * Over real HTTP, the whole gateway (createProxyListener) must answer every request to the model
 * list's paths exactly as its express app alone (createProxyApp) does: the same status, headers and
 * body, for good keys, refused keys and the spellings only express routes, and log it the same way.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock, nowSeconds } from '../common/clock.ts';
import { listen, type RunningServer } from '../common/http-server.ts';
import { joinUrl } from '../protocol/cli-sso.ts';
import { createProxyApp, createProxyListener } from './app.ts';
import { loadProxyConfig } from './config.ts';
import type { ProxyContext } from './proxy-context.ts';
import { testProxyContext } from './test-support/proxy-context.ts';
import { proxyEnv, TEST_MASTER_KEY } from './test-support/proxy-env.ts';

const NO_IDP = {
  authorization: 'http://127.0.0.1:9/authorize',
  token: 'http://127.0.0.1:9/token',
  userinfo: 'http://127.0.0.1:9/userinfo',
};
const MODELS_FILE = fileURLToPath(new URL('./test-support/models.yaml', import.meta.url));

/** Headers that differ between any two answers (the time) or that Node.js sets per connection. */
const PER_ANSWER_HEADERS = new Set(['date', 'connection', 'keep-alive']);

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function ask(base: string, path: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(joinUrl(base, path), init);
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!PER_ANSWER_HEADERS.has(name)) headers[name] = value;
  });
  return { status: response.status, headers, body: await response.text() };
}

describe('the model list answered before the router is the express route answered', () => {
  let ctx: ProxyContext;
  const logLines: string[] = [];
  let whole: RunningServer;
  let expressOnly: RunningServer;
  const keys: Record<string, string> = {};

  before(async () => {
    const config = loadProxyConfig(proxyEnv(NO_IDP, { CONFIG_FILE_PATH: MODELS_FILE }), {
      host: '127.0.0.1',
      port: 0,
    });
    // A clock that stands still: an expired key's answer names the time.
    ctx = testProxyContext(config, { logLines, clock: new ManualClock(Date.now()) });
    whole = await listen(createProxyListener(ctx), '127.0.0.1', 0);
    expressOnly = await listen(createProxyApp(ctx), '127.0.0.1', 0);
    const claims = { userId: 'ada', teamId: 'team-alpha', userRole: 'internal_user', models: ['gpt-4o'] } as const;
    keys['a CLI key'] = (await ctx.keys.issue({ ...claims, models: [...claims.models] })).key;
    keys['another CLI key'] = (await ctx.keys.issue({ ...claims, userId: 'bo', models: [] })).key;
    const longAgo = nowSeconds(ctx.clock) - config.cliKeyLifetimeSeconds - 60;
    keys['an expired CLI key'] = (
      await ctx.keys.issue({ ...claims, models: [] }, { jti: randomUUID(), issuedAt: longAgo })
    ).key;
    const good = keys['a CLI key'];
    keys['a CLI key with its signature changed'] = `${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}`;
    keys['the master key'] = TEST_MASTER_KEY;
  });
  after(async () => {
    await whole.close();
    await expressOnly.close();
  });

  const cases: Array<{
    name: string;
    path: string;
    method?: string;
    authorization?: (keys: Record<string, string>) => string;
  }> = [];
  for (const path of ['/v1/models', '/models', '/v1/models?limit=5', '/v1/models/', '/V1/Models']) {
    for (const key of [
      'a CLI key',
      'another CLI key',
      'an expired CLI key',
      'a CLI key with its signature changed',
      'the master key',
    ]) {
      cases.push({ name: `GET ${path} with ${key}`, path, authorization: (k) => `Bearer ${k[key]}` });
    }
    cases.push({ name: `GET ${path} without a key`, path });
  }
  cases.push({
    name: 'GET /v1/models, the scheme in capitals',
    path: '/v1/models',
    authorization: (k) => `BEARER ${k['a CLI key']}`,
  });
  cases.push({
    name: 'HEAD /v1/models',
    path: '/v1/models',
    method: 'HEAD',
    authorization: (k) => `Bearer ${k['a CLI key']}`,
  });
  cases.push({
    name: 'POST /v1/models',
    path: '/v1/models',
    method: 'POST',
    authorization: (k) => `Bearer ${k['a CLI key']}`,
  });

  for (const c of cases) {
    test(c.name, async () => {
      const init: RequestInit = {
        method: c.method ?? 'GET',
        headers: c.authorization ? { authorization: c.authorization(keys) } : {},
      };
      // The whole gateway first: a key it has not seen is verified on the way (a promise), a key
      // it has seen is recalled in the same turn; both must answer as express does.
      const first = await ask(whole.url, c.path, init);
      const byExpress = await ask(expressOnly.url, c.path, init);
      const again = await ask(whole.url, c.path, init);
      assert.deepEqual(first, byExpress);
      assert.deepEqual(again, byExpress);
    });
  }

  test('a good key sees its own models, and the answer is logged like any other', async () => {
    const answer = await ask(whole.url, '/v1/models', { headers: { authorization: `Bearer ${keys['a CLI key']}` } });
    assert.equal(answer.status, 200);
    assert.deepEqual(
      (JSON.parse(answer.body) as { data: Array<{ id: string }> }).data.map((m) => m.id),
      ['gpt-4o'],
    );
    const line = logLines.findLast((l) => l.includes('"event":"request"'));
    assert.ok(line, 'no request line was logged');
    assert.match(line, /"method":"GET","path":"\/v1\/models","status":200,"duration_ms":\d+,"client_ip":"[^"]+"/);
    assert.ok(!logLines.some((l) => l.includes(keys['a CLI key'] as string)), 'a key reached the log');
  });
});
