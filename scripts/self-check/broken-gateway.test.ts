/**
 * Each broken-gateway variant over real HTTP: a tiny node:http server on port 0 stands in for the
 * gateway, the relay runs in front of it, and every check looks at what crossed the wire on both
 * sides (what the client got, what the stand-in gateway received).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, describe, test } from 'node:test';
import { listen, type RunningServer } from '../../common/http-server.ts';
import { silentLogger } from '../../common/logger.ts';
import { type BrokenGateway, createBrokenGateway } from './broken-gateway.ts';
import { findVariant } from './variants.ts';

const MASTER_KEY = 'sk-master-for-relay-tests';
const ENV = { LITELLM_MASTER_KEY: MASTER_KEY };

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  remoteAddress: string | undefined;
}

type Route = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** The stand-in gateway: answers with `route` and records every request it got. */
async function standInGateway(route: Route): Promise<RunningServer & { seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = await listen(
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body,
          remoteAddress: req.socket.remoteAddress,
        });
        route(req, res, body);
      });
    },
    '127.0.0.1',
    0,
  );
  return Object.assign(server, { seen });
}

async function relayFor(
  variant: string,
  upstreamUrl: string,
  env: Record<string, string> = ENV,
): Promise<RunningServer & { gateway: BrokenGateway }> {
  const found = findVariant(variant);
  assert.ok(found, `variant ${variant} exists`);
  const gateway = createBrokenGateway({ variant: found, env, logger: silentLogger });
  const server = await listen(gateway.handlerFor(upstreamUrl), '127.0.0.1', 0);
  return Object.assign(server, { gateway });
}

/** Starts both servers and registers their closing. */
async function setUp(variant: string, route: Route, env?: Record<string, string>) {
  const upstream = await standInGateway(route);
  const relay = await relayFor(variant, upstream.url, env);
  after(async () => {
    await relay.close();
    await upstream.close();
  });
  return { upstream, relay };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function newLoginId(): string {
  return `cli-${randomBytes(24).toString('base64url')}`;
}

/** A start answer like the protocol's (section 2), remembered by the stand-in. */
function startAnswer() {
  return {
    login_id: newLoginId(),
    poll_secret: randomBytes(32).toString('base64url'),
    user_code: 'ABCD-EFGH',
    expires_in: 600,
  };
}

describe('the relay with no fault', () => {
  test('forwards method, path, query, headers and body, and answers with the gateway status and body', async () => {
    const { upstream, relay } = await setUp('none', (_req, res) =>
      json(res, 201, { ok: true }, { 'x-from': 'gateway' }),
    );
    const response = await fetch(`${relay.url}/anything/here?a=1&b=two`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-litellm-cli-poll-secret': 's3cret' },
      body: 'hello',
    });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('x-from'), 'gateway');
    assert.deepEqual(await response.json(), { ok: true });
    const [seen] = upstream.seen;
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.url, '/anything/here?a=1&b=two');
    assert.equal(seen?.headers['x-litellm-cli-poll-secret'], 's3cret');
    assert.equal(seen?.body, 'hello');
    assert.equal(relay.gateway.firedCount(), 0);
  });

  test('streams a held-open answer: the first chunk arrives while the gateway still holds the rest', async () => {
    let release: () => void = () => undefined;
    const { relay } = await setUp('none', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      release = () => res.end('second');
    });
    const response = await fetch(`${relay.url}/sso/cli/poll/${newLoginId()}`, { headers: { prefer: 'wait=30' } });
    assert.equal(response.status, 200);
    const reader = response.body?.getReader();
    assert.ok(reader);
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'first;');
    release();
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value);
    assert.equal(rest, 'second');
  });

  test('answers 502 when the gateway behind cannot be reached', async () => {
    const upstream = await standInGateway((_req, res) => json(res, 200, {}));
    const deadUrl = upstream.url;
    await upstream.close();
    const relay = await relayFor('none', deadUrl);
    after(() => relay.close());
    const response = await fetch(`${relay.url}/health/liveliness`);
    assert.equal(response.status, 502);
    assert.match(String((await response.json()).detail), /Bad gateway/);
  });
});

describe('reusable-poll', () => {
  test('a second poll gets the remembered key instead of the gateway 400', async () => {
    let polls = 0;
    const { relay } = await setUp('reusable-poll', (_req, res) => {
      polls += 1;
      if (polls === 1) json(res, 200, { status: 'ready', key: 'the-key', user_id: 'alice' });
      else json(res, 400, { detail: 'Invalid CLI login session' });
    });
    const loginId = newLoginId();
    const first = await fetch(`${relay.url}/sso/cli/poll/${loginId}`);
    assert.equal((await first.json()).key, 'the-key');
    const second = await fetch(`${relay.url}/sso/cli/poll/${loginId}`);
    assert.equal(second.status, 200);
    assert.equal((await second.json()).key, 'the-key');
    const other = await fetch(`${relay.url}/sso/cli/poll/${newLoginId()}`);
    assert.equal(other.status, 400, 'a login that never got its key still gets 400');
    assert.equal(relay.gateway.firedCount(), 1);
  });
});

describe('poll-secret-ignored', () => {
  test('a poll with a wrong or missing secret reaches the gateway with the right one', async () => {
    const started = startAnswer();
    const { upstream, relay } = await setUp('poll-secret-ignored', (req, res) => {
      if (req.method === 'POST') json(res, 200, started);
      else json(res, 200, { status: 'pending' });
    });
    await (await fetch(`${relay.url}/sso/cli/start`, { method: 'POST' })).json();
    await fetch(`${relay.url}/sso/cli/poll/${started.login_id}`, { headers: { 'x-litellm-cli-poll-secret': 'wrong' } });
    await fetch(`${relay.url}/sso/cli/poll/${started.login_id}`);
    const polls = upstream.seen.filter((s) => s.method === 'GET');
    assert.deepEqual(
      polls.map((p) => p.headers['x-litellm-cli-poll-secret']),
      [started.poll_secret, started.poll_secret],
    );
    assert.equal(relay.gateway.firedCount(), 2);
  });
});

describe('no-rate-limit', () => {
  test('each start reaches the gateway from another loopback address', async () => {
    const { upstream, relay } = await setUp('no-rate-limit', (_req, res) => json(res, 200, startAnswer()));
    for (let i = 0; i < 3; i++) await (await fetch(`${relay.url}/sso/cli/start`, { method: 'POST' })).arrayBuffer();
    const addresses = upstream.seen.map((s) => s.remoteAddress?.replace(/^::ffff:/, ''));
    assert.deepEqual(addresses, ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    assert.equal(relay.gateway.firedCount(), 0, 'fires only past 30 starts in 60 s');
  });
});

describe('client-chosen-session', () => {
  test('a made-up key starts a real flow, the browser is redirected and the key can be polled', async () => {
    const started = startAnswer();
    const { upstream, relay } = await setUp('client-chosen-session', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST' && url.pathname === '/sso/cli/start') json(res, 200, started);
      else if (url.pathname === '/sso/key/generate') {
        if (url.searchParams.get('key') === started.login_id) {
          res.writeHead(303, { location: 'http://idp.invalid/authorize' });
          res.end();
        } else json(res, 400, { detail: 'Invalid CLI login session' });
      } else json(res, 200, { status: 'pending' });
    });
    const entry = await fetch(`${relay.url}/sso/key/generate?source=litellm-cli&key=sk-attacker-chosen`, {
      redirect: 'manual',
    });
    assert.equal(entry.status, 303);
    assert.equal(entry.headers.get('location'), 'http://idp.invalid/authorize');
    const poll = await fetch(`${relay.url}/sso/cli/poll/sk-attacker-chosen`);
    assert.equal(poll.status, 200);
    const lastPoll = upstream.seen.at(-1);
    assert.equal(lastPoll?.url, `/sso/cli/poll/${started.login_id}`);
    assert.equal(lastPoll?.headers['x-litellm-cli-poll-secret'], started.poll_secret);
    assert.equal(relay.gateway.firedCount(), 2);
  });

  test('a key the gateway accepts is relayed as it is', async () => {
    const { relay } = await setUp('client-chosen-session', (_req, res) => {
      res.writeHead(303, { location: 'http://idp.invalid/authorize' });
      res.end();
    });
    const entry = await fetch(`${relay.url}/sso/key/generate?source=litellm-cli&key=${newLoginId()}`, {
      redirect: 'manual',
    });
    assert.equal(entry.status, 303);
    assert.equal(relay.gateway.firedCount(), 0);
  });
});

describe('code-not-checked', () => {
  test('a wrong code typed in the browser reaches the gateway as the right one', async () => {
    const started = startAnswer();
    const { upstream, relay } = await setUp('code-not-checked', (req, res) => {
      if (req.url === '/sso/cli/start') json(res, 200, started);
      else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<h1>Authentication Successful!</h1>');
      }
    });
    await (await fetch(`${relay.url}/sso/cli/start`, { method: 'POST' })).arrayBuffer();
    const completion = await fetch(`${relay.url}/sso/cli/complete/${started.login_id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user_code=ZZZZ-ZZZZ&browser_complete_token=tok',
    });
    assert.equal(completion.status, 200);
    const posted = new URLSearchParams(upstream.seen.at(-1)?.body);
    assert.equal(posted.get('user_code'), started.user_code);
    assert.equal(posted.get('browser_complete_token'), 'tok');
    assert.equal(relay.gateway.firedCount(), 1);
  });
});

describe('expired-key-accepted', () => {
  test('once the gateway says "expired", the last good /models answer is served', async () => {
    let expired = false;
    const models = { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1, owned_by: 'openai' }] };
    const { relay } = await setUp('expired-key-accepted', (_req, res) => {
      if (expired) {
        json(res, 400, {
          error: { message: 'Authentication Error - Expired Key.', type: 'expired_key', param: null, code: '400' },
        });
      } else json(res, 200, models);
    });
    const headers = { authorization: 'Bearer some-key' };
    assert.equal((await fetch(`${relay.url}/models`, { headers })).status, 200);
    expired = true;
    const later = await fetch(`${relay.url}/models`, { headers });
    assert.equal(later.status, 200);
    assert.deepEqual(await later.json(), models);
    const unseen = await fetch(`${relay.url}/models`, { headers: { authorization: 'Bearer another-key' } });
    assert.equal(unseen.status, 400, 'a key never seen before is still refused');
    assert.equal(relay.gateway.firedCount(), 1);
  });
});

describe('error-500', () => {
  test('a malformed login id gets 500; a well-formed unknown one keeps its 400', async () => {
    const { relay } = await setUp('error-500', (_req, res) => json(res, 400, { detail: 'Invalid CLI login session' }));
    assert.equal((await fetch(`${relay.url}/sso/cli/poll/not-a-login-id`)).status, 500);
    assert.equal((await fetch(`${relay.url}/sso/cli/poll/${newLoginId()}`)).status, 400);
    assert.equal((await fetch(`${relay.url}/sso/key/generate?source=litellm-cli&key=sk-x`)).status, 500);
    assert.equal(relay.gateway.firedCount(), 2);
  });
});

describe('secret-in-query', () => {
  test('a secret in the query string becomes the poll-secret header', async () => {
    const { upstream, relay } = await setUp('secret-in-query', (_req, res) => json(res, 200, { status: 'pending' }));
    await fetch(`${relay.url}/sso/cli/poll/${newLoginId()}?poll_secret=from-the-url`);
    assert.equal(upstream.seen[0]?.headers['x-litellm-cli-poll-secret'], 'from-the-url');
    assert.equal(relay.gateway.firedCount(), 1);
  });
});

describe('code-step-skipped', () => {
  test('the first poll after the callback completes the flow with the code and the browser token', async () => {
    const started = startAnswer();
    const { upstream, relay } = await setUp('code-step-skipped', (req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/sso/cli/start') json(res, 200, started);
      else if (path === '/sso/callback') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<form method="post" action="/sso/cli/complete/${started.login_id}"><input type="hidden" name="browser_complete_token" value="tok-123"><label>Code <input name="user_code"></label></form>`,
        );
      } else if (path.startsWith('/sso/cli/complete/')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('ok');
      } else json(res, 200, { status: 'pending' });
    });
    await (await fetch(`${relay.url}/sso/cli/start`, { method: 'POST' })).arrayBuffer();
    const state = encodeURIComponent(`litellm-session-token:${started.login_id}`);
    await (await fetch(`${relay.url}/sso/callback?code=c&state=${state}`)).arrayBuffer();
    await (await fetch(`${relay.url}/sso/cli/poll/${started.login_id}`)).arrayBuffer();
    const completion = upstream.seen.find((s) => s.url.startsWith('/sso/cli/complete/'));
    assert.ok(completion, 'the relay posted the completion');
    const form = new URLSearchParams(completion.body);
    assert.equal(form.get('user_code'), started.user_code);
    assert.equal(form.get('browser_complete_token'), 'tok-123');
    assert.equal(upstream.seen.at(-1)?.url, `/sso/cli/poll/${started.login_id}`, 'the poll itself went on after it');
    assert.equal(relay.gateway.firedCount(), 1);
  });
});

describe('store-down-500', () => {
  test("the gateway's 503 becomes a 500", async () => {
    const { relay } = await setUp('store-down-500', (_req, res) =>
      json(res, 503, { detail: 'Service temporarily unavailable' }, { 'retry-after': '5' }),
    );
    const response = await fetch(`${relay.url}/sso/cli/start`, { method: 'POST' });
    assert.equal(response.status, 500);
    assert.equal(response.headers.get('retry-after'), null);
    assert.equal(relay.gateway.firedCount(), 1);
  });
});

describe('metadata-numbers-as-strings', () => {
  test('numbers in the stored metadata come back as strings', async () => {
    const { relay } = await setUp('metadata-numbers-as-strings', (_req, res) =>
      json(res, 200, { user_id: 'alice', user_info: { metadata: { cost_center: 42, org: { floor: 7, name: 'x' } } } }),
    );
    const info = await (await fetch(`${relay.url}/user/info?user_id=alice`)).json();
    assert.deepEqual(info.user_info.metadata, { cost_center: '42', org: { floor: '7', name: 'x' } });
    assert.equal(relay.gateway.firedCount(), 1);
  });
});
