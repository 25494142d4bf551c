/**
 * Who the IdP says the user is (docs/contract.md section 4): users added to the mock IdP for one
 * scenario, the user id the login answer carries, and the user row GET /user/info shows.
 */
import assert from 'node:assert/strict';
import { Given, Then } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { addIdpUser, userRow } from '../tasks/gateway-users.ts';
import { loginAnswer } from '../tasks/login-answer.ts';

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
