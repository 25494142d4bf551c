/**
 * Requests a client got wrong get a 4xx with a clear error, never a 500, on the routes where
 * oidc-provider itself would throw: a Host no URL can be made of, the device pages without their
 * session, a resume URL with a query, and a control call whose body is not encoded as it says.
 * Over real HTTP (node:http, which lets a test send any Host).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { z } from 'zod';
import { type MockIdp, startMockIdp } from './index.ts';

interface Answer {
  status: number;
  type: string;
  body: string;
}

function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'] ?? '',
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const jsonError = z.object({ error: z.string(), error_description: z.string() });
const CONTROL_TOKEN = 'client-mistakes-control-token-0001';

describe('client mistakes at the mock IdP are 4xx answers', () => {
  let idp: MockIdp;
  before(async () => {
    idp = await startMockIdp({ port: 0, controlToken: CONTROL_TOKEN });
  });
  after(async () => {
    await idp.close();
  });

  test('a Host header that is not a host is a 400 naming the header, on every route', async () => {
    for (const host of ['%', 'a b', '[::1', 'x:99999', 'a/b']) {
      for (const path of ['/.well-known/openid-configuration', '/authorize?client_id=x', '/token', '/health']) {
        const answer = await send(idp.url, 'GET', path, { host });
        assert.equal(answer.status, 400, `Host ${host} at ${path}: ${answer.body}`);
        assert.match(jsonError.parse(JSON.parse(answer.body)).error_description, /the Host header must be a host/);
      }
    }
    // A valid Host, or a name the IdP is not known by, is still served.
    for (const host of [new URL(idp.url).host, 'localhost', 'idp.example:8080', '[::1]:9']) {
      const answer = await send(idp.url, 'GET', '/.well-known/openid-configuration', { host });
      assert.equal(answer.status, 200, `Host ${host}: ${answer.body}`);
    }
  });

  test('the device pages without the device session are a 400 page, not a 500', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const [method, path, headers, body] of [
      ['GET', '/device/auth', {}, undefined],
      ['GET', '/device/x', {}, undefined],
      ['GET', '/device/x?client_id=litellm-cli-test', {}, undefined],
      ['POST', '/device', form, 'Kelvin'],
      ['POST', '/device', form, 'xsrf=abc&user_code=ABCD-EFGH'],
    ] as const) {
      const answer = await send(idp.url, method, path, headers, body);
      assert.equal(answer.status, 400, `${method} ${path}: ${answer.body.slice(0, 200)}`);
      assert.match(answer.type, /text\/html/);
    }
    // The page itself still works.
    assert.equal((await send(idp.url, 'GET', '/device')).status, 200);
  });

  test('a resume URL of an unknown interaction is a 400 page, with or without a query', async () => {
    for (const path of [
      '/authorize/xyz',
      '/authorize/xyz?client_id=litellm-cli-test',
      '/authorize/xyz?client_id=litellm-cli-test&response_type=code&scope=openid&state=s',
      '/authorize/xyz/?client_id=litellm-cli-test&redirect_uri=http%3A%2F%2F127.0.0.1%3A4000%2Fsso%2Fcallback',
    ]) {
      const answer = await send(idp.url, 'GET', path);
      assert.equal(answer.status, 400, `${path}: ${answer.body.slice(0, 200)}`);
    }
  });

  test('a control call whose body is not encoded as its Content-Encoding says is a 400; a real gzip body works', async () => {
    const auth = { authorization: `Bearer ${CONTROL_TOKEN}`, 'content-type': 'application/json' };
    const body = '{"offset_seconds":1}';
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const answer = await send(idp.url, 'PUT', '/_mock/clock', { ...auth, 'content-encoding': encoding }, body);
      assert.equal(answer.status, 400, `${encoding}: ${answer.body}`);
      assert.match(jsonError.parse(JSON.parse(answer.body)).error_description, /Content-Encoding/);
    }
    const zipped = await send(idp.url, 'PUT', '/_mock/clock', { ...auth, 'content-encoding': 'gzip' }, gzipSync(body));
    assert.equal(zipped.status, 200, zipped.body);
    assert.deepEqual(JSON.parse(zipped.body), { offset_seconds: 1 });
    await send(idp.url, 'POST', '/_mock/reset', { authorization: `Bearer ${CONTROL_TOKEN}` });
  });
});
