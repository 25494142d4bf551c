/**
 * whoami, models list, token and logout against a LiteLLM-like gateway: as child processes after a
 * real login, and in-process (runCli) with stored logins written the way LiteLLM's own CLI writes them.
 */
import assert from 'node:assert/strict';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  cleanEnv,
  makeTempHome,
  readLoginInstructions,
  runCli,
  startCli,
  type TempHome,
} from './test-support/cli-process.ts';
import { runCliInProcess } from './test-support/in-process.ts';
import { type LiteLlmLikeGateway, startLiteLlmLikeGateway } from './test-support/litellm-like-gateway.ts';

async function storeLogin(home: TempHome, fields: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(home.tokenFile), { recursive: true, mode: 0o700 });
  await writeFile(home.tokenFile, JSON.stringify(fields), { mode: 0o600 });
}

describe('after login', () => {
  let gateway: LiteLlmLikeGateway;
  let home: TempHome;
  before(async () => {
    gateway = await startLiteLlmLikeGateway({ models: ['gpt-4o', 'claude-sonnet'] });
    home = await makeTempHome();
  });
  after(async () => {
    await gateway.close();
    await home.remove();
  });

  test('login, whoami, models list (table and json), token, logout, logout again', async () => {
    const env = cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url });
    const run = startCli(['login', '--no-browser'], env);
    gateway.complete((await readLoginInstructions(run)).loginId);
    assert.equal((await run.exited).code, 0, run.stderr());

    const who = await runCli(['whoami'], env);
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /^Gateway: +http:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(who.stdout, /^User: +cli-test-user$/m);
    assert.match(who.stdout, /^Expires: +unknown/m);

    const table = await runCli(['models', 'list'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +OWNED BY +CREATED$/m);
    assert.match(table.stdout, /^gpt-4o +openai/m);
    assert.match(table.stdout, /^claude-sonnet +openai/m);

    const json = await runCli(['models', 'list', '--format', 'json'], env);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(
      (JSON.parse(json.stdout) as Array<{ id: string }>).map((m) => m.id),
      ['gpt-4o', 'claude-sonnet'],
    );

    const token = await runCli(['token'], env);
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^sk-[A-Za-z0-9_-]+\n$/);
    const lastModels = gateway.journal.filter((e) => e.route === 'models').at(-1);
    assert.equal(lastModels?.authorization, `Bearer ${token.stdout.trim()}`);
    for (const output of [who, table, json])
      assert.ok(!`${output.stdout}${output.stderr}`.includes(token.stdout.trim()));

    const out = await runCli(['logout'], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /removed the login of cli-test-user/);
    await assert.rejects(access(home.tokenFile));

    const again = await runCli(['logout'], env);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /nothing to remove/);
    const whoNow = await runCli(['whoami'], env);
    assert.equal(whoNow.code, 3);
    assert.match(whoNow.stderr, /not logged in/);
    assert.match(whoNow.stderr, /cli-sso login/);
  });

  test('models list with a key the gateway says expired: when, and what to do; exit 9', async () => {
    const expiredAtMs = Date.now() - 3600_000;
    const key = await gateway.issueKey(expiredAtMs);
    await storeLogin(home, {
      base_url: gateway.url,
      key,
      user_id: 'cli-test-user',
      timestamp: Math.floor(expiredAtMs / 1000) - 86400,
      expires_at: Math.floor(expiredAtMs / 1000),
    });
    const result = await runCliInProcess(['models', 'list'], cleanEnv(home.home));
    assert.equal(result.code, 9, result.stderr);
    assert.match(result.stderr, /expired at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(1 h ago\)/);
    assert.match(result.stderr, /Run `cli-sso login`/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(result.stdout, '');
  });

  test('models list with a key the gateway does not know: refused, exit 4', async () => {
    await storeLogin(home, { base_url: gateway.url, key: 'sk-unknown-key-123456', user_id: 'u', timestamp: 1 });
    const result = await runCliInProcess(['models', 'list'], cleanEnv(home.home));
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /refused the stored key \(HTTP 401/);
    assert.ok(!result.stderr.includes('sk-unknown-key-123456'));
  });

  test('a stored key is not sent to another gateway than the one that issued it', async () => {
    await storeLogin(home, { base_url: gateway.url, key: 'sk-unknown-key-123456', user_id: 'u', timestamp: 1 });
    const before = gateway.journal.length;
    const result = await runCliInProcess(['models', 'list', '--base-url', 'http://127.0.0.1:9/'], cleanEnv(home.home));
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /logged in to http:\/\/127\.0\.0\.1:\d+, not to http:\/\/127\.0\.0\.1:9/);
    assert.equal(gateway.journal.length, before);
  });

  test('--api-key / LITELLM_PROXY_API_KEY replace the stored login', async () => {
    const key = await gateway.issueKey(Date.now() + 3600_000);
    const result = await runCliInProcess(
      ['models', 'list', '--format', 'json'],
      cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url, LITELLM_PROXY_API_KEY: key }),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(gateway.journal.filter((e) => e.route === 'models').at(-1)?.authorization, `Bearer ${key}`);
  });
});
