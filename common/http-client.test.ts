/**
 * httpCall against a real in-process server: what goes on the wire, what comes back, and how a
 * request that gets no whole answer fails (without the path or query in the message).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { HttpCallFailed, httpCall } from './http-client.ts';
import { freePort } from './http-server.ts';
import { type BodyServer, startBodyServer } from './test-support/body-server.ts';

let server: BodyServer;

before(async () => {
  server = await startBodyServer();
});

after(() => server.close());

test('a POST goes with its headers and a Content-Length (never chunked); status, headers and text come back', async () => {
  let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
  server.handle = (request, body, response) => {
    seen = { method: request.method, headers: request.headers, body };
    response.writeHead(201, { 'content-type': 'application/json', 'x-answer': 'yes' }).end('{"ok":true}');
  };
  const reply = await httpCall(`${server.url}/things?a=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-poll-secret': 'p' },
    body: 'name=caf%C3%A9&n=2',
    timeoutMs: 5000,
  });
  assert.equal(seen.method, 'POST');
  assert.equal(seen.body, 'name=caf%C3%A9&n=2');
  assert.equal(seen.headers?.['content-length'], '18');
  assert.equal(seen.headers?.['transfer-encoding'], undefined);
  assert.equal(seen.headers?.['x-poll-secret'], 'p');
  assert.equal(reply.status, 201);
  assert.equal(reply.headers['x-answer'], 'yes');
  assert.equal(reply.text, '{"ok":true}');
});

test('a redirect is the answer: it is not followed', async () => {
  let requests = 0;
  server.handle = (_request, _body, response) => {
    requests += 1;
    response.writeHead(302, { location: '/elsewhere' }).end();
  };
  const reply = await httpCall(`${server.url}/start`, { timeoutMs: 5000 });
  assert.equal(reply.status, 302);
  assert.equal(reply.headers.location, '/elsewhere');
  assert.equal(requests, 1);
});

test('an answer over maxBytes fails the call; the message has the origin but not the path or query', async () => {
  server.handle = (_request, _body, response) => response.end('x'.repeat(64 * 1024));
  await assert.rejects(
    httpCall(`${server.url}/secret-path?poll_secret=hunter2`, { timeoutMs: 5000, maxBytes: 1024 }),
    (error: unknown) => {
      assert.ok(error instanceof HttpCallFailed);
      assert.match(error.message, new RegExp(`^no answer from ${server.url}: the answer is over 1024 bytes$`));
      return true;
    },
  );
});

test('nobody listening, or no whole answer in time: HttpCallFailed, never the path or query', async () => {
  const closedPort = await freePort();
  await assert.rejects(httpCall(`http://127.0.0.1:${closedPort}/p?key=sk-1`, { timeoutMs: 5000 }), (error: unknown) => {
    assert.ok(error instanceof HttpCallFailed);
    assert.match(error.message, /ECONNREFUSED/);
    assert.doesNotMatch(error.message, /sk-1|\/p\b/);
    return true;
  });
  server.handle = (_request, _body, response) => {
    response.write('partial');
  };
  await assert.rejects(httpCall(`${server.url}/slow?key=sk-2`, { timeoutMs: 200 }), (error: unknown) => {
    assert.ok(error instanceof HttpCallFailed);
    assert.equal(error.message, `no answer from ${server.url}: no whole answer within 200 ms`);
    return true;
  });
});
