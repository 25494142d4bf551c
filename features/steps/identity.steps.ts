/**
 * Who the IdP says the user is (protocol.md section 4): users added to the mock IdP for one
 * scenario, the user id the login answer carries, and the user row GET /user/info shows.
 */
import assert from 'node:assert/strict';
import { Given, Then } from '@cucumber/cucumber';
import type { Claims } from '../../mock-idp/index.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { loginAnswer } from '../tasks/login-answer.ts';

/** Add a user to the harness's mock IdP; the IdP's reset after the scenario removes it again. */
async function addIdpUser(world: ConformanceWorld, username: string, claims: Claims): Promise<void> {
  const h = await world.harness();
  assert.equal(h.idp.users.get(username), undefined, `the IdP already has a user ${username}`);
  h.idp.users.put({ username, claims });
  world.cleanups.push(async () => {
    h.idp.users.remove(username);
  });
}

Given(
  'the IdP has a user {string} with these claims:',
  async function (this: ConformanceWorld, username: string, json: string) {
    const claims = JSON.parse(json) as unknown;
    assert.ok(typeof claims === 'object' && claims !== null && !Array.isArray(claims), 'the claims must be an object');
    await addIdpUser(this, username, claims as Claims);
  },
);

Given(
  'the IdP has a user {string} with the email {string}',
  async function (this: ConformanceWorld, username: string, email: string) {
    await addIdpUser(this, username, { sub: username, preferred_username: username, email, email_verified: true });
  },
);

Then('the login answer is for user {string}', function (this: ConformanceWorld, userId: string) {
  const actual = loginAnswer(this).userId;
  assert.equal(actual, userId, `the login answer is for user ${JSON.stringify(actual)}, expected ${userId}`);
});

Then(
  'the login answer is for a user id made of {string} and {string}',
  function (this: ConformanceWorld, first: string, last: string) {
    // Section 4 says "first + last name" without fixing a separator: nothing, or white space.
    const actual = loginAnswer(this).userId;
    const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(
      actual,
      new RegExp(`^${literal(first)}\\s*${literal(last)}$`),
      `the login answer is for user ${JSON.stringify(actual)}, expected the first name ${first} then the last name ${last}`,
    );
  },
);

/** The user row (`user_info`) as GET /user/info shows it to the master key (protocol.md section 2). */
async function userRow(world: ConformanceWorld, userId: string): Promise<Record<string, unknown>> {
  const gateway = await world.gateway();
  const masterKey = gateway.env.LITELLM_MASTER_KEY;
  assert.ok(masterKey, 'the gateway has no declared LITELLM_MASTER_KEY');
  const answer = await (await world.http()).userInfo(userId, masterKey);
  assert.equal(
    answer.status,
    200,
    `GET /user/info?user_id=${userId} answered ${answer.status}: ${answer.text.slice(0, 200)}`,
  );
  const body = answer.json;
  const info = typeof body === 'object' && body !== null && 'user_info' in body ? body.user_info : undefined;
  assert.ok(typeof info === 'object' && info !== null, `no user_info in ${answer.text.slice(0, 200)}`);
  return info as Record<string, unknown>;
}

Then(
  "the gateway's user {string} has the {word} {string}",
  async function (this: ConformanceWorld, userId: string, field: string, value: string) {
    // LiteLLM's user row names them user_email and user_role.
    const column = { email: 'user_email', role: 'user_role' }[field];
    assert.ok(column, `no such user field: ${field}`);
    const row = await userRow(this, userId);
    assert.equal(
      row[column],
      value,
      `GET /user/info shows ${column} ${JSON.stringify(row[column])} for ${userId}, expected ${value}`,
    );
  },
);
