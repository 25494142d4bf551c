import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { loopbackRedirectMatches } from './loopback-redirect.ts';

const registered = ['http://127.0.0.1:4000/sso/callback', 'http://localhost/cb?x=1', 'http://[::1]:9/p'];

test('RFC 8252 section 7.3: any port on a loopback host when scheme, host, path and query match', () => {
  assert.ok(loopbackRedirectMatches('http://127.0.0.1:51234/sso/callback', registered));
  assert.ok(loopbackRedirectMatches('http://127.0.0.1/sso/callback', registered));
  assert.ok(loopbackRedirectMatches('http://localhost:3000/cb?x=1', registered));
  assert.ok(loopbackRedirectMatches('http://[::1]:8080/p', registered));
});

test('no match when anything but the port differs', () => {
  for (const uri of [
    'https://127.0.0.1:4000/sso/callback',
    'http://localhost:4000/sso/callback',
    'http://127.0.0.1:4000/sso/callback/',
    'http://127.0.0.1:4000/sso/callback?x=1',
    'http://127.0.0.2:4000/sso/callback',
    'http://user@127.0.0.1:4000/sso/callback',
    'http://127.0.0.1:4000/sso/callback#f',
    'http://localhost:3000/cb?x=2',
    'not a url',
  ]) {
    assert.equal(loopbackRedirectMatches(uri, registered), false, uri);
  }
});

test('non-loopback registered URIs never match by this rule', () => {
  assert.equal(loopbackRedirectMatches('http://gateway.example:5000/cb', ['http://gateway.example:4000/cb']), false);
});

test('property: every port of a registered loopback URI matches', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 65535 }), (port) =>
      loopbackRedirectMatches(`http://127.0.0.1:${port}/sso/callback`, registered),
    ),
  );
});
