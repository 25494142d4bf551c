import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { StoredLogin } from '../protocol/token-file.ts';
import { CliError } from './exit-codes.ts';
import { makeTempHome } from './test-support/cli-process.ts';
import { defaultTokenFilePath, TokenStore } from './token-store.ts';

const LOGIN: StoredLogin = {
  baseUrl: 'http://gw.example',
  key: 'sk-secret-key-0123456789',
  userId: 'cli-test-user',
  userEmail: 'cli-test@example.com',
  userRole: null,
  teamId: null,
  authHeaderName: 'Authorization',
  timestamp: 1_764_000_000,
  expiresAt: 1_764_086_400,
};

test('write: LiteLLM fields + expires_at, mode 0600 in a 0700 directory, no temp file left', async () => {
  const home = await makeTempHome();
  try {
    // An existing, too-open directory and file are tightened (the default location is ours).
    await mkdir(join(home.home, '.litellm'), { mode: 0o755 });
    await chmod(join(home.home, '.litellm'), 0o755);
    await writeFile(home.tokenFile, '{}', { mode: 0o644 });
    const store = new TokenStore(defaultTokenFilePath(home.home), true);
    await store.write(LOGIN);
    assert.equal((await stat(home.tokenFile)).mode & 0o777, 0o600);
    assert.equal((await stat(join(home.home, '.litellm'))).mode & 0o777, 0o700);
    assert.deepEqual(await readdir(join(home.home, '.litellm')), ['token.json']);
    assert.deepEqual(JSON.parse(await readFile(home.tokenFile, 'utf8')), {
      base_url: 'http://gw.example',
      key: 'sk-secret-key-0123456789',
      user_id: 'cli-test-user',
      user_email: 'cli-test@example.com',
      user_role: null,
      team_id: null,
      auth_header_name: 'Authorization',
      jwt_token: 'sk-secret-key-0123456789',
      timestamp: 1_764_000_000,
      expires_at: 1_764_086_400,
    });
    assert.deepEqual(await store.read(), LOGIN);
  } finally {
    await home.remove();
  }
});

test('a --token-file in an existing shared directory: the directory is left alone', async () => {
  const home = await makeTempHome();
  try {
    await chmod(home.home, 0o755);
    const store = new TokenStore(join(home.home, 'login.json'), false);
    await store.write(LOGIN);
    assert.equal((await stat(home.home)).mode & 0o777, 0o755);
    assert.equal((await stat(join(home.home, 'login.json'))).mode & 0o777, 0o600);
    const nested = new TokenStore(join(home.home, 'new', 'dir', 'login.json'), false);
    await nested.write(LOGIN);
    assert.equal((await stat(join(home.home, 'new', 'dir'))).mode & 0o777, 0o700);
  } finally {
    await home.remove();
  }
});

test('read: none -> undefined; damaged -> "not logged in" naming the file, never its content', async () => {
  const home = await makeTempHome();
  try {
    const store = new TokenStore(join(home.home, 'token.json'), false);
    assert.equal(await store.read(), undefined);
    await writeFile(store.path, '{"key": "sk-secret-key-0123456789", "timest');
    const notJson = await store.read().catch((error: unknown) => error);
    assert.ok(notJson instanceof CliError);
    assert.equal(notJson.kind, 'notLoggedIn');
    assert.match(notJson.message, /token\.json is damaged: it is not JSON/);
    assert.doesNotMatch(notJson.message, /sk-secret/);
    await writeFile(store.path, JSON.stringify({ base_url: 'x', key: 'sk-secret-key-0123456789' }));
    await assert.rejects(store.read(), /field "timestamp"/);
  } finally {
    await home.remove();
  }
});

test('remove: says what was removed; nothing to remove is not an error', async () => {
  const home = await makeTempHome();
  try {
    const store = new TokenStore(join(home.home, 'token.json'), false);
    assert.equal(await store.remove(), undefined);
    await store.write(LOGIN);
    assert.deepEqual(await store.remove(), { login: LOGIN });
    assert.equal(await store.remove(), undefined);
    await writeFile(store.path, 'garbage');
    assert.deepEqual(await store.remove(), { login: undefined });
  } finally {
    await home.remove();
  }
});

test('a PKCE login: its grant round-trips beside the classic fields; a classic file reads without one', async () => {
  const home = await makeTempHome();
  try {
    const store = new TokenStore(join(home.home, 'token.json'), false);
    const pkce = {
      refreshToken: 'llm_srefresh_secret',
      clientId: 'llm_dcrc_client',
      tokenEndpoint: 'http://gw.example/token',
      revocationEndpoint: 'http://gw.example/revoke',
      resource: 'http://gw.example',
    };
    await store.write({ ...LOGIN, pkce });
    const written = JSON.parse(await readFile(store.path, 'utf8')) as Record<string, unknown>;
    // LiteLLM's fields are where they were; the grant's are added.
    assert.equal(written['key'], LOGIN.key);
    assert.equal(written['jwt_token'], LOGIN.key);
    assert.equal(written['refresh_token'], 'llm_srefresh_secret');
    assert.equal(written['client_id'], 'llm_dcrc_client');
    assert.equal(written['token_endpoint'], 'http://gw.example/token');
    assert.equal(written['revocation_endpoint'], 'http://gw.example/revoke');
    assert.equal(written['resource'], 'http://gw.example');
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
    assert.deepEqual(await store.read(), { ...LOGIN, pkce });

    await store.write(LOGIN);
    const classic = await store.read();
    assert.deepEqual(classic, LOGIN);
    assert.equal(classic?.pkce, undefined);

    // Half a grant is a damaged file, named by its field, the refresh token never shown.
    const { token_endpoint: _dropped, ...half } = written;
    await writeFile(store.path, JSON.stringify(half));
    const damaged = await store.read().catch((error: unknown) => error);
    assert.ok(damaged instanceof CliError);
    assert.match(damaged.message, /field "token_endpoint"/);
    assert.doesNotMatch(damaged.message, /llm_srefresh_secret/);
  } finally {
    await home.remove();
  }
});
