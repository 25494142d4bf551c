import assert from 'node:assert/strict';
import { type DataTable, Given, Then, When } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { logInThroughBrowser } from '../tasks/browser-login.ts';
import { addIdpUser, claimsFrom, expectMetadataKeys, shown, storedMetadata } from '../tasks/gateway-users.ts';
import { loginAnswer } from '../tasks/login-answer.ts';

function keysOf(list: string): string[] {
  return list.split(',').map((k) => k.trim());
}

/** A person the built-in cast does not have, added through the mock IdP's user API for this scenario. */
Given(
  'the IdP has a user {string} with the claims:',
  async function (this: ConformanceWorld, username: string, json: string) {
    await addIdpUser(this, username, claimsFrom(json));
  },
);

/** Claims added to (or replacing) a user's own, through the mock IdP's user API; the IdP is reset after the scenario. */
Given(
  'the IdP user {string} also has the claims:',
  async function (this: ConformanceWorld, username: string, json: string) {
    const h = await this.harness();
    assert.ok(h.idp.users.mergeClaims(username, claimsFrom(json)), `the IdP has no user "${username}"`);
  },
);

When(
  "the IdP's claims for {string} change to:",
  async function (this: ConformanceWorld, username: string, json: string) {
    const h = await this.harness();
    assert.ok(h.idp.users.setClaims(username, claimsFrom(json)), `the IdP has no user "${username}"`);
  },
);

When('{string} logs in through the browser', async function (this: ConformanceWorld, username: string) {
  await logInThroughBrowser(this, username);
});

/** A later login from a fresh browser session: no IdP session cookie, so the person signs in again. */
When(
  '{string} logs in again through the browser, in a new browser session',
  async function (this: ConformanceWorld, username: string) {
    await this.browserPage();
    await this.context?.clearCookies();
    await logInThroughBrowser(this, username);
  },
);

Then('the login answer carried exactly this attribution metadata:', function (this: ConformanceWorld, json: string) {
  assert.deepEqual(loginAnswer(this).attributionMetadata, JSON.parse(json));
});

/** The last poll answer's own `attribution_metadata` (a team question's too, CLISSO-POLL-05). */
Then('that answer carries exactly this attribution metadata:', function (this: ConformanceWorld, json: string) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  const body = answer.json;
  const metadata =
    typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['attribution_metadata'] : undefined;
  assert.deepEqual(metadata, JSON.parse(json), `the ${answer.status} answer's attribution_metadata`);
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
  "the login answer's attribution metadata has all of the keys {string}",
  function (this: ConformanceWorld, list: string) {
    const metadata = loginAnswer(this).attributionMetadata ?? {};
    const missing = keysOf(list).filter((k) => !Object.hasOwn(metadata, k));
    assert.deepEqual(missing, [], `these keys are missing from the attribution metadata: ${missing.join(', ')}`);
  },
);

Then(
  "the login answer's attribution metadata has {string} = {scalar}",
  function (this: ConformanceWorld, key: string, value: string | number | boolean) {
    const actual = loginAnswer(this).attributionMetadata?.[key];
    assert.deepEqual(actual, value, `attribution_metadata["${key}"]: expected ${shown(value)}, got ${shown(actual)}`);
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

Then(
  'the gateway stored this metadata on user {string}:',
  async function (this: ConformanceWorld, userId: string, json: string) {
    expectMetadataKeys(await storedMetadata(this, userId), JSON.parse(json) as Record<string, unknown>);
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

/**
 * A table of keys with, in its column "kept", yes or no; a column "kept as" (JSON) gives the value a
 * kept key must have. Other columns (the blocked word, where it sits, why) are for the reader. With
 * `exactly`, no key the table does not mark kept may be there either. The failure lists every row
 * that disagrees.
 */
function checkKeyByKey(world: ConformanceWorld, table: DataTable, exactly: boolean): void {
  const metadata = loginAnswer(world).attributionMetadata ?? {};
  const rows = table.hashes();
  const wrong: string[] = [];
  for (const row of rows) {
    const key = row.key ?? '';
    const kept = row.kept === 'yes';
    assert.ok(
      row.kept === 'yes' || row.kept === 'no',
      `the "kept" column says ${JSON.stringify(row.kept)}, not yes or no`,
    );
    if (Object.hasOwn(metadata, key) !== kept) {
      wrong.push(
        `${JSON.stringify(key)} should be ${kept ? 'kept' : 'dropped'}, it was ${kept ? 'dropped' : `kept as ${shown(metadata[key])}`}`,
      );
    } else if (kept && row['kept as'] !== undefined && row['kept as'] !== '') {
      const expected = JSON.parse(row['kept as']) as unknown;
      if (JSON.stringify(metadata[key]) !== JSON.stringify(expected)) {
        wrong.push(`${JSON.stringify(key)} should be kept as ${shown(expected)}, it is ${shown(metadata[key])}`);
      }
    }
  }
  if (exactly) {
    const marked = new Set(rows.filter((r) => r.kept === 'yes').map((r) => r.key));
    for (const key of Object.keys(metadata))
      if (!marked.has(key))
        wrong.push(`${JSON.stringify(key)} should not be there at all, it is ${shown(metadata[key])}`);
  }
  assert.deepEqual(
    wrong,
    [],
    `the attribution metadata disagrees with ${wrong.length} of the rows: ${wrong.join('; ')}`,
  );
}

Then(
  "the login answer's attribution metadata keeps or drops each key:",
  function (this: ConformanceWorld, table: DataTable) {
    checkKeyByKey(this, table, false);
  },
);

Then(
  "the login answer's attribution metadata holds exactly the keys marked kept:",
  function (this: ConformanceWorld, table: DataTable) {
    checkKeyByKey(this, table, true);
  },
);
