/**
 * exchange() against real HTTP servers in this process: what fetch() did for the CLI and it keeps
 * (redirects, the Authorization header dropped across origins, one deadline, a bounded answer,
 * Ctrl-C), and failures the gateway client tells apart.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  AnswerTooLargeError,
  type Exchange,
  ExchangeTimeoutError,
  exchange,
  NetworkError,
  RequestNotBuiltError,
} from './http-exchange.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

let server: Server;
let other: Server;
let base: string;
let otherBase: string;
const seen: Seen[] = [];
const hung = new Set<ServerResponse>();

function route(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const redirects: Record<string, [number, string]> = {
    '/see-other': [303, '/echo'],
    '/moved': [301, '/echo'],
    '/temporary': [307, '/echo'],
    '/elsewhere': [307, `${otherBase}/echo`],
    '/loop': [302, '/loop'],
    '/see-other-body': [303, '/body'],
    '/temporary-body': [307, '/body'],
  };
  const redirect = redirects[path];
  if (redirect) {
    res.writeHead(redirect[0], { location: redirect[1] }).end();
    return;
  }
  if (path === '/big-declared') {
    res.writeHead(200, { 'content-length': String(2048) });
    res.end('x'.repeat(2048));
    return;
  }
  if (path === '/big-streamed') {
    res.writeHead(200);
    for (let i = 0; i < 64; i++) res.write('x'.repeat(1024));
    res.end();
    return;
  }
  if (path === '/cut-short') {
    res.writeHead(200, { 'content-length': '100' });
    res.write('{"status":');
    setImmediate(() => res.socket?.destroy());
    return;
  }
  if (path === '/body') {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null }));
    });
    return;
  }
  if (path === '/hang') {
    hung.add(res);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ method: req.method, path }));
}

const listen = (s: Server) =>
  new Promise<string>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)),
  );

before(async () => {
  server = createServer(route);
  other = createServer(route);
  [base, otherBase] = await Promise.all([listen(server), listen(other)]);
});

after(async () => {
  for (const res of hung) res.socket?.destroy();
  server.closeAllConnections();
  other.closeAllConnections();
  await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => other.close(r))]);
});

const OPTIONS: Exchange = { method: 'GET', headers: {}, timeoutMs: 10_000, maxBytes: 1024 };

test('an answer: status, headers and body; POST sends Content-Length 0 and the User-Agent fetch() sent', async () => {
  seen.length = 0;
  const answer = await exchange(`${base}/echo`, {
    ...OPTIONS,
    method: 'POST',
    headers: { accept: 'application/json' },
  });
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(answer.text), { method: 'POST', path: '/echo' });
  assert.equal(seen[0]?.headers['content-length'], '0');
  assert.equal(seen[0]?.headers['user-agent'], 'node');
  assert.equal(seen[0]?.headers['accept-encoding'], undefined, 'no compressed answer is asked for');
});

test('a POST body arrives with its length; a 303 drops it and its type, a 307 sends it again', async () => {
  const post = { ...OPTIONS, method: 'POST' as const, headers: { 'content-type': 'text/plain' }, body: 'grant=é' };
  seen.length = 0;
  assert.deepEqual(JSON.parse((await exchange(`${base}/body`, post)).text), {
    method: 'POST',
    body: 'grant=é',
    type: 'text/plain',
  });
  assert.equal(seen[0]?.headers['content-length'], '8');
  assert.deepEqual(JSON.parse((await exchange(`${base}/see-other-body`, post)).text), {
    method: 'GET',
    body: '',
    type: null,
  });
  assert.deepEqual(JSON.parse((await exchange(`${base}/temporary-body`, post)).text), {
    method: 'POST',
    body: 'grant=é',
    type: 'text/plain',
  });
});

test('redirects are followed as fetch() follows them: 303 and 301 after a POST become a GET, 307 keeps the method', async () => {
  assert.deepEqual(JSON.parse((await exchange(`${base}/see-other`, { ...OPTIONS, method: 'POST' })).text), {
    method: 'GET',
    path: '/echo',
  });
  assert.deepEqual(JSON.parse((await exchange(`${base}/moved`, { ...OPTIONS, method: 'POST' })).text), {
    method: 'GET',
    path: '/echo',
  });
  assert.deepEqual(JSON.parse((await exchange(`${base}/temporary`, { ...OPTIONS, method: 'POST' })).text), {
    method: 'POST',
    path: '/echo',
  });
});

test('a redirect to another origin drops the Authorization header; other headers follow', async () => {
  seen.length = 0;
  await exchange(`${base}/elsewhere`, {
    ...OPTIONS,
    headers: { Authorization: 'Bearer sk-secret-0123', 'x-litellm-cli-poll-secret': 'poll-secret-0123' },
  });
  assert.equal(seen.length, 2);
  assert.equal(seen[0]?.headers['authorization'], 'Bearer sk-secret-0123');
  assert.equal(seen[1]?.headers['authorization'], undefined);
  assert.equal(seen[1]?.headers['x-litellm-cli-poll-secret'], 'poll-secret-0123');
});

test('more than 20 redirects fail as a network error', async () => {
  await assert.rejects(exchange(`${base}/loop`, OPTIONS), (error: unknown) => {
    assert.ok(error instanceof NetworkError);
    assert.equal(error.code, 'ETOOMANYREDIRECTS');
    return true;
  });
});

test('an answer over maxBytes is dropped, whether its length is declared or not', async () => {
  await assert.rejects(exchange(`${base}/big-declared`, OPTIONS), AnswerTooLargeError);
  await assert.rejects(exchange(`${base}/big-streamed`, OPTIONS), AnswerTooLargeError);
});

test('a connection closed in the middle of the answer is a network error, not a short body', async () => {
  await assert.rejects(exchange(`${base}/cut-short`, OPTIONS), NetworkError);
});

test('nothing listening: a network error with its code', async () => {
  const closed = createServer();
  const url = await listen(closed);
  await new Promise((r) => closed.close(r));
  await assert.rejects(exchange(url, OPTIONS), (error: unknown) => {
    assert.ok(error instanceof NetworkError);
    assert.equal(error.code, 'ECONNREFUSED');
    return true;
  });
});

test('no whole answer by the deadline: ExchangeTimeoutError', async () => {
  await assert.rejects(exchange(`${base}/hang`, { ...OPTIONS, timeoutMs: 200 }), ExchangeTimeoutError);
});

test("cancelled (Ctrl-C): rejects with the signal's reason", async () => {
  const cancel = new AbortController();
  const pending = exchange(`${base}/hang`, { ...OPTIONS, signal: cancel.signal });
  const reason = new Error('cancelled by the user');
  setImmediate(() => cancel.abort(reason));
  await assert.rejects(pending, (error: unknown) => error === reason);
});

test('a header value HTTP cannot carry: nothing is sent and the value is not in the error', async () => {
  seen.length = 0;
  await assert.rejects(
    exchange(`${base}/echo`, { ...OPTIONS, headers: { 'x-litellm-cli-poll-secret': 'secret\r\nx-injected: 1' } }),
    (error: unknown) => {
      assert.ok(error instanceof RequestNotBuiltError);
      assert.doesNotMatch(String(error), /secret/);
      return true;
    },
  );
  assert.equal(seen.length, 0);
});
