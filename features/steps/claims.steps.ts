import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { logInThroughBrowser } from '../tasks/browser-login.ts';
import { loginAnswer } from '../tasks/login-answer.ts';

function keysOf(list: string): string[] {
  return list.split(',').map((k) => k.trim());
}

When('{string} logs in through the browser', async function (this: ConformanceWorld, username: string) {
  await logInThroughBrowser(this, username);
});

Then('the login answer carried exactly this attribution metadata:', function (this: ConformanceWorld, json: string) {
  assert.deepEqual(loginAnswer(this).attributionMetadata, JSON.parse(json));
});

Then('the login answer carried no attribution metadata', function (this: ConformanceWorld) {
  const metadata = loginAnswer(this).attributionMetadata;
  assert.equal(
    metadata,
    undefined,
    `the answer carried ${JSON.stringify(metadata)}: with nothing kept the field must be absent`,
  );
});

Then(
  "the login answer's attribution metadata has none of the keys {string}",
  function (this: ConformanceWorld, list: string) {
    const metadata = loginAnswer(this).attributionMetadata ?? {};
    const leaked = keysOf(list).filter((k) => Object.hasOwn(metadata, k));
    assert.deepEqual(leaked, [], `these keys reached the metadata: ${leaked.join(', ')}`);
  },
);

Then(
  "the login answer's attribution metadata has {string} = {scalar}",
  function (this: ConformanceWorld, key: string, value: string | number | boolean) {
    assert.deepEqual(loginAnswer(this).attributionMetadata?.[key], value);
  },
);

Then(
  "the login answer's attribution metadata has {string} with a value of {int} characters",
  function (this: ConformanceWorld, key: string, length: number) {
    const value = loginAnswer(this).attributionMetadata?.[key];
    assert.equal(typeof value, 'string', `"${key}" is ${JSON.stringify(value)?.slice(0, 50)}`);
    assert.equal((value as string).length, length);
  },
);

/** The user row as GET /user/info shows it to the master key (protocol.md section 2). */
async function storedMetadata(world: ConformanceWorld, userId: string): Promise<Record<string, unknown>> {
  const gateway = await world.gateway();
  const masterKey = gateway.env.LITELLM_MASTER_KEY;
  assert.ok(masterKey, 'the gateway has no declared LITELLM_MASTER_KEY');
  const answer = await (await world.http()).userInfo(userId, masterKey);
  assert.equal(answer.status, 200, `GET /user/info answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  const body = answer.json;
  const info = typeof body === 'object' && body !== null && 'user_info' in body ? body.user_info : undefined;
  const metadata = typeof info === 'object' && info !== null && 'metadata' in info ? info.metadata : undefined;
  assert.ok(typeof metadata === 'object' && metadata !== null, `no user_info.metadata in ${answer.text.slice(0, 200)}`);
  return metadata as Record<string, unknown>;
}

Then(
  'the gateway stored this metadata on user {string}:',
  async function (this: ConformanceWorld, userId: string, json: string) {
    const metadata = await storedMetadata(this, userId);
    const expected = JSON.parse(json) as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(metadata[key], value, `user_info.metadata.${key}`);
    }
  },
);

Then(
  'the metadata stored on user {string} has none of the keys {string}',
  async function (this: ConformanceWorld, userId: string, list: string) {
    const metadata = await storedMetadata(this, userId);
    const leaked = keysOf(list).filter((k) => Object.hasOwn(metadata, k));
    assert.deepEqual(leaked, [], `these keys were stored on the user: ${leaked.join(', ')}`);
  },
);
